/**
 * The three programs started as a pod starts them, with only JAEGER_ENDPOINT (legacy collector
 * URL), ENVIRONMENT=kubernetes and SERVICE_VERSION: one trace of migration.execute,
 * dataload.execute and HTTP GET /api/product. The receiver takes port 4318 (where the legacy URL
 * maps) on a loopback address of its own (127.x.y.z), out of other tests' way.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { podStartIds } from '@order-food/platform/telemetry';
import {
  type OtlpReceiver,
  type ReceivedSpan,
  receiverOnLoopback,
} from '@order-food/platform/testing/otlp-receiver';
import { runProgram } from '@order-food/platform/testing/run-program';
import { createTestDatabase, type TestDatabase } from '@order-food/platform/testing/test-database';
import { startApiProcess } from './helpers.js';

/** The seed's port for Jaeger's OTLP/HTTP receiver, where its legacy collector URL is sent. */
const otlpPort = 4318;

/** What a pod's environment does not hold: whatever of it the test runner has is removed. */
function withoutInherited(): Record<string, undefined> {
  const names = [
    'TRACEPARENT',
    'TRACESTATE',
    'POD_UID',
    'POD_NAME',
    'POD_START_SPAN',
    'ENVIRONMENT',
    'SERVICE_VERSION',
    'JAEGER_ENDPOINT',
    'NODE_ENV',
  ];
  return Object.fromEntries(
    Object.keys(process.env)
      .filter((k) => k.startsWith('OTEL_') || names.includes(k))
      .concat('OTEL_SDK_DISABLED', 'NODE_ENV')
      .map((k) => [k, undefined]),
  );
}

function stop(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
  child.kill('SIGTERM');
  return closed;
}

/** The one line saying where the legacy URL went, from a program's output. */
function mappingLines(output: string): string[] {
  return output.split('\n').filter((l) => l.includes("is Jaeger's legacy collector URL"));
}

describe("the seed's telemetry environment", () => {
  let receiver: OtlpReceiver | undefined;
  let unavailable = '';
  let db: TestDatabase;

  before(async () => {
    const got = await receiverOnLoopback(otlpPort);
    if (typeof got === 'string') unavailable = got;
    else receiver = got;
    db = await createTestDatabase('obs_seed');
  });

  after(async () => {
    await receiver?.stop();
    await db?.drop();
  });

  test('one pod start trace: migration.execute, dataload.execute, then HTTP GET /api/product', async (t) => {
    if (!receiver) {
      t.skip(unavailable);
      return;
    }
    const host = new URL(receiver.url).hostname;
    const seed = {
      JAEGER_ENDPOINT: `http://${host}:14268/api/traces`,
      ENVIRONMENT: 'kubernetes',
      SERVICE_VERSION: '1.0.0',
    };
    // The chart gives every container of a pod the same POD_UID, and so one trace.
    const uid = randomUUID();
    const pod = podStartIds(uid);
    const env = { ...withoutInherited(), ...seed, DATABASE_URL: db.url, POD_UID: uid };

    const migration = await runProgram('database-migration', [], { env });
    assert.equal(migration.code, 0, migration.stderr);
    const load = await runProgram('database-load', [], { env });
    assert.equal(load.code, 0, load.stderr);
    for (const [name, output] of [
      ['database-migration', migration.stdout + migration.stderr],
      ['database-load', load.stdout + load.stderr],
    ] as const) {
      const lines = mappingLines(output);
      assert.equal(lines.length, 1, `${name} says once where its traces go:\n${output}`);
      assert.equal(JSON.parse(lines[0]!).level, 'info');
      assert.ok(lines[0]!.includes(`http://${host}:4318/v1/traces`), lines[0]);
    }

    const api = await startApiProcess({ ...env, JWT_SECRET: randomBytes(24).toString('hex') });
    try {
      // A request of the pod's start, as a smoke check after a deploy sends it: with the pod
      // start's context (derived from the pod's UID, docs/OBSERVABILITY.md) it joins that trace.
      const traceparent = `00-${pod.traceId}-${pod.spanId}-01`;
      const inPodStart = await fetch(`${api.url}/api/product`, { headers: { traceparent } });
      assert.equal(inPodStart.status, 200);
      // Any other request is a trace of its own, found by the same operation name.
      const own = await fetch(`${api.url}/api/product?limit=1`);
      assert.equal(own.status, 200);
      await receiver.waitFor(
        (spans) =>
          spans.filter((s) => s.name === 'HTTP GET /api/product').length >= 2 &&
          spans.some((s) => s.traceId === pod.traceId && s.name === 'order-food start'),
        60_000,
      );
      assert.equal(mappingLines(api.output()).length, 1, api.output());
    } finally {
      assert.equal(await stop(api.child), 0, 'the API shuts down cleanly on SIGTERM');
    }

    const trace = receiver.spans.filter((s) => s.traceId === pod.traceId);
    const one = (service: string, name: string): ReceivedSpan => {
      const found = trace.filter((s) => s.serviceName === service && s.name === name);
      assert.equal(
        found.length,
        1,
        `${service}: ${name} in the pod start trace; it has ${trace.map((s) => `${s.serviceName}:${s.name}`).join(', ')}`,
      );
      return found[0]!;
    };
    const root = one('database-migration', 'pod start');
    assert.equal(root.spanId, pod.spanId);
    const execute = one('database-migration', 'migration.execute');
    const dataload = one('database-load', 'dataload.execute');
    const start = one('order-food', 'order-food start');
    const request = one('order-food', 'HTTP GET /api/product');
    for (const s of [execute, dataload, start, request])
      assert.equal(s.parentSpanId, pod.spanId, `${s.name} hangs from the pod start`);
    assert.equal(request.attributes['http.route'], '/api/product');
    // The seed's order: each step began after the one before it ended (sequential processes).
    for (const [earlier, later] of [
      [execute, dataload],
      [dataload, start],
      [dataload, request],
    ] as const)
      assert.ok(
        BigInt(later.startTimeUnixNano) >= BigInt(earlier.endTimeUnixNano),
        `${later.name} began after ${earlier.name} ended`,
      );
    // Finer spans beneath the top ones, as before.
    assert.ok(trace.some((s) => s.parentSpanId === execute.spanId));
    assert.ok(trace.some((s) => s.parentSpanId === dataload.spanId));
    for (const s of [execute, dataload, start, request]) {
      assert.equal(s.resource['deployment.environment.name'], 'kubernetes', s.name);
      assert.equal(s.resource['service.version'], '1.0.0', s.name);
    }

    const separate = receiver.spans.filter(
      (s) => s.name === 'HTTP GET /api/product' && s.traceId !== pod.traceId,
    );
    assert.equal(separate.length, 1, 'a request without a traceparent is a trace of its own');
    assert.equal(separate[0]!.parentSpanId, '');
  });

  test('ENVIRONMENT=kubernetes is not development: the API needs a JWT_SECRET', async () => {
    const r = await runProgram('order-food', [], {
      env: {
        ...withoutInherited(),
        ENVIRONMENT: 'kubernetes',
        JWT_SECRET: undefined,
        JWT_SECRET_FILE: undefined,
        DATABASE_URL: db.url,
        OTEL_SDK_DISABLED: 'true',
      },
    });
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stdout + r.stderr, /JWT_SECRET/);
  });
});
