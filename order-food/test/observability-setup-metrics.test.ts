import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parseDatabaseTarget } from '@order-food/platform/config';
import { createDatabase, type Database } from '@order-food/platform/database';
import { createLogger } from '@order-food/platform/logger';
import { repoRoot } from '@order-food/platform/testing/run-program';
import { createTestDatabase, type TestDatabase } from '@order-food/platform/testing/test-database';
import { Metrics } from '../src/metrics.js';
import { readSetupState, startSetupMetrics } from '../src/setup-metrics.js';

let testDb: TestDatabase;
let db: Database;
const lines: Record<string, unknown>[] = [];
const logger = createLogger('order-food', 'info', {
  write: (line: string) => {
    lines.push(JSON.parse(line));
  },
});

/** The two history tables as database-migration creates them (columns as the runner writes them). */
const migrationHistory = `
CREATE TABLE schema_migrations (
  version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now(), execution_ms integer NOT NULL,
  success boolean NOT NULL, applied_by text NOT NULL, service_version text NOT NULL, trace_id text);
CREATE TABLE schema_migration_runs (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, started_at timestamptz NOT NULL,
  finished_at timestamptz NOT NULL, duration_ms integer NOT NULL, success boolean NOT NULL,
  applied_count integer NOT NULL, applied_by text NOT NULL, service_version text NOT NULL,
  trace_id text, error text);`;

before(async () => {
  testDb = await createTestDatabase('obs_setup');
  db = await createDatabase(parseDatabaseTarget({ DATABASE_URL: testDb.url }), {
    logger,
    applicationName: 'observability-test',
  });
});

after(async () => {
  await db?.close();
  await testDb?.drop();
});

function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

test('before any history table exists: nothing to report, nothing thrown', async () => {
  const state = await readSetupState(db);
  assert.deepEqual(state, { schemaVersion: null, steps: [], datasetHash: null });
});

test('the last run of each step, the schema version and the data set from the history tables', async () => {
  await db.exec(migrationHistory);
  await db.exec(
    readFileSync(
      join(repoRoot, 'database-migration/migrations/0002_data_load_history.sql'),
      'utf8',
    ),
  );
  await db.exec(`
    INSERT INTO schema_migrations (version, name, checksum, execution_ms, success, applied_by, service_version)
      VALUES (1, 'initial_schema', 'a', 12, true, 'pod-a', '1.0.0'),
             (2, 'data_load_history', 'b', 5, true, 'pod-a', '1.0.0'),
             (3, 'broken', 'c', 1, false, 'pod-a', '1.0.0');
    INSERT INTO schema_migration_runs (started_at, finished_at, duration_ms, success, applied_count, applied_by, service_version)
      VALUES ('2026-01-01T10:00:00Z', '2026-01-01T10:00:02.5Z', 2500, true, 2, 'pod-a', '1.0.0'),
             ('2026-01-01T11:00:00Z', '2026-01-01T11:00:00.25Z', 250, false, 0, 'pod-b', '1.0.0');
    INSERT INTO data_load_history (dataset_hash, mode, outcome, started_at, finished_at, duration_ms, error)
      VALUES (repeat('a', 64), 'insert', 'loaded', '2026-01-01T10:00:03Z', '2026-01-01T10:00:04Z', 1000, NULL),
             (repeat('b', 64), 'insert', 'failed', '2026-01-01T11:00:01Z', '2026-01-01T11:00:01.5Z', 500, 'boom');
  `);
  const metrics = new Metrics({ version: '1.0.0', revision: 'test' });
  const setup = startSetupMetrics({ db, metrics, logger, intervalMs: 60_000 });
  try {
    assert.equal(await setup.refresh(), true);
  } finally {
    setup.stop();
  }
  const text = await metrics.registry.metrics();
  assert.equal(sample(text, 'orderfood_schema_version'), 2, 'a failed version does not count');
  assert.equal(
    sample(text, 'orderfood_setup_step_duration_seconds{step="database-migration"}'),
    0.25,
  );
  assert.equal(sample(text, 'orderfood_setup_step_success{step="database-migration"}'), 0);
  assert.equal(
    sample(text, 'orderfood_setup_step_last_run_timestamp_seconds{step="database-migration"}'),
    Date.parse('2026-01-01T11:00:00.25Z') / 1000,
  );
  assert.equal(sample(text, 'orderfood_setup_step_duration_seconds{step="database-load"}'), 0.5);
  assert.equal(sample(text, 'orderfood_setup_step_success{step="database-load"}'), 0);
  assert.equal(
    sample(text, `orderfood_dataset_info{hash="${'a'.repeat(64)}"}`),
    1,
    'the data set last loaded, not the one that failed',
  );
  assert.doesNotMatch(text, /orderfood_dataset_info\{hash="b/);
});

test('a database that stops answering is logged once and the last figures stay', async () => {
  const metrics = new Metrics({ version: '1.0.0', revision: 'test' });
  const other = await createDatabase(parseDatabaseTarget({ DATABASE_URL: testDb.url }), {
    logger,
    applicationName: 'observability-test-2',
  });
  const setup = startSetupMetrics({ db: other, metrics, logger, intervalMs: 60_000 });
  try {
    assert.equal(await setup.refresh(), true);
    await other.close();
    const before = lines.length;
    assert.equal(await setup.refresh(), false);
    assert.equal(await setup.refresh(), false);
    const warnings = lines.slice(before).filter((l) => l.level === 'warn');
    assert.equal(warnings.length, 1, 'one warning per outage');
    assert.match(String(warnings[0]?.msg), /could not read the history tables/);
  } finally {
    setup.stop();
  }
  assert.equal(sample(await metrics.registry.metrics(), 'orderfood_schema_version'), 2);
});
