import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { readSchemaVersion } from '@order-food/platform/schema';
import { createTestDatabase, type TestDatabase } from '@order-food/platform/testing/test-database';
import {
  explain,
  logLines,
  migrationsDir,
  realMigrationFiles,
  rows,
  runMigration,
  withDatabase,
} from './helpers.js';

let db: TestDatabase;
const files = realMigrationFiles();
const versions = files.map((f) => Number(f.split('_')[0]));
const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';

before(async () => {
  db = await createTestDatabase('migration_migrate');
});
after(async () => {
  await db?.drop();
});

interface HistoryRow {
  version: number;
  name: string;
  checksum: string;
  success: boolean;
  applied_at: Date;
  execution_ms: number;
  applied_by: string;
  service_version: string;
  trace_id: string | null;
}

test('status on a fresh database lists every file as pending and creates nothing', async () => {
  const r = await runMigration(db, ['status', '--json']);
  assert.equal(r.code, 0, explain(r));
  const status = JSON.parse(r.stdout) as { version: number; state: string }[];
  assert.deepEqual(
    status.map((s) => [s.version, s.state]),
    versions.map((v) => [v, 'pending']),
  );
  const [present] = await rows<{ t: string | null }>(
    db,
    "SELECT to_regclass('schema_migrations')::text AS t",
  );
  assert.equal(present!.t, null, 'status must not create the history table');
});

test('a fresh database gets every migration, with history rows and checksums', async () => {
  const r = await runMigration(db, [], {
    POD_NAME: 'order-food-7c9d-abcde',
    SERVICE_VERSION: '2.3.4',
    TRACEPARENT: `00-${traceId}-00f067aa0ba902b7-01`,
  });
  assert.equal(r.code, 0, explain(r));

  const tables = await rows<{ table_name: string }>(
    db,
    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'",
  );
  const names = new Set(tables.map((t) => t.table_name));
  for (const table of [
    'users',
    'products',
    'orders',
    'order_items',
    'idempotency_keys',
    'schema_migrations',
    'schema_migration_runs',
  ])
    assert.ok(names.has(table), `table ${table} exists`);

  const history = await rows<HistoryRow>(db, 'SELECT * FROM schema_migrations ORDER BY version');
  assert.deepEqual(
    history.map((h) => h.version),
    versions,
  );
  for (const [i, h] of history.entries()) {
    const bytes = readFileSync(join(migrationsDir, files[i]!));
    assert.equal(h.checksum, createHash('sha256').update(bytes).digest('hex'), files[i]);
    assert.equal(`${String(h.version).padStart(4, '0')}_${h.name}.sql`, files[i]);
    assert.equal(h.success, true);
    assert.ok(h.execution_ms >= 0);
    assert.equal(h.applied_by, 'order-food-7c9d-abcde');
    assert.equal(h.service_version, '2.3.4');
    assert.equal(h.trace_id, traceId);
  }

  const runs = await rows<{ success: boolean; applied_count: number; error: string | null }>(
    db,
    'SELECT success, applied_count, error FROM schema_migration_runs ORDER BY id',
  );
  assert.deepEqual(runs, [{ success: true, applied_count: files.length, error: null }]);

  // One log line with a timestamp per step, each applied file named.
  const lines = logLines(r.stdout);
  for (const line of lines) assert.match(String(line.time), /^\d{4}-\d\d-\d\dT/);
  const messages = lines.map((l) => String(l.msg));
  assert.ok(messages.includes('migration lock acquired'));
  for (const f of files) assert.ok(messages.includes(`applied ${f}`), `logged applied ${f}`);

  const version = await withDatabase(db, (q) => readSchemaVersion(q));
  assert.deepEqual(version, { version: Math.max(...versions) });
});

test('a second run applies nothing and changes no history row', async () => {
  const before = await rows<HistoryRow>(db, 'SELECT * FROM schema_migrations ORDER BY version');
  const r = await runMigration(db);
  assert.equal(r.code, 0, explain(r));
  const after = await rows<HistoryRow>(db, 'SELECT * FROM schema_migrations ORDER BY version');
  assert.deepEqual(after, before);
  const runs = await rows<{ success: boolean; applied_count: number }>(
    db,
    'SELECT success, applied_count FROM schema_migration_runs ORDER BY id',
  );
  assert.deepEqual(runs.at(-1), { success: true, applied_count: 0 });
  const finished = logLines(r.stdout).find((l) => l.msg === 'migration run finished');
  assert.equal(finished?.appliedCount, 0);
  assert.ok(!r.stdout.includes('applying '), 'nothing applied');
});

test('status --json reports every applied migration in the documented shape', async () => {
  const r = await runMigration(db, ['status', '--json']);
  assert.equal(r.code, 0, explain(r));
  const status = JSON.parse(r.stdout) as Record<string, unknown>[];
  assert.equal(status.length, files.length);
  const history = await rows<HistoryRow>(db, 'SELECT * FROM schema_migrations ORDER BY version');
  for (const [i, s] of status.entries()) {
    const h = history[i]!;
    assert.equal(s.version, h.version);
    assert.equal(s.name, h.name);
    assert.equal(s.state, 'applied');
    assert.equal(s.checksum, h.checksum);
    assert.equal(s.appliedAt, new Date(h.applied_at).toISOString());
    assert.equal(s.executionMs, h.execution_ms);
    for (const key of ['version', 'name', 'state', 'checksum', 'appliedAt', 'executionMs'])
      assert.ok(key in s, `status entry has ${key}`);
  }

  const text = await runMigration(db, ['status']);
  assert.equal(text.code, 0, explain(text));
  for (const f of files) {
    const name = f.replace(/^\d+_/, '').replace(/\.sql$/, '');
    assert.match(text.stdout, new RegExp(`${name}\\s+applied`));
  }
});

test('validate passes on an up-to-date database', async () => {
  const r = await runMigration(db, ['validate']);
  assert.equal(r.code, 0, explain(r));
  assert.match(
    r.stdout,
    new RegExp(`ok: ${files.length} migration file\\(s\\).*${files.length} applied, 0 pending`),
  );
});
