import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { context, trace } from '@opentelemetry/api';
import { createLogger, isoTime, type Logger, requestLineWriter } from '../src/logger.js';
import { shutdownTelemetry, startTelemetry } from '../src/telemetry.js';
import { repoRoot } from '../testing/run-program.js';

/** Runs a snippet that logs through createLogger with stdout a pipe, as in a container. */
function run(
  body: string,
  onLine?: (line: string, child: ReturnType<typeof spawn>) => void,
): Promise<{ code: number | null; lines: string[] }> {
  const logger = join(repoRoot, 'platform/src/logger.ts');
  const script = `import { createLogger } from ${JSON.stringify(logger)};\nconst log = createLogger('t', 'info');\n${body}`;
  const child = spawn(
    process.execPath,
    ['--conditions=source', '--import', 'tsx', '--input-type=module', '-e', script],
    { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const lines: string[] = [];
  let rest = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    const parts = (rest + chunk).split('\n');
    rest = parts.pop() ?? '';
    for (const line of parts) {
      lines.push(line);
      onLine?.(line, child);
    }
  });
  // A bound, not an assertion: a program whose line never came would otherwise never end.
  const bound = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((resolve) =>
    child.on('close', (code) => {
      clearTimeout(bound);
      resolve({ code, lines });
    }),
  );
}

test('every buffered line is written when the program exits, however it exits', async () => {
  const log = 'for (let i = 0; i < 50; i++) log.info({ i }, "line");';
  for (const [how, exit, code] of [
    ['returns', '', 0],
    ['process.exit', 'process.exit(3);', 3],
    ['throws', 'throw new Error("boom");', 1],
  ] as const) {
    const r = await run(`${log}\n${exit}`);
    assert.equal(r.code, code, how);
    assert.equal(r.lines.length, 50, `${how}: all 50 lines`);
    assert.deepEqual(
      r.lines.map((l) => JSON.parse(l).i),
      Array.from({ length: 50 }, (_, i) => i),
      `${how}: in order`,
    );
  }
});

test('a quiet program still writes its lines while it runs, not only at exit', async () => {
  // The program logs once and then waits for a signal that the test sends only after reading
  // the line: had the line waited for exit, the program would never end.
  const r = await run(
    'log.info("ready"); process.on("SIGTERM", () => process.exit(0)); setInterval(() => {}, 1000);',
    (line, child) => {
      if (JSON.parse(line).msg === 'ready') child.kill('SIGTERM');
    },
  );
  assert.equal(r.code, 0);
  assert.equal(r.lines.length, 1);
});

test("a child's line carries its bindings and the ids of the active span", async () => {
  const raw: string[] = [];
  const logger = createLogger('order-food', 'info', {
    write: (line: string) => {
      raw.push(line);
    },
  });
  const child = logger.child({ request_id: 'a"b\\c' });
  const span = trace.wrapSpanContext({
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: 'b7ad6b7169203331',
    traceFlags: 1,
  });
  await startTelemetry('logger-test', { OTEL_TRACES_EXPORTER: 'none' });
  try {
    context.with(trace.setSpan(context.active(), span), () => {
      child.info({ route: '/api/orders/:id', status: 200, password: 'x' }, 'request completed');
    });
  } finally {
    await shutdownTelemetry();
  }
  assert.equal(raw.length, 1);
  const line = JSON.parse(raw[0] ?? '') as Record<string, unknown>;
  assert.deepEqual(Object.keys(line), [
    'level',
    'time',
    'service',
    'request_id',
    'trace_id',
    'span_id',
    'route',
    'status',
    'password',
    'msg',
  ]);
  assert.equal(line.trace_id, '0af7651916cd43dd8448eb211c80319c');
  assert.equal(line.request_id, 'a"b\\c');
  assert.equal(line.password, '[redacted]');
  assert.match(String(line.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
});

describe('requestLineWriter', () => {
  const fields = {
    request_id: 'c0ffee00-1234-4abc-8def-000000000001',
    method: 'GET',
    route: '/api/orders/:id',
    status: 200,
    durationMs: 3.4,
  };

  function capture(level = 'info') {
    const raw: string[] = [];
    const logger = createLogger('order-food', level, {
      write: (line: string) => {
        raw.push(line);
      },
    });
    return { logger, raw };
  }

  /** Both lines with their time set aside (formatted per millisecond, they may differ). */
  function withoutTime(line: string | undefined): [string, string] {
    const time = /,"time":"[^"]+"/.exec(line ?? '')?.[0] ?? '';
    return [(line ?? '').replace(time, ''), time];
  }

  test("writes pino's own line: same keys, same order, same values, one line", () => {
    const { logger, raw } = capture();
    requestLineWriter(logger)(fields);
    logger.info({ ...fields }, 'request completed');
    assert.equal(raw.length, 2);
    const [ours, ourTime] = withoutTime(raw[0]);
    const [pinos] = withoutTime(raw[1]);
    assert.equal(ours, pinos);
    assert.match(ourTime, /^,"time":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"$/);
    assert.ok(raw[0]?.endsWith('}\n'));
  });

  test('with the bindings of a child, the ids of the active span and values that need escaping', async () => {
    const { logger, raw } = capture();
    const child = logger.child({ component: 'http' });
    const odd = { ...fields, request_id: 'a"b\\c', method: 'M\u00e9', route: 'unmatched' };
    const span = trace.wrapSpanContext({
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
      traceFlags: 1,
    });
    await startTelemetry('logger-test', { OTEL_TRACES_EXPORTER: 'none' });
    try {
      context.with(trace.setSpan(context.active(), span), () => {
        requestLineWriter(child)(odd);
        child.info({ ...odd }, 'request completed');
      });
    } finally {
      await shutdownTelemetry();
    }
    const [ours] = withoutTime(raw[0]);
    const [pinos] = withoutTime(raw[1]);
    assert.equal(ours, pinos);
    const parsed = JSON.parse(raw[0] ?? '') as Record<string, unknown>;
    assert.equal(parsed.trace_id, '0af7651916cd43dd8448eb211c80319c');
    assert.equal(parsed.component, 'http');
    assert.equal(parsed.request_id, 'a"b\\c');
  });

  test('nothing below the logger level; a logger that is not pino gets the plain call', () => {
    const { logger, raw } = capture('warn');
    requestLineWriter(logger)(fields);
    assert.equal(raw.length, 0);
    const calls: unknown[][] = [];
    const standIn = { info: (...args: unknown[]) => calls.push(args) } as unknown as Logger;
    requestLineWriter(standIn)(fields);
    assert.deepEqual(calls, [[fields, 'request completed']]);
  });
});

test("isoTime writes toISOString's time, across milliseconds, seconds and days", (t) => {
  const instants = [
    Date.UTC(2026, 11, 31, 23, 59, 59, 999),
    Date.UTC(2027, 0, 1, 0, 0, 0, 0),
    Date.UTC(2027, 0, 1, 0, 0, 0, 7),
    Date.UTC(2027, 0, 1, 0, 0, 0, 42),
    Date.UTC(2027, 0, 1, 0, 0, 0, 420),
    Date.UTC(2027, 0, 1, 0, 0, 1, 5),
    Date.UTC(2028, 1, 29, 12, 30, 15, 99),
  ];
  t.mock.timers.enable({ apis: ['Date'], now: instants[0] });
  for (const at of instants) {
    t.mock.timers.setTime(at);
    assert.equal(isoTime(), `,"time":"${new Date(at).toISOString()}"`);
  }
});
