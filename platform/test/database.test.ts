import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { parseDatabaseTarget } from '../src/config.js';
import { createDatabase, type Database } from '../src/database.js';
import { createLogger } from '../src/logger.js';
import { createTestDatabase, type TestDatabase } from '../testing/test-database.js';

describe('statement_timeout (DB_STATEMENT_TIMEOUT), on a real server', () => {
  let testDb: TestDatabase;
  let db: Database;

  before(async () => {
    testDb = await createTestDatabase('platform_stmt_timeout');
    if (testDb.kind !== 'postgres') return;
    db = await createDatabase(parseDatabaseTarget({ DATABASE_URL: testDb.url }), {
      logger: createLogger('test', 'silent'),
      applicationName: 'platform-test',
      max: 1,
      statementTimeoutMs: 200,
    });
  });

  after(async () => {
    await db?.close();
    await testDb?.drop();
  });

  test('a direct connection carries it as a session setting; the server cancels pg_sleep', async (t) => {
    if (testDb.kind !== 'postgres') return t.skip('needs a PostgreSQL server');
    const { rows } = await db.query<{ s: string }>(
      "SELECT current_setting('statement_timeout') AS s",
    );
    assert.equal(rows[0]?.s, '200ms');
    const err = await db.query('SELECT pg_sleep(5)').catch((e: unknown) => e);
    assert.ok(err instanceof pg.DatabaseError);
    assert.equal(err.code, '57014');
    // A statement the server cancelled leaves the connection usable.
    const again = await db.query<{ ok: number }>('SELECT 1 AS ok');
    assert.equal(again.rows[0]?.ok, 1);
  });

  test('a transaction sets it locally', async (t) => {
    if (testDb.kind !== 'postgres') return t.skip('needs a PostgreSQL server');
    await assert.rejects(
      db.transaction((tx) => tx.query('SELECT pg_sleep(5)')),
      (err: unknown) => err instanceof pg.DatabaseError && err.code === '57014',
    );
  });
});

describe('the PostgreSQL adapter bounds every statement (DB_QUERY_TIMEOUT)', () => {
  let testDb: TestDatabase;
  let db: Database;

  before(async () => {
    testDb = await createTestDatabase('platform_db');
    if (testDb.kind !== 'postgres') return;
    db = await createDatabase(parseDatabaseTarget({ DATABASE_URL: testDb.url }), {
      logger: createLogger('test', 'silent'),
      applicationName: 'platform-test',
      max: 2,
      queryTimeoutMs: 300,
    });
  });

  after(async () => {
    await db?.close();
    await testDb?.drop();
  });

  test('an overdue statement fails with a clear error and the pool goes on serving', async (t) => {
    if (testDb.kind !== 'postgres') return t.skip('needs a PostgreSQL server');
    await assert.rejects(db.query('SELECT pg_sleep(5)'), /Query read timeout/);
    // Both connections of the pool are usable afterwards: the killed one was replaced.
    const answers = await Promise.all(
      [1, 2, 3, 4].map((n) => db.query<{ n: number }>('SELECT $1::int AS n', [n])),
    );
    assert.deepEqual(
      answers.map((a) => a.rows[0]?.n),
      [1, 2, 3, 4],
    );
  });

  test('inside a transaction too: it rolls back and the next one commits', async (t) => {
    if (testDb.kind !== 'postgres') return t.skip('needs a PostgreSQL server');
    await db.exec('CREATE TABLE IF NOT EXISTS wd (n int)');
    await assert.rejects(
      db.transaction(async (tx) => {
        await tx.query('INSERT INTO wd VALUES (1)');
        await tx.query('SELECT pg_sleep(5)');
      }),
      /Query read timeout/,
    );
    await db.transaction(async (tx) => {
      await tx.query('INSERT INTO wd VALUES (2)');
    });
    const { rows } = await db.query<{ n: number }>('SELECT n FROM wd ORDER BY n');
    assert.deepEqual(
      rows.map((r) => r.n),
      [2],
    );
  });

  test('a statement the server refuses keeps its SQLSTATE and does not cost a connection', async (t) => {
    if (testDb.kind !== 'postgres') return t.skip('needs a PostgreSQL server');
    const err = await db.query('SELECT * FROM missing_table').catch((e: unknown) => e);
    assert.ok(err instanceof pg.DatabaseError);
    assert.equal(err.code, '42P01');
    const { rows } = await db.query<{ ok: number }>('SELECT 1 AS ok');
    assert.equal(rows[0]?.ok, 1);
  });
});

describe('transaction() keeps healthy connections in the pool', () => {
  let testDb: TestDatabase;
  let db: Database;

  before(async () => {
    testDb = await createTestDatabase('platform_tx');
    if (testDb.kind !== 'postgres') return;
    db = await createDatabase(parseDatabaseTarget({ DATABASE_URL: testDb.url }), {
      logger: createLogger('test', 'silent'),
      applicationName: 'platform-tx-test',
      max: 2,
      queryTimeoutMs: 300,
    });
  });

  after(async () => {
    await db?.close();
    await testDb?.drop();
  });

  const backendPids = async (): Promise<number[]> => {
    const held = await Promise.all([db.connect(), db.connect()]);
    try {
      const pids = await Promise.all(
        held.map((c) => c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')),
      );
      return pids.map((r) => r.rows[0]!.pid).sort();
    } finally {
      for (const c of held) c.release();
    }
  };

  test('errors of the caller and statements the server refuses discard no connection', async (t) => {
    if (testDb.kind !== 'postgres') return t.skip('needs a PostgreSQL server');
    const before = await backendPids();
    for (let i = 0; i < 100; i++) {
      await assert.rejects(
        db.transaction(async (tx) => {
          await tx.query('SELECT 1');
          throw new Error('refused by the caller');
        }),
        /refused by the caller/,
      );
      await assert.rejects(
        db.transaction((tx) => tx.query('SELECT * FROM missing_table')),
        (err: unknown) => err instanceof pg.DatabaseError && err.code === '42P01',
      );
    }
    assert.deepEqual(await backendPids(), before);
  });

  test('a connection that broke inside a transaction is discarded', async (t) => {
    if (testDb.kind !== 'postgres') return t.skip('needs a PostgreSQL server');
    const before = await backendPids();
    await assert.rejects(
      db.transaction((tx) => tx.query('SELECT pg_sleep(5)')),
      /Query read timeout/,
    );
    const after = await backendPids();
    assert.equal(after.filter((pid) => before.includes(pid)).length, 1);
  });
});
