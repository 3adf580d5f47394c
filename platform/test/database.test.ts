import assert from 'node:assert/strict';
import { after, before, describe, type TestContext, test } from 'node:test';
import pg from 'pg';
import { parseDatabaseTarget } from '../src/config.js';
import { createDatabase, type Database, StatementWatchdog } from '../src/database.js';
import { createLogger } from '../src/logger.js';
import { createTestDatabase, type TestDatabase } from '../testing/test-database.js';

describe('StatementWatchdog, on a real connection', () => {
  let testDb: TestDatabase;

  before(async () => {
    testDb = await createTestDatabase('platform_watchdog');
  });

  after(async () => {
    await testDb?.drop();
  });

  /** A connection of its own, ended when the test ends. */
  async function connection(t: TestContext): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: testDb.url });
    // The watchdog closes the socket of an overdue statement: pg reports that here too.
    client.on('error', () => undefined);
    await client.connect();
    t.after(() => client.end().catch(() => undefined));
    return client;
  }

  /** One statement through the watchdog, as a promise. */
  function statement(watchdog: StatementWatchdog, client: pg.ClientBase, text: string) {
    return new Promise<pg.QueryResult>((resolve, reject) => {
      watchdog.run(client, text, undefined, (err, result) =>
        err ? reject(err) : resolve(result!),
      );
    });
  }

  test('a statement answered in time resolves and is no longer watched', async (t) => {
    if (testDb.kind !== 'postgres') return t.skip('needs a PostgreSQL server');
    const watchdog = new StatementWatchdog(60_000);
    t.after(() => watchdog.close());
    const client = await connection(t);
    const result = await statement(watchdog, client, 'SELECT 1 AS ok');
    assert.deepEqual(result.rows, [{ ok: 1 }]);
    assert.equal(watchdog.running, 0);
  });

  test('a statement that does not answer in time fails with "Query read timeout" and its connection is closed', async (t) => {
    if (testDb.kind !== 'postgres') return t.skip('needs a PostgreSQL server');
    const watchdog = new StatementWatchdog(200);
    t.after(() => watchdog.close());
    const client = await connection(t);
    const ended = new Promise((resolve) => client.once('end', resolve));
    await assert.rejects(
      statement(watchdog, client, 'SELECT pg_sleep(30)'),
      /Query read timeout: the database did not answer within 200 ms/,
    );
    await ended;
    assert.equal(watchdog.running, 0);
    await assert.rejects(client.query('SELECT 1'));
  });

  test('a statement the server refuses keeps its own error and its connection', async (t) => {
    if (testDb.kind !== 'postgres') return t.skip('needs a PostgreSQL server');
    const watchdog = new StatementWatchdog(60_000);
    t.after(() => watchdog.close());
    const client = await connection(t);
    const err = await statement(watchdog, client, 'SELECT * FROM nope').catch((e: unknown) => e);
    assert.ok(err instanceof pg.DatabaseError);
    assert.equal(err.code, '42P01');
    const result = await statement(watchdog, client, 'SELECT 1 AS ok');
    assert.deepEqual(result.rows, [{ ok: 1 }]);
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
