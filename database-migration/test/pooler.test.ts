/**
 * The init programs behind a transaction pooler: a real PgBouncer (transaction mode, default
 * settings) in front of the tests' PostgreSQL, with and without a direct URL for the session work.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  type PgBouncer,
  skipWithoutPgBouncer,
  startPgBouncer,
} from '@order-food/platform/testing/pgbouncer';
import {
  type ProgramResult,
  runProgram,
  startProgram,
} from '@order-food/platform/testing/run-program';
import {
  createTestDatabase,
  postgresAvailable,
  type TestDatabase,
} from '@order-food/platform/testing/test-database';
import {
  explain,
  logLines,
  migrationsCopy,
  realMigrationFiles,
  removeDir,
  rows,
} from './helpers.js';

const pods = 10;
const skip =
  skipWithoutPgBouncer() || (!(await postgresAvailable()) && 'PgBouncer needs PostgreSQL');

/** One pod's init containers: the migration, then (after it exited 0) the load. */
async function pod(i: number, env: Record<string, string>): Promise<ProgramResult[]> {
  const common = { POD_NAME: `pod-${i}`, DB_WAIT_TIMEOUT: '60', ...env };
  const migration = await runProgram('database-migration', [], { env: common, timeoutMs: 300_000 });
  if (migration.code !== 0) return [migration];
  const load = await runProgram('database-load', [], { env: common, timeoutMs: 300_000 });
  return [migration, load];
}

function applied(results: ProgramResult[]): number[] {
  return results
    .flatMap((r) => logLines(r.stdout))
    .filter((l) => typeof l.msg === 'string' && l.msg.startsWith('applied '))
    .map((l) => l.version as number)
    .sort((a, b) => a - b);
}

async function assertConsistent(db: TestDatabase, results: ProgramResult[]): Promise<void> {
  for (const r of results) assert.equal(r.code, 0, explain(r));
  const versions = realMigrationFiles().map((f) => Number(f.split('_')[0]));
  assert.deepEqual(applied(results), versions, 'each migration applied once');
  const history = await rows<{ version: number; success: boolean }>(
    db,
    'SELECT version, success FROM schema_migrations ORDER BY version',
  );
  assert.deepEqual(
    history.map((h) => [h.version, h.success]),
    versions.map((v) => [v, true]),
  );
  const attempts = await rows<{ version: number; success: boolean }>(
    db,
    'SELECT version, success FROM schema_migration_attempts ORDER BY version',
  );
  assert.deepEqual(
    attempts.map((a) => [a.version, a.success]),
    versions.map((v) => [v, true]),
    'one attempt per version, each a success',
  );
  const runs = await rows<{ success: boolean }>(db, 'SELECT success FROM schema_migration_runs');
  assert.equal(runs.length, pods);
  assert.ok(runs.every((r) => r.success));
  const loads = await rows<{ outcome: string; n: number }>(
    db,
    'SELECT outcome, count(*)::int AS n FROM data_load_history GROUP BY outcome ORDER BY outcome',
  );
  assert.deepEqual(
    loads.map((l) => [l.outcome, l.n]),
    [
      ['loaded', 1],
      ['skipped', pods - 1],
    ],
  );
  const locks = await rows(
    db,
    "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
  );
  assert.equal(locks.length, 0, 'no advisory lock left behind');
}

describe('init programs through PgBouncer in transaction mode', { skip }, () => {
  let bouncer: PgBouncer;
  const dbs: TestDatabase[] = [];
  const fresh = async (name: string) => {
    const db = await createTestDatabase(name);
    dbs.push(db);
    return db;
  };

  before(async () => {
    const db = await fresh('pooler_probe');
    bouncer = await startPgBouncer(db.url);
  });
  after(async () => {
    await bouncer?.stop();
    for (const db of dbs) await db.drop();
  });

  test(`${pods} pods at once without a direct URL: locks are leases and transactions`, async () => {
    const db = await fresh('pooler_leases');
    const results = (
      await Promise.all(
        Array.from({ length: pods }, (_, i) => pod(i, { DATABASE_URL: bouncer.via(db.url) })),
      )
    ).flat();
    await assertConsistent(db, results);
    assert.ok(
      results.some((r) => r.stdout.includes('transaction pooler')),
      'the runners said they found a pooler',
    );
    const leases = await rows(db, 'SELECT * FROM init_lock_leases');
    assert.deepEqual(leases, [], 'no lease left behind');
  });

  test(`${pods} pods at once with DATABASE_DIRECT_URL: the session work goes direct`, async () => {
    const db = await fresh('pooler_direct');
    const results = (
      await Promise.all(
        Array.from({ length: pods }, (_, i) =>
          pod(i, { DATABASE_URL: bouncer.via(db.url), DATABASE_DIRECT_URL: db.url }),
        ),
      )
    ).flat();
    await assertConsistent(db, results);
    const leases = await rows<{ present: boolean }>(
      db,
      "SELECT to_regclass('init_lock_leases') IS NOT NULL AS present",
    );
    assert.equal(leases[0]?.present, false, 'the advisory lock on the direct connection was used');
  });

  test('a runner SIGKILLed while it holds the lock: the next run takes over after the lease', async () => {
    const db = await fresh('pooler_killed');
    const dir = migrationsCopy({
      '0100_slow.sql': 'CREATE TABLE slow (id int);\nSELECT pg_sleep(2);\n',
    });
    try {
      const env = {
        DATABASE_URL: bouncer.via(db.url),
        MIGRATIONS_DIR: dir,
        MIGRATION_LOCK_LEASE: '4',
        POD_NAME: 'doomed',
      };
      const doomed = startProgram('database-migration', [], { env });
      let out = '';
      await new Promise<void>((resolve, reject) => {
        doomed.stdout?.on('data', (c: Buffer) => {
          out += c.toString();
          if (out.includes('applying 0100_slow.sql')) resolve();
        });
        doomed.once('exit', () => reject(new Error(`the runner ended first:\n${out}`)));
      });
      const gone = new Promise((resolve) => doomed.once('exit', resolve));
      doomed.kill('SIGKILL');
      await gone;
      const held = await rows<{ owner: string }>(db, 'SELECT owner FROM init_lock_leases');
      assert.match(held[0]?.owner ?? '', /^doomed pid /, 'the dead runner still names the lease');

      const next = await runProgram('database-migration', [], {
        env: { ...env, POD_NAME: 'next' },
        timeoutMs: 120_000,
      });
      assert.equal(next.code, 0, explain(next));
      const slow = await rows<{ success: boolean }>(
        db,
        'SELECT success FROM schema_migrations WHERE version = 100',
      );
      assert.deepEqual(slow, [{ success: true }]);
      assert.deepEqual(await rows(db, 'SELECT * FROM init_lock_leases'), []);
    } finally {
      removeDir(dir);
    }
  });

  test('a migration outside a transaction through the pooler needs a direct URL: exit 2', async () => {
    const db = await fresh('pooler_refused');
    const dir = migrationsCopy({
      '0100_index.sql':
        '-- migrate:no-transaction\nCREATE INDEX CONCURRENTLY products_price_idx ON products (price_cents);\n',
    });
    try {
      const r = await runProgram('database-migration', [], {
        env: { DATABASE_URL: bouncer.via(db.url), MIGRATIONS_DIR: dir, DB_WAIT_TIMEOUT: '30' },
      });
      assert.equal(r.code, 2, explain(r));
      const line = r.stderr.trim().split('\n').at(-1) ?? '';
      assert.match(line, /0100_index\.sql runs outside a transaction.*DATABASE_DIRECT_URL/);
      const withDirect = await runProgram('database-migration', [], {
        env: {
          DATABASE_URL: bouncer.via(db.url),
          DATABASE_DIRECT_URL: db.url,
          MIGRATIONS_DIR: dir,
        },
      });
      assert.equal(withDirect.code, 0, explain(withDirect));
    } finally {
      removeDir(dir);
    }
  });
});
