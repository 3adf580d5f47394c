import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createTestDatabase, type TestDatabase } from '@order-food/platform/testing/test-database';
import { explain, logLines, realMigrationFiles, rows, runMigration } from './helpers.js';

let db: TestDatabase;

before(async () => {
  db = await createTestDatabase('migration_concurrency');
});
after(async () => {
  await db?.drop();
});

test('30 runners started at once on a fresh database all succeed and apply each version once', async (t) => {
  if (db.kind === 'pglite') {
    t.skip('PGlite is one process: concurrent runners need PostgreSQL (CI=true requires it)');
    return;
  }
  const runners = 30;
  const results = await Promise.all(
    Array.from({ length: runners }, (_, i) =>
      runMigration(db, [], { POD_NAME: `runner-${i}`, DB_WAIT_TIMEOUT: '60' }, 300_000),
    ),
  );
  for (const r of results) assert.equal(r.code, 0, explain(r));

  const versions = realMigrationFiles().map((f) => Number(f.split('_')[0]));
  const history = await rows<{ version: number; success: boolean; applied_by: string }>(
    db,
    'SELECT version, success, applied_by FROM schema_migrations ORDER BY version',
  );
  assert.deepEqual(
    history.map((h) => [h.version, h.success]),
    versions.map((v) => [v, true]),
  );

  // Every version was applied by exactly one runner, and the runners agree on who.
  const applying = results.flatMap((r) =>
    logLines(r.stdout)
      .filter((l) => typeof l.msg === 'string' && l.msg.startsWith('applied '))
      .map((l) => l.version as number),
  );
  assert.deepEqual(
    applying.sort((a, b) => a - b),
    versions,
  );

  const runs = await rows<{ success: boolean; applied_count: number }>(
    db,
    'SELECT success, applied_count FROM schema_migration_runs',
  );
  assert.equal(runs.length, runners);
  assert.ok(runs.every((r) => r.success));
  assert.equal(
    runs.reduce((sum, r) => sum + r.applied_count, 0),
    versions.length,
  );

  // The lock is free again: no session still holds it.
  const locks = await rows(
    db,
    "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
  );
  assert.equal(locks.length, 0);
});
