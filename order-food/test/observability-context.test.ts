import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type Span, trace } from '@opentelemetry/api';
import { shutdownTelemetry, startTelemetry } from '@order-food/platform/telemetry';
import { OtlpReceiver } from '@order-food/platform/testing/otlp-receiver';
import Fastify, { type FastifyInstance } from 'fastify';
import { Metrics } from '../src/metrics.js';
import { tracing } from '../src/plugins/tracing.js';

// Over a real socket (inject() does not read a body from one): the request's span stays the
// active one through body parsing, the handler and the response hooks, with no hook entering it
// again (Node 24's AsyncLocalStorage carries it).
const receiver = new OtlpReceiver();
let app: FastifyInstance;
let url: string;
const seen: { request: Span | undefined; handler?: Span; onResponse?: Span }[] = [];

before(async () => {
  await receiver.start();
  await startTelemetry('order-food', { ...receiver.env(), OTEL_TRACES_SAMPLER: 'always_on' });
  app = Fastify() as unknown as FastifyInstance;
  await app.register(tracing, { metrics: new Metrics({ version: '1.2.3', revision: 'abc' }) });
  app.addHook('onRequest', (_request, _reply, done) => {
    seen.push({ request: trace.getActiveSpan() });
    done();
  });
  app.addHook('onResponse', (_request, _reply, done) => {
    seen[seen.length - 1]!.onResponse = trace.getActiveSpan();
    done();
  });
  app.post('/api/things', async (request) => {
    seen[seen.length - 1]!.handler = trace.getActiveSpan();
    await new Promise((resolve) => setImmediate(resolve));
    return { bytes: JSON.stringify(request.body).length };
  });
  url = await app.listen({ port: 0, host: '127.0.0.1' });
});

after(async () => {
  await app.close();
  await shutdownTelemetry();
  await receiver.stop();
});

test("a request's span is active in its handler and response hooks, bodies of one chunk and many", async () => {
  for (const size of [10, 256 * 1024]) {
    const res = await fetch(`${url}/api/things`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'x'.repeat(size) }),
    });
    assert.equal(res.status, 200);
    assert.ok(((await res.json()) as { bytes: number }).bytes > size);
    const last = seen[seen.length - 1]!;
    const id = last.request?.spanContext().spanId;
    assert.ok(id, 'the span is active when the onRequest hooks run');
    assert.equal(last.handler?.spanContext().spanId, id, `handler, body of ${size} bytes`);
    assert.equal(last.onResponse?.spanContext().spanId, id, `onResponse, body of ${size} bytes`);
  }
});
