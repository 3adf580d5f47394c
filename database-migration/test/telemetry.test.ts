import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { OtlpReceiver, type ReceivedSpan } from '@order-food/platform/testing/otlp-receiver';
import { createTestDatabase, type TestDatabase } from '@order-food/platform/testing/test-database';
import {
  explain,
  migrationsCopy,
  realMigrationFiles,
  removeDir,
  rows,
  runMigration,
} from './helpers.js';

let db: TestDatabase;
let receiver: OtlpReceiver;
const dirs: string[] = [];

before(async () => {
  db = await createTestDatabase('migration_telemetry');
  receiver = await new OtlpReceiver().start();
});
after(async () => {
  await receiver?.stop();
  await db?.drop();
  for (const dir of dirs) removeDir(dir);
});

function exporting(traceId: string): Record<string, string | undefined> {
  return {
    ...receiver.env(),
    OTEL_SDK_DISABLED: undefined,
    TRACEPARENT: `00-${traceId}-00f067aa0ba902b7-01`,
  };
}

function ofTrace(traceId: string): ReceivedSpan[] {
  return receiver.spans.filter((s) => s.traceId === traceId);
}

test('the spans of a run arrive before the process exits: run, lock wait, one per migration', async () => {
  const traceId = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
  const r = await runMigration(db, [], exporting(traceId));
  assert.equal(r.code, 0, explain(r));

  // Read at once: the process flushed its spans before it exited.
  const spans = ofTrace(traceId);
  const run = spans.find((s) => s.name === 'migration.execute');
  assert.ok(run, `run span arrived; got ${spans.map((s) => s.name).join(', ')}`);
  assert.equal(run.serviceName, 'database-migration');
  assert.equal(run.parentSpanId, '00f067aa0ba902b7', 'the run hangs from TRACEPARENT');
  assert.notEqual(run.status.code, 2);
  assert.equal(run.attributes['migration.applied_count'], realMigrationFiles().length);

  const lock = spans.find((s) => s.name === 'database-migration lock');
  assert.ok(lock, 'lock wait span');
  assert.equal(lock.parentSpanId, run.spanId);
  assert.equal(typeof lock.attributes['migration.lock.wait_ms'], 'number');

  const applies = spans.filter((s) => s.name === 'database-migration apply');
  assert.deepEqual(
    applies.map((s) => s.attributes['migration.version']).sort((a, b) => Number(a) - Number(b)),
    realMigrationFiles().map((f) => Number(f.split('_')[0])),
  );
  for (const s of applies) {
    assert.equal(s.parentSpanId, run.spanId);
    assert.equal(s.attributes['migration.outcome'], 'applied');
    assert.equal(typeof s.attributes['migration.duration_ms'], 'number');
    assert.equal(typeof s.attributes['migration.name'], 'string');
  }
  // The statements ran under the migration spans.
  assert.ok(
    spans.some((s) => s.kind === 3 && applies.some((a) => a.spanId === s.parentSpanId)),
    'database client spans under a migration span',
  );

  const history = await rows<{ trace_id: string }>(db, 'SELECT trace_id FROM schema_migrations');
  assert.ok(history.every((h) => h.trace_id === traceId));
});

test('the spans of a failed run arrive too, with the error', async () => {
  const traceId = 'b1b2c3d4e5f60718293a4b5c6d7e8f91';
  const dir = migrationsCopy({
    '0950_bad.sql': 'CREATE TABLE t_bad (id integer);\nSELECT 1 / 0;\n',
  });
  dirs.push(dir);
  const r = await runMigration(db, ['--dir', dir], exporting(traceId));
  assert.equal(r.code, 1, explain(r));

  const spans = ofTrace(traceId);
  const run = spans.find((s) => s.name === 'migration.execute');
  assert.ok(run, `run span arrived; got ${spans.map((s) => s.name).join(', ')}`);
  assert.equal(run.serviceName, 'database-migration');
  assert.equal(run.status.code, 2, 'run span has error status');
  assert.match(run.status.message ?? '', /0950_bad\.sql failed/);
  assert.ok(run.events.some((e) => e.name === 'exception'));

  const apply = spans.find((s) => s.name === 'database-migration apply');
  assert.ok(apply);
  assert.equal(apply.attributes['migration.version'], 950);
  assert.equal(apply.attributes['migration.outcome'], 'failed');
  assert.equal(apply.status.code, 2);
});

test('an unreachable database still sends its failed run span', async () => {
  const traceId = 'c1b2c3d4e5f60718293a4b5c6d7e8f92';
  const r = await runMigration('postgres://postgres@127.0.0.1:9/none', [], {
    ...exporting(traceId),
    DB_WAIT_TIMEOUT: '1',
  });
  assert.equal(r.code, 1, explain(r));
  const run = ofTrace(traceId).find((s) => s.name === 'migration.execute');
  assert.ok(run, 'run span arrived');
  assert.equal(run.status.code, 2);
  assert.match(run.status.message ?? '', /did not answer within 1s/);
  const wait = ofTrace(traceId).find((s) => s.name === 'db.wait');
  assert.equal(wait?.parentSpanId, run.spanId);
});
