import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, test } from 'node:test';
import { developmentExportOff } from '../src/telemetry.js';
import { freePort } from '../testing/free-port.js';
import { runFixture } from '../testing/telemetry-fixture.js';

describe('processes without a collector', () => {
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
