import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { podStartIds } from '../src/telemetry.js';
import { OtlpReceiver } from '../testing/otlp-receiver.js';
import { type ProgramName, runProgram } from '../testing/run-program.js';
import { runFixture } from '../testing/telemetry-fixture.js';

describe('processes', () => {
  const receiver = new OtlpReceiver();
  before(() => receiver.start());
  after(() => receiver.stop());

  test('with POD_UID the first program records a pod start root that the others hang from', async () => {
    const uid = `pod-${process.pid}-${Date.now()}`;
    const ids = podStartIds(uid);
    // A ratio of 0 for new traces: the pod start is traced anyway.
    const env = {
      ...receiver.env(),
      POD_UID: uid,
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0',
    };
    for (const service of ['database-migration', 'database-load', 'order-food'])
      assert.equal((await runFixture(service, env)).code, 0);
    await receiver.waitFor(
      (spans) => spans.filter((s) => s.traceId === ids.traceId).length >= 4,
      20_000,
    );
    const mine = receiver.spans.filter((s) => s.traceId === ids.traceId);
    const roots = mine.filter((s) => s.name === 'pod start');
    assert.equal(roots.length, 1, 'one root');
    assert.equal(roots[0]!.serviceName, 'database-migration');
    assert.equal(roots[0]!.spanId, ids.spanId);
    assert.equal(roots[0]!.parentSpanId, '');
    assert.equal(roots[0]!.attributes['k8s.pod.uid'], uid);
    for (const service of ['database-migration', 'database-load', 'order-food']) {
      const run = mine.find((s) => s.name === `${service} run`);
      assert.ok(run, `${service} sent its span`);
      assert.equal(run.serviceName, service);
      assert.equal(run.parentSpanId, ids.spanId, `${service} hangs from the pod start`);
    }
  });

  test('with TRACEPARENT the sender owns the parent: no pod start root, the same trace', async () => {
    const traceId = `${process.pid.toString(16).padStart(8, '0')}${'c'.repeat(24)}`;
    const traceparent = `00-${traceId}-${'d'.repeat(16)}-01`;
    const env = { ...receiver.env(), TRACEPARENT: traceparent, POD_UID: 'some-pod' };
    for (const service of ['database-migration', 'database-load'])
      assert.equal((await runFixture(service, env)).code, 0);
    await receiver.waitFor((spans) => spans.filter((s) => s.traceId === traceId).length >= 2);
    const mine = receiver.spans.filter((s) => s.traceId === traceId);
    assert.deepEqual(mine.map((s) => s.name).sort(), [
      'database-load run',
      'database-migration run',
    ]);
    for (const s of mine) assert.equal(s.parentSpanId, 'd'.repeat(16));
  });

  test('a failing program exits 1 after its spans reached the receiver', async () => {
    const traceId = `${process.pid.toString(16).padStart(8, '0')}${'e'.repeat(24)}`;
    const result = await runFixture('database-load', {
      ...receiver.env(),
      // The default delay: only the flush at exit can deliver the span in time.
      OTEL_BSP_SCHEDULE_DELAY: '30000',
      TRACEPARENT: `00-${traceId}-${'f'.repeat(16)}-01`,
      FIXTURE_FAIL: '1',
    });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /database-load: error: the step failed/);
    assert.ok(
      receiver.spans.some((s) => s.traceId === traceId && s.name === 'database-load run'),
      'the span arrived before the process exited',
    );
  });

  test('a malformed OTEL_RESOURCE_ATTRIBUTES: each real program warns naming it and runs', async () => {
    const programs: ProgramName[] = ['database-migration', 'database-load', 'order-food'];
    const results = await Promise.all(
      programs.map((name) =>
        runProgram(name, ['--help'], {
          env: {
            ...receiver.env(),
            OTEL_SDK_DISABLED: 'false',
            OTEL_RESOURCE_ATTRIBUTES: 'team=%ZZ',
          },
          timeoutMs: 120_000,
        }),
      ),
    );
    for (const [i, name] of programs.entries()) {
      const r = results[i]!;
      const explain = `${name}: exit ${r.code}\n${r.stderr}`;
      assert.equal(r.code, 0, explain);
      assert.match(r.stdout, /usage/, explain);
      const warnings = r.stderr.split('\n').filter((l) => l.includes('OTEL_RESOURCE_ATTRIBUTES'));
      assert.equal(warnings.length, 1, explain);
      const line = JSON.parse(warnings[0]!) as { level: string; msg: string };
      assert.equal(line.level, 'warn');
      assert.match(line.msg, /"team=%ZZ" is not valid percent-encoding/);
      assert.doesNotMatch(r.stderr, /\bat .*:\d+:\d+|"stack"|URIError/, explain);
    }
  });
});
