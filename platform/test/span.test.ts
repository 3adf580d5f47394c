import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SpanStatusCode } from '@opentelemetry/api';
import { type ReadableSpan, TracerProvider } from '@opentelemetry/sdk-trace';
import { inSpan } from '../src/span.js';

const finished: ReadableSpan[] = [];
const tracer = new TracerProvider({
  spanProcessors: [
    {
      onStart: () => undefined,
      onEnd: (span) => finished.push(span),
      forceFlush: async () => undefined,
      shutdown: async () => undefined,
    },
  ],
}).getTracer('test');

function ended(name: string) {
  const span = finished.find((s) => s.name === name);
  assert.ok(span, `span ${name} ended`);
  return span;
}

test('inSpan returns what fn returns and ends the span with its attributes', async () => {
  const result = await inSpan(tracer, 'ok', { 'run.kind': 'test' }, async (span) => {
    span.setAttribute('run.extra', 1);
    return 42;
  });
  assert.equal(result, 42);
  const span = ended('ok');
  assert.deepEqual(span.attributes, { 'run.kind': 'test', 'run.extra': 1 });
  assert.equal(span.status.code, SpanStatusCode.UNSET);
});

test('inSpan records a thrown error, rethrows it and still ends the span', async () => {
  await assert.rejects(
    inSpan(tracer, 'broken', {}, async () => {
      throw Object.assign(new Error('refused'), { code: '42P01' });
    }),
    /refused/,
  );
  const span = ended('broken');
  assert.equal(span.status.code, SpanStatusCode.ERROR);
  assert.equal(span.status.message, 'refused (42P01)');
  assert.equal(span.events[0]?.name, 'exception');
});

test('an error that failed() does not count leaves the span unset', async () => {
  const clientError = Object.assign(new Error('no such product'), { statusCode: 409 });
  await assert.rejects(
    inSpan(
      tracer,
      'refused order',
      {},
      async () => {
        throw clientError;
      },
      { failed: (err) => (err as { statusCode: number }).statusCode >= 500 },
    ),
  );
  const span = ended('refused order');
  assert.equal(span.status.code, SpanStatusCode.UNSET);
  assert.equal(span.events.length, 0);
});
