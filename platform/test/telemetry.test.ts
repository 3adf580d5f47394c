import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { context, trace } from '@opentelemetry/api';
import { createLogger } from '../src/logger.js';
import {
  developmentExportOff,
  parseResourceAttributes,
  podStartIds,
  startTelemetry,
  startupContext,
  telemetrySettings,
} from '../src/telemetry.js';
import { freePort } from '../testing/free-port.js';
import { OtlpReceiver } from '../testing/otlp-receiver.js';
import { type ProgramName, repoRoot, runProgram } from '../testing/run-program.js';

describe('settings from the environment', () => {
  test('JAEGER_ENDPOINT names Jaeger OTLP/HTTP endpoint; the OTEL_* variables win over it', () => {
    assert.equal(
      telemetrySettings('x', { JAEGER_ENDPOINT: 'http://jaeger:4318' }).tracesUrl,
      'http://jaeger:4318/v1/traces',
    );
    assert.equal(
      telemetrySettings('x', { JAEGER_ENDPOINT: 'http://jaeger:4318/v1/traces' }).tracesUrl,
      'http://jaeger:4318/v1/traces',
    );
    assert.equal(
      telemetrySettings('x', {
        JAEGER_ENDPOINT: 'http://jaeger:4318',
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/',
      }).tracesUrl,
      'http://collector:4318/v1/traces',
    );
    assert.equal(
      telemetrySettings('x', {
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://traces:9999/custom',
      }).tracesUrl,
      'http://traces:9999/custom',
    );
    assert.equal(telemetrySettings('x', { OTEL_TRACES_EXPORTER: 'none' }).tracesUrl, undefined);
  });

  test('development without an endpoint: no export, one note on how to turn it on', () => {
    const dev = telemetrySettings('x', { ENVIRONMENT: 'development' });
    assert.equal(dev.tracesUrl, undefined);
    assert.deepEqual(dev.notes, [developmentExportOff]);
    assert.match(developmentExportOff, /OTEL_EXPORTER_OTLP_ENDPOINT=http:\/\/localhost:4318/);
    assert.match(developmentExportOff, /jaegertracing\/jaeger/);
    const withEndpoint = {
      ENVIRONMENT: 'development',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318',
    };
    assert.equal(telemetrySettings('x', withEndpoint).tracesUrl, 'http://c:4318/v1/traces');
    assert.deepEqual(telemetrySettings('x', withEndpoint).notes, []);
    const withJaeger = { ENVIRONMENT: 'development', JAEGER_ENDPOINT: 'http://jaeger:4318' };
    assert.equal(telemetrySettings('x', withJaeger).tracesUrl, 'http://jaeger:4318/v1/traces');
    // Anywhere else (the images set production) the default collector stays.
    for (const environment of ['production', 'kubernetes', undefined])
      assert.equal(
        telemetrySettings('x', { ENVIRONMENT: environment }).tracesUrl,
        'http://localhost:4318/v1/traces',
      );
  });

  test("the seed's legacy collector URL goes to OTLP/HTTP on the same host, with one note", () => {
    const settings = telemetrySettings('x', {
      JAEGER_ENDPOINT: 'http://jaeger:14268/api/traces',
    });
    assert.equal(settings.tracesUrl, 'http://jaeger:4318/v1/traces');
    assert.deepEqual(settings.warnings, []);
    assert.equal(settings.notes.length, 1);
    assert.match(
      settings.notes[0]!,
      /JAEGER_ENDPOINT=http:\/\/jaeger:14268\/api\/traces .*http:\/\/jaeger:4318\/v1\/traces/,
    );
    const explicit = telemetrySettings('x', {
      JAEGER_ENDPOINT: 'http://jaeger:14268/api/traces',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
    });
    assert.equal(explicit.tracesUrl, 'http://collector:4318/v1/traces');
    assert.deepEqual(explicit.notes, [], 'an explicit endpoint wins, and nothing is mapped');
  });

  test('OTEL_RESOURCE_ATTRIBUTES: percent-decoded pairs; a malformed value is dropped whole', () => {
    const warnings: string[] = [];
    assert.deepEqual(parseResourceAttributes('team=food%20court, region = eu ,', warnings), {
      team: 'food court',
      region: 'eu',
    });
    assert.deepEqual(warnings, []);
    for (const bad of ['team=%ZZ', 'a=1,b=2=3', 'a=1,=2', 'novalue']) {
      const w: string[] = [];
      assert.deepEqual(parseResourceAttributes(bad, w), {}, bad);
      assert.equal(w.length, 1, bad);
      assert.match(w[0]!, /^OTEL_RESOURCE_ATTRIBUTES: .*all of its attributes are ignored$/);
    }
  });

  test('malformed values become warnings and defaults, never an exception', () => {
    const settings = telemetrySettings('database-load', {
      OTEL_BSP_MAX_QUEUE_SIZE: 'lots',
      OTEL_TRACES_SAMPLER_ARG: '7',
      OTEL_BSP_SCHEDULE_DELAY: '-1',
      POD_START_SPAN: 'maybe',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'ftp://nowhere',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
    });
    assert.equal(settings.maxQueueSize, 2048);
    assert.equal(settings.samplerArg, 1);
    assert.equal(settings.scheduleDelayMs, 1000);
    assert.equal(settings.recordPodStart, false);
    assert.equal(settings.tracesUrl, undefined);
    assert.equal(settings.protocol, 'http/protobuf');
    assert.equal(settings.warnings.length, 6);
  });

  test('the export queue is bounded by OTEL_BSP_MAX_QUEUE_SIZE', () => {
    assert.equal(telemetrySettings('x', {}).maxQueueSize, 2048);
    assert.equal(telemetrySettings('x', { OTEL_BSP_MAX_QUEUE_SIZE: '64' }).maxQueueSize, 64);
  });

  test('spans per export: OTEL_BSP_MAX_EXPORT_BATCH_SIZE, at most the queue, 512 when unreadable', () => {
    assert.equal(telemetrySettings('x', {}).maxExportBatchSize, 512);
    const env = { OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '64' };
    assert.equal(telemetrySettings('x', env).maxExportBatchSize, 64);
    const small = { OTEL_BSP_MAX_QUEUE_SIZE: '32', OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '64' };
    assert.equal(telemetrySettings('x', small).maxExportBatchSize, 32);
    const bad = telemetrySettings('x', { OTEL_BSP_MAX_EXPORT_BATCH_SIZE: 'many' });
    assert.equal(bad.maxExportBatchSize, 512);
    assert.equal(bad.warnings.length, 1);
  });

  test('the wait at exit: 1 s, or the smallest of the standard export timeouts that is set', () => {
    assert.equal(telemetrySettings('x', {}).exitTimeoutMs, 1000);
    assert.equal(telemetrySettings('x', {}).exporterTimeoutMs, undefined, "the exporter's default");
    const otlp = telemetrySettings('x', { OTEL_EXPORTER_OTLP_TIMEOUT: '3000' });
    assert.equal(otlp.exitTimeoutMs, 3000);
    assert.equal(otlp.exporterTimeoutMs, 3000);
    const both = telemetrySettings('x', {
      OTEL_EXPORTER_OTLP_TIMEOUT: '3000',
      OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: '2000',
      OTEL_BSP_EXPORT_TIMEOUT: '500',
    });
    assert.equal(both.exporterTimeoutMs, 2000, 'the traces variable wins');
    assert.equal(both.batchTimeoutMs, 500);
    assert.equal(both.exitTimeoutMs, 500);
    const bad = telemetrySettings('x', { OTEL_EXPORTER_OTLP_TIMEOUT: 'soon' });
    assert.equal(bad.exitTimeoutMs, 1000);
    assert.equal(bad.warnings.length, 1);
    assert.match(bad.warnings[0]!, /OTEL_EXPORTER_OTLP_TIMEOUT/);
  });

  test('only the first program of the pod records the pod start, unless POD_START_SPAN says', () => {
    assert.equal(telemetrySettings('database-migration', {}).recordPodStart, true);
    assert.equal(telemetrySettings('order-food', {}).recordPodStart, false);
    assert.equal(telemetrySettings('order-food', { POD_START_SPAN: 'true' }).recordPodStart, true);
  });
});

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

/** A short program as the real ones are: telemetry first, spans under the start-up context, runCli. */
const fixture = `
import { trace } from '@opentelemetry/api';
import { runCli } from '@order-food/platform/cli';
import { startTelemetry, startupContext } from '@order-food/platform/telemetry';
await startTelemetry(process.env.FIXTURE_SERVICE);
await runCli(process.env.FIXTURE_SERVICE, async () => {
  const span = trace.getTracer('fixture').startSpan(process.env.FIXTURE_SERVICE + ' run', {}, startupContext());
  span.end();
  if (process.env.FIXTURE_FAIL) throw new Error('the step failed');
  return 0;
});
`;

function runFixture(
  service: string,
  env: Record<string, string>,
): Promise<{ code: number | null; stderr: string }> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, FIXTURE_SERVICE: service, ...env };
  delete childEnv.NODE_TEST_CONTEXT;
  for (const name of [
    'TRACEPARENT',
    'POD_UID',
    'OTEL_SDK_DISABLED',
    'JAEGER_ENDPOINT',
    'ENVIRONMENT',
    'OTEL_EXPORTER_OTLP_ENDPOINT',
    'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
  ])
    if (!(name in env)) delete childEnv[name];
  const child = spawn(
    process.execPath,
    ['--conditions=source', '--import', 'tsx', '--input-type=module', '-e', fixture],
    { cwd: repoRoot, env: childEnv, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    }),
  );
}

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

  test('a legacy JAEGER_ENDPOINT: one info line naming both URLs, the program succeeds', async () => {
    const result = await runFixture('database-migration', {
      JAEGER_ENDPOINT: 'http://127.0.0.1:14268/api/traces',
      POD_UID: 'legacy-jaeger-pod',
    });
    assert.equal(result.code, 0);
    const lines = result.stderr.split('\n').filter((l) => l.includes('telemetry:'));
    const mapped = lines.filter((l) => l.includes('legacy collector URL'));
    assert.equal(mapped.length, 1, result.stderr);
    assert.equal(JSON.parse(mapped[0]!).level, 'info');
    assert.match(mapped[0]!, /127\.0\.0\.1:14268\/api\/traces.*127\.0\.0\.1:4318\/v1\/traces/);
  });

  /**
   * A collector that is not there: the program exits 0 without waiting for it, with one warning
   * line of its logger that names the endpoint, and no stack trace.
   */
  async function assertOneWarning(
    endpoint: string,
    reason: RegExp,
    env: Record<string, string> = {},
  ): Promise<void> {
    const result = await runFixture('database-migration', {
      OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
      POD_UID: `no-collector-${process.pid}`,
      ...env,
    });
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stderr.split('\n').filter((l) => l.trim() !== '');
    assert.equal(lines.length, 1, result.stderr);
    const line = JSON.parse(lines[0]!) as Record<string, unknown>;
    assert.equal(line.level, 'warn');
    assert.equal(line.service, 'database-migration');
    assert.ok(!Number.isNaN(Date.parse(String(line.time))), 'the line has a time');
    assert.equal(line.endpoint, `${endpoint}/v1/traces`);
    assert.ok(
      String(line.msg).startsWith(`telemetry: cannot send traces to ${endpoint}/v1/traces: `),
    );
    assert.match(String(line.error), reason);
    assert.doesNotMatch(result.stderr, /\bat .*:\d+:\d+|"stack"/, 'no stack trace');
  }

  test('a collector that refuses the connection: exit 0, one warning naming the endpoint', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as { port: number }).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    await assertOneWarning(`http://127.0.0.1:${port}`, /ECONNREFUSED/);
  });

  test('a refused collector with a 10-minute export timeout: exit 0 without waiting it out', async () => {
    // The batch is exported while the program runs and again at exit: neither waits for the
    // timeout (runFixture kills the process after 60 s, which would fail the exit code).
    const port = await freePort();
    await assertOneWarning(`http://127.0.0.1:${port}`, /ECONNREFUSED/, {
      OTEL_EXPORTER_OTLP_TIMEOUT: '600000',
      OTEL_BSP_EXPORT_TIMEOUT: '600000',
      OTEL_BSP_SCHEDULE_DELAY: '1',
    });
  });

  test('development without an endpoint: exit 0, one info line on how to turn export on', async () => {
    const result = await runFixture('database-migration', {
      ENVIRONMENT: 'development',
      POD_UID: `development-${process.pid}`,
    });
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stderr.split('\n').filter((l) => l.trim() !== '');
    assert.equal(lines.length, 1, result.stderr);
    const line = JSON.parse(lines[0]!) as Record<string, unknown>;
    assert.equal(line.level, 'info');
    assert.ok(!Number.isNaN(Date.parse(String(line.time))), 'the line has a time');
    assert.equal(line.msg, `telemetry: ${developmentExportOff}`);
  });

  test('a collector whose name does not resolve: exit 0, one warning naming the endpoint', async () => {
    // .invalid never resolves (RFC 2606).
    await assertOneWarning('http://jaeger.invalid:4318', /ENOTFOUND|EAI_AGAIN/);
  });

  test('a collector that accepts but never answers: exit 0 after the bound, one warning', async () => {
    const sockets = new Set<import('node:net').Socket>();
    const silent = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const port = (silent.address() as { port: number }).port;
      await assertOneWarning(`http://127.0.0.1:${port}`, /did not answer within 1000 ms/);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });
});
