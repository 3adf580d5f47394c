import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startProgram } from '@order-food/platform/testing/run-program';
import { createTestDatabase, type TestDatabase } from '@order-food/platform/testing/test-database';
import { migrationLock } from '../src/runner.js';
import { explain, migrationsCopy, removeDir, rows, runMigration } from './helpers.js';

let db: TestDatabase;
let dir: string;

before(async () => {
  db = await createTestDatabase('migration_locking');
  dir = migrationsCopy();
});
after(async () => {
  await db?.drop();
  if (dir) removeDir(dir);
});

/** Runs a program until it exits, resolving once its stdout shows pattern (then on exit). */
function watch(child: ChildProcess, pattern: RegExp, timeoutMs = 60_000) {
  let stdout = '';
  let stderr = '';
  let seen!: () => void;
  const appeared = new Promise<void>((resolve) => {
    seen = resolve;
  });
  child.stdout?.on('data', (c: Buffer) => {
    stdout += c.toString();
    if (pattern.test(stdout)) seen();
  });
  child.stderr?.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const exited = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      seen();
      resolve({ code, stdout, stderr });
    }),
  );
  return { appeared, exited };
}

function needsPostgres(t: { skip: (reason: string) => void }): boolean {
  if (db.kind === 'postgres') return true;
  t.skip('holding locks from the test needs a PostgreSQL session (CI=true requires it)');
  return false;
}

test('a runner waits for the advisory lock up to MIGRATION_LOCK_TIMEOUT, then names the holder', async (t) => {
  if (!needsPostgres(t)) return;
  const holder = db.admin();
  await holder.connect();
  try {
    await holder.query("SET application_name = 'migration-lock-holder'");
    await holder.query('SELECT pg_advisory_lock($1, $2)', [...migrationLock.key]);
    const pid = (await holder.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;

    const r = await runMigration(db, ['--dir', dir], { MIGRATION_LOCK_TIMEOUT: '2' });
    assert.equal(r.code, 1, explain(r));
    assert.match(
      r.stderr,
      new RegExp(
        `gave up waiting for the migration lock after 2s \\(MIGRATION_LOCK_TIMEOUT\\): pid ${pid} \\(migration-lock-holder\\) still holds it`,
      ),
    );
    assert.match(r.stdout, new RegExp(`waiting for the migration lock held by pid ${pid}`));
    const [present] = await rows<{ t: string | null }>(
      db,
      "SELECT to_regclass('schema_migrations')::text AS t",
    );
    assert.equal(present!.t, null, 'nothing is created without the lock');
  } finally {
    await holder.end();
  }
});

test('a waiting runner proceeds as soon as the lock is released', async (t) => {
  if (!needsPostgres(t)) return;
  const holder = db.admin();
  await holder.connect();
  try {
    await holder.query('SELECT pg_advisory_lock($1, $2)', [...migrationLock.key]);
    const child = startProgram('database-migration', ['--dir', dir], {
      env: { DATABASE_URL: db.url, MIGRATION_LOCK_TIMEOUT: '120' },
    });
    const run = watch(child, /waiting for the migration lock/);
    await run.appeared;
    await holder.query('SELECT pg_advisory_unlock($1, $2)', [...migrationLock.key]);
    const r = await run.exited;
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /migration lock acquired/);
  } finally {
    await holder.end();
  }
});

test('a migration that hits lock_timeout is retried with backoff, then fails clearly', async (t) => {
  if (!needsPostgres(t)) return;
  writeFileSync(join(dir, '0980_orders_note.sql'), 'ALTER TABLE orders ADD COLUMN note text;\n');
  const holder = db.admin();
  await holder.connect();
  try {
    // A long transaction holding the table, as a slow report query would.
    await holder.query('BEGIN');
    await holder.query('LOCK TABLE orders IN ACCESS SHARE MODE');
    const r = await runMigration(db, ['--dir', dir], {
      MIGRATION_STATEMENT_LOCK_TIMEOUT: '0.2',
      MIGRATION_LOCK_RETRIES: '2',
      MIGRATION_LOCK_RETRY_DELAY: '0.1',
    });
    assert.equal(r.code, 1, explain(r));
    assert.equal(
      (r.stdout.match(/0980_orders_note\.sql hit lock_timeout, retrying/g) ?? []).length,
      2,
    );
    assert.match(
      r.stderr,
      /migration 0980_orders_note\.sql failed and was rolled back: canceling statement due to lock timeout \(55P03\)/,
    );

    // Released while the runner backs off: the retry succeeds.
    const child = startProgram('database-migration', ['--dir', dir], {
      env: {
        DATABASE_URL: db.url,
        MIGRATION_STATEMENT_LOCK_TIMEOUT: '0.2',
        MIGRATION_LOCK_RETRIES: '20',
        MIGRATION_LOCK_RETRY_DELAY: '0.5',
      },
    });
    const run = watch(child, /hit lock_timeout, retrying/);
    await run.appeared;
    await holder.query('ROLLBACK');
    const again = await run.exited;
    assert.equal(again.code, 0, `${again.stdout}\n${again.stderr}`);
    assert.match(again.stdout, /applied 0980_orders_note\.sql/);
    const columns = await rows(
      db,
      "SELECT 1 FROM information_schema.columns WHERE table_name = 'orders' AND column_name = 'note'",
    );
    assert.equal(columns.length, 1);
  } finally {
    await holder.end();
  }
});
