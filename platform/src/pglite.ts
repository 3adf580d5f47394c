import { accessSync, constants } from 'node:fs';
import { resolve } from 'node:path';
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

interface Opened {
  db: PGlite;
  /** PGlite is one connection: a checked-out client holds it exclusively, as a pool of one would. */
  mutex: Mutex;
  close(): Promise<void>;
}

async function open(
  target: Extract<DatabaseTarget, { kind: 'pglite' }>,
  options: DatabaseOptions,
): Promise<Opened> {
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
  return { db, mutex: new Mutex(), close: () => db.close().finally(unlock) };
}

/**
 * Embedded databases open in this process, by directory: a second handle on the same directory
 * (npm start runs its three steps in one process) shares the first one's database and mutex, and
 * the last handle closed closes it. Opening one takes a second or more.
 */
const openByDir = new Map<string, { opened: Promise<Opened>; handles: number }>();

async function acquire(
  target: Extract<DatabaseTarget, { kind: 'pglite' }>,
  options: DatabaseOptions,
): Promise<{ opened: Opened; release: () => Promise<void> }> {
  if (!target.dataDir) {
    const opened = await open(target, options);
    return { opened, release: () => opened.close() };
  }
  const key = resolve(target.dataDir);
  let entry = openByDir.get(key);
  if (!entry) {
    entry = { opened: open(target, options), handles: 0 };
    openByDir.set(key, entry);
    entry.opened.catch(() => openByDir.delete(key));
  }
  entry.handles++;
  const shared = entry;
  let opened: Opened;
  try {
    opened = await shared.opened;
  } catch (err) {
    shared.handles--;
    throw err;
  }
  let released = false;
  return {
    opened,
    release: async () => {
      if (released) return;
      released = true;
      if (--shared.handles > 0) return;
      openByDir.delete(key);
      await opened.close();
    },
  };
}

/** The embedded database (PGlite) behind the Database interface, for runs without a server. */
export async function createPGlite(
  target: Extract<DatabaseTarget, { kind: 'pglite' }>,
  options: DatabaseOptions,
): Promise<Database> {
  const { opened, release: close } = await acquire(target, options);
  const { db, mutex } = opened;
  const spanTarget: SpanTarget = { namespace: 'postgres' };
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
    close,
  };
}
