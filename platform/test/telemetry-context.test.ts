import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { context, trace } from '@opentelemetry/api';
import { createLogger } from '../src/logger.js';
import { podStartIds, startTelemetry, startupContext } from '../src/telemetry.js';

describe('the start-up context', () => {
  test('TRACEPARENT is the parent when given', () => {
    const sc = trace.getSpanContext(
      startupContext({
        TRACEPARENT: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
        POD_UID: 'ignored',
      }),
    );
    assert.equal(sc?.traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
    assert.equal(sc?.spanId, '00f067aa0ba902b7');
    assert.equal(sc?.isRemote, true);
  });

  test('POD_UID gives the same ids in every container of the pod, other ids in another pod', () => {
    const uid = '6f1c0c55-2a8e-4a43-9d55-6bde1c0f3c11';
    const a = trace.getSpanContext(startupContext({ POD_UID: uid }));
    const b = trace.getSpanContext(startupContext({ POD_UID: uid, TRACEPARENT: 'garbage' }));
    const other = trace.getSpanContext(startupContext({ POD_UID: `${uid}x` }));
    assert.deepEqual(
      { traceId: a?.traceId, spanId: a?.spanId },
      podStartIds(uid),
      'derived from the UID',
    );
    assert.equal(b?.traceId, a?.traceId, 'a malformed TRACEPARENT falls back to the pod');
    assert.notEqual(other?.traceId, a?.traceId);
    assert.match(a!.traceId, /^[0-9a-f]{32}$/);
    assert.match(a!.spanId, /^[0-9a-f]{16}$/);
    assert.equal(a?.traceFlags, 1, 'a pod start is always sampled');
  });

  test('neither: no parent, each program starts its own trace', () => {
    assert.equal(trace.getSpanContext(startupContext({})), undefined);
  });
});

describe('logs', () => {
  before(async () => {
    // The context manager is what the mixin reads; it is there even with the SDK disabled.
    await startTelemetry('logger-test', { OTEL_SDK_DISABLED: 'true' });
  });

  test('every line carries the active span ids; no secret or personal field reaches a line', () => {
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger('logger-test', 'info', {
      write: (line: string) => {
        lines.push(JSON.parse(line));
      },
    });
    const ctx = trace.setSpanContext(context.active(), {
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
      traceFlags: 1,
    });
    context.with(ctx, () =>
      logger.info(
        {
          email: 'alice@example.com',
          user: { email: 'bob@example.com', password: 'hunter2', id: 'u1' },
          token: 'eyJhbGciOi',
          databaseUrl: 'postgres://app:s3cret@db/app',
          req: { headers: { authorization: 'Bearer abc.def', cookie: 'sid=1' } },
          err: { message: 'duplicate key', detail: 'Key (email)=(carol@example.com) exists.' },
        },
        'placed',
      ),
    );
    logger.info('outside any span');
    const [inside, outside] = lines;
    assert.equal(inside?.trace_id, '0af7651916cd43dd8448eb211c80319c');
    assert.equal(inside?.span_id, 'b7ad6b7169203331');
    assert.equal(outside?.trace_id, undefined);
    const text = JSON.stringify(lines);
    for (const secret of [
      'alice@example.com',
      'bob@example.com',
      'carol@example.com',
      'hunter2',
      'eyJhbGciOi',
      's3cret',
      'Bearer',
      'sid=1',
    ])
      assert.ok(!text.includes(secret), `${secret} leaked into a log line`);
    assert.equal((inside?.user as Record<string, unknown> | undefined)?.id, 'u1', 'the rest stays');
  });
});
