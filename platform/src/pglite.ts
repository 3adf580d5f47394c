import { accessSync, constants } from 'node:fs';
import type { PGlite } from '@electric-sql/pglite';
import type { DatabaseTarget } from './config.js';
import type { Database, DatabaseOptions, DbClient, QueryResult } from './database.js';
import { lockDirectory, makeDirectory } from './directories.js';
import { describeError, OperationalError } from './errors.js';
import { Mutex } from './mutex.js';
import { type SpanTarget, traced } from './statement-report.js';

/**
 * Makes PGlite's data directory when missing, checks that this process may read and write it
 * (Node's errors say why not: EACCES, ENOTDIR, EROFS, where PGlite's name only an errno number)
 * and takes its lock file.
 */
function openDataDir(dir: string, program: string): () => void {
  makeDirectory(dir);
  accessSync(dir, constants.R_OK | constants.W_OK | constants.X_OK);
  return lockDirectory(dir, program);
}

/** The embedded database (PGlite) behind the Database interface, for runs without a server. */
export async function createPGlite(
  target: Extract<DatabaseTarget, { kind: 'pglite' }>,
  options: DatabaseOptions,
): Promise<Database> {
  const { PGlite } = await import('@electric-sql/pglite');
  let db: PGlite;
  let unlock = () => {};
  try {
    if (target.dataDir) unlock = openDataDir(target.dataDir, options.applicationName);
    db = await PGlite.create({
      ...(target.dataDir ? { dataDir: target.dataDir } : {}),
      parsers: { 20: (value: string) => Number(value) },
    });
  } catch (err) {
    unlock();
    if (err instanceof OperationalError) throw err;
    // PGlite throws its file system's errors as plain objects ({ name: 'ErrnoError', errno }):
    // name the directory, so the operator knows what to fix.
    throw new OperationalError(
      `the embedded database ${target.dataDir ? `in ${target.dataDir} ` : ''}cannot be opened: ${describeError(err)}`,
    );
  }
  const spanTarget: SpanTarget = { namespace: 'postgres' };
  // PGlite is one connection: a checked-out client holds it exclusively, as a pool of one would.
  const mutex = new Mutex();
  let waiting = 0;
  let busy = false;

  const run = async <T>(text: string, params?: readonly unknown[]): Promise<QueryResult<T>> => {
    const r = await db.query<T>(text, params as unknown[] | undefined);
    return { rows: r.rows, rowCount: r.affectedRows ?? r.rows.length };
  };
  const runExec = async (sql: string) => {
    await db.exec(sql);
  };
  const exclusive = async <T>(fn: () => Promise<T>): Promise<T> => {
    waiting++;
    const release = await mutex.acquire();
    waiting--;
    busy = true;
    try {
      return await fn();
    } finally {
      busy = false;
      release();
    }
  };

  const connect = async (): Promise<DbClient> => {
    waiting++;
    const release = await mutex.acquire();
    waiting--;
    busy = true;
    return {
      raw: { kind: 'pglite', db },
      query: <T>(text: string, params?: readonly unknown[]) =>
        traced(spanTarget, text, options.onQuery, () => run<T>(text, params)),
      exec: (sql: string) => traced(spanTarget, sql, options.onQuery, () => runExec(sql)),
      release() {
        busy = false;
        release();
      },
    };
  };

  return {
    kind: 'pglite',
    display: target.display,
    query: <T>(text: string, params?: readonly unknown[]) =>
      traced(spanTarget, text, options.onQuery, () => exclusive(() => run<T>(text, params))),
    exec: (sql: string) =>
      traced(spanTarget, sql, options.onQuery, () => exclusive(() => runExec(sql))),
    connect,
    async transaction<T>(fn: (tx: DbClient) => Promise<T>): Promise<T> {
      const client = await connect();
      try {
        await client.query('BEGIN');
        const result = await fn(client);
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },
    async listen(channel, onMessage) {
      const unlisten = await db.listen(channel, onMessage);
      return () => unlisten();
    },
    stats: () => ({ total: 1, idle: busy ? 0 : 1, waiting }),
    close: () => db.close().finally(unlock),
  };
}
