/** The pod start with POD_UID: one trace from the pod's UID, a pod start root above the programs. */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import { podStartIds } from '@order-food/platform/telemetry';
import type { OtlpReceiver } from '@order-food/platform/testing/otlp-receiver';
import { runProgram } from '@order-food/platform/testing/run-program';
import type { TestDatabase } from '@order-food/platform/testing/test-database';
import { pipelineOfFile, startApi, stopApi, telemetryEnv } from './observability-pipeline-setup.js';

let receiver: OtlpReceiver;
let db: TestDatabase;
pipelineOfFile('obs_pod', (opened) => ({ receiver, db } = opened));

describe('the pod start with POD_UID', () => {
  test('one trace from the pod UID: a pod start root and the three programs beneath it', async () => {
    const uid = randomUUID();
    const ids = podStartIds(uid);
    const env = telemetryEnv(receiver, { DATABASE_URL: db.url, POD_UID: uid });
    assert.equal((await runProgram('database-migration', [], { env })).code, 0);
    assert.equal((await runProgram('database-load', [], { env })).code, 0);
    const api = await startApi(env);
    try {
      await receiver.waitFor(
        (spans) => spans.some((s) => s.traceId === ids.traceId && s.name === 'order-food start'),
        20_000,
      );
    } finally {
      assert.equal(await stopApi(api), 0, 'the API shuts down cleanly on SIGTERM');
    }
    const trace = receiver.spans.filter((s) => s.traceId === ids.traceId);
    const root = trace.filter((s) => s.parentSpanId === '');
    assert.equal(root.length, 1, 'one root');
    assert.equal(root[0]!.name, 'pod start');
    assert.equal(root[0]!.spanId, ids.spanId);
    for (const service of ['database-migration', 'database-load', 'order-food'])
      assert.ok(
        trace.some((s) => s.serviceName === service && s.parentSpanId === ids.spanId),
        `${service} hangs from the pod start`,
      );
    const spanIds = new Set(trace.map((s) => s.spanId));
    for (const s of trace)
      assert.ok(s.parentSpanId === '' || spanIds.has(s.parentSpanId), `${s.name} has its parent`);
  });
});
