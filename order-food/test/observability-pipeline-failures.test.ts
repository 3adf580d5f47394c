/**
 * Telemetry when things go wrong: a failing database-migration or database-load still delivers its
 * spans before exiting 1, and with no collector listening every program succeeds with one warning.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { freePort } from '@order-food/platform/testing/free-port';
import type { OtlpReceiver } from '@order-food/platform/testing/otlp-receiver';
import { runProgram } from '@order-food/platform/testing/run-program';
import type { TestDatabase } from '@order-food/platform/testing/test-database';
import {
  newTraceparent,
  pipelineOfFile,
  startApi,
  stopApi,
  telemetryEnv,
} from './observability-pipeline-setup.js';

let receiver: OtlpReceiver;
let db: TestDatabase;
pipelineOfFile('obs_fail', (opened) => ({ receiver, db } = opened));

describe('failures and a missing collector', () => {
  test('a failing database-load and database-migration exit 1 after their spans arrived', async () => {
    // A run that exits 1 with a batch delay far beyond its life: its spans, sent before it exited.
    const failedRunSpans = async (
      program: 'database-load' | 'database-migration',
      args: string[],
    ) => {
      const { traceId, traceparent } = newTraceparent();
      const run = await runProgram(program, args, {
        env: telemetryEnv(receiver, {
          DATABASE_URL: db.url,
          TRACEPARENT: traceparent,
          OTEL_BSP_SCHEDULE_DELAY: '30000',
        }),
      });
      assert.equal(run.code, 1, run.stderr);
      const spans = receiver.spans.filter((s) => s.traceId === traceId);
      assert.ok(spans.length > 0, `${program} spans arrived before it exited`);
      return spans;
    };
    // The schema is not there yet: database-load refuses to run.
    const loadSpans = await failedRunSpans('database-load', []);
    assert.ok(loadSpans.every((s) => s.serviceName === 'database-load'));
    assert.ok(
      loadSpans.some((s) => s.status.code === 2),
      'the failure is an error status on its span',
    );

    const dir = mkdtempSync(join(tmpdir(), 'obs-migrations-'));
    writeFileSync(join(dir, '0001_broken.sql'), 'CREATE TABLE broken (id integer;\n');
    const migrationSpans = await failedRunSpans('database-migration', ['migrate', '--dir', dir]);
    assert.ok(migrationSpans.some((s) => s.status.code === 2));
  });

  test('with nothing listening at the OTLP endpoint all three programs succeed, each with one warning', async () => {
    const port = await freePort();
    const endpoint = `http://127.0.0.1:${port}/v1/traces`;
    const env = {
      ...telemetryEnv(receiver, {
        DATABASE_URL: db.url,
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
        TRACEPARENT: newTraceparent().traceparent,
      }),
    };
    /** One line of the program's own logger names the endpoint; nothing else is about it. */
    const assertOneWarning = (service: string, output: string) => {
      const lines = output.split('\n').filter((l) => l.includes('telemetry:'));
      assert.equal(lines.length, 1, output);
      const line = JSON.parse(lines[0]!) as Record<string, unknown>;
      assert.equal(line.level, 'warn');
      assert.equal(line.service, service);
      assert.equal(typeof line.time, 'string');
      assert.equal(line.endpoint, endpoint);
      assert.match(String(line.error), /ECONNREFUSED/);
      assert.doesNotMatch(output, /"stack"|\n\s+at /, 'no stack trace');
    };
    const migration = await runProgram('database-migration', [], { env });
    assert.equal(migration.code, 0, migration.stderr);
    assertOneWarning('database-migration', migration.stdout + migration.stderr);
    const load = await runProgram('database-load', [], { env });
    assert.equal(load.code, 0, load.stderr);
    assertOneWarning('database-load', load.stdout + load.stderr);
    const api = await startApi(env);
    const products = await fetch(`${api.url}/api/products`);
    assert.equal(products.status, 200);
    assert.equal(await stopApi(api), 0, api.output());
    assertOneWarning('order-food', api.output());
  });
});
