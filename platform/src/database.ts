import { accessSync, constants } from 'node:fs';
import type { PGlite } from '@electric-sql/pglite';
import {
  type Attributes,
  context,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import pg from 'pg';
import type { DatabaseTarget } from './config.js';
import { lockDirectory, makeDirectory } from './directories.js';
import { describeError, OperationalError } from './errors.js';
import type { Logger } from './logger.js';
import { Mutex } from './mutex.js';
import { parseTimestamptzText } from './pg-timestamp.js';

export type Row = Record<string, unknown>;

export interface QueryResult<T> {
  rows: T[];
  rowCount: number;
}

export interface Queryable {
  query<T = Row>(text: string, params?: readonly unknown[]): Promise<QueryResult<T>>;
  /** A script of several statements, without parameters. */
  exec(sql: string): Promise<void>;
}

/** One connection held until release(): for session state such as advisory locks and transactions. */
export interface DbClient extends Queryable {
  release(err?: Error | boolean): void;
  /** The driver's own connection, for what only one driver does (COPY on pg). */
  readonly raw: { kind: 'postgres'; client: pg.PoolClient } | { kind: 'pglite'; db: PGlite };
}

export interface PoolStats {
  total: number;
  idle: number;
  waiting: number;
}

export interface Database extends Queryable {
  readonly kind: 'postgres' | 'pglite';
  /** Where it points, without credentials. */
  readonly display: string;
  connect(): Promise<DbClient>;
  /** Runs fn in one transaction on one connection; rolls back when fn throws. */
  transaction<T>(fn: (tx: DbClient) => Promise<T>): Promise<T>;
  /** Calls onMessage for every NOTIFY on channel until the returned function is called. */
  listen(channel: string, onMessage: (payload: string) => void): Promise<() => Promise<void>>;
  stats(): PoolStats;
  close(): Promise<void>;
}

export type QueryObserver = (operation: string, durationSeconds: number, ok: boolean) => void;

export interface DatabaseOptions {
  logger: Logger;
  applicationName: string;
  /** Connections in the pool (pg only). */
  max?: number;
  connectTimeoutMs?: number;
  idleTimeoutMs?: number;
  /** Client-side bound on one query, so a hung connection cannot hang a caller. */
  queryTimeoutMs?: number;
  /** Server-side statement_timeout of every statement (see createPostgres: no start-up parameter). */
  statementTimeoutMs?: number;
  onQuery?: QueryObserver;
}

const tracer = trace.getTracer('@order-food/platform/database');

const operationPattern = /^\s*(?:--[^\n]*\n\s*)*([A-Za-z]+)/;

const operations = new Map<string, string>();

/** SELECT, INSERT, WITH … from the statement text (remembered per text: statements repeat). */
export function operationOf(text: string): string {
  let operation = operations.get(text);
  if (operation === undefined) {
    operation = operationPattern.exec(text)?.[1]?.toUpperCase() ?? 'QUERY';
    // A service runs a bounded set of statement texts; the bound only guards against one that
    // builds them from values.
    if (operations.size >= 512) operations.clear();
    operations.set(text, operation);
  }
  return operation;
}

interface SpanTarget {
  namespace: string;
  address?: string;
  port?: number;
}

/**
 * What a statement reports when it ends: its duration to the observer, its outcome to its span.
 * Made before the statement is sent (report()); ok() or failed() is called once when it ends.
 */
class StatementReport {
  constructor(
    readonly operation: string,
    readonly observer: QueryObserver | undefined,
    readonly started: number,
    readonly span: Span | undefined,
  ) {}

  ok(): void {
    this.observer?.(this.operation, (performance.now() - this.started) / 1000, true);
    this.span?.end();
  }

  failed(err: unknown): void {
    this.observer?.(this.operation, (performance.now() - this.started) / 1000, false);
    const span = this.span;
    if (!span) return;
    const e = err as Error & { code?: string };
    span.recordException(e);
    span.setStatus({ code: SpanStatusCode.ERROR, message: e.message });
    if (e.code) span.setAttribute('db.response.status_code', e.code);
    span.setAttribute('error.type', e.code ?? e.name);
    span.end();
  }
}

const nothingToReport = new StatementReport('', undefined, 0, undefined);

/**
 * A client span per statement, only under a recording parent: unsampled requests and background
 * work pay nothing. The statement text is recorded, parameter values never are.
 */
function report(
  target: SpanTarget,
  text: string,
  observer: QueryObserver | undefined,
): StatementReport {
  const parent = trace.getSpan(context.active());
  const recording = parent?.isRecording() === true;
  if (!recording && !observer) return nothingToReport;
  const operation = operationOf(text);
  let span: Span | undefined;
  if (recording) {
    const attributes: Attributes = {
      'db.system.name': 'postgresql',
      'db.operation.name': operation,
      'db.namespace': target.namespace,
      'db.query.text': text.length > 2000 ? `${text.slice(0, 2000)}…` : text,
    };
    if (target.address) attributes['server.address'] = target.address;
    if (target.port) attributes['server.port'] = target.port;
    span = tracer.startSpan(operation, { kind: SpanKind.CLIENT, attributes });
  }
  return new StatementReport(operation, observer, observer ? performance.now() : 0, span);
}

/** run() under report(): for the PGlite adapter and checked-out pg connections. */
async function traced<T>(
  target: SpanTarget,
  text: string,
  observer: QueryObserver | undefined,
  run: () => Promise<T>,
): Promise<T> {
  const statement = report(target, text, observer);
  try {
    const result = await run();
    statement.ok();
    return result;
  } catch (err) {
    statement.failed(err);
    throw err;
  }
}

/**
 * bigint counts fit in a number for anything this service stores; timestamptz values are read
 * without regular expressions (pg-timestamp.ts).
 */
const pgTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (format !== 'binary') {
      if (oid === 20) return (value: string) => Number(value);
      if (oid === 1184) return parseTimestamptzText;
    }
    return pg.types.getTypeParser(oid, format);
  },
};

const startedAt = Symbol('statement started at');
const timedOut = Symbol('statement timed out');
type WatchedClient = pg.ClientBase & { [startedAt]?: number; [timedOut]?: Error };
type StatementCallback = (err: Error | null, result?: pg.QueryResult) => void;

/**
 * The client-side bound on one statement (DatabaseOptions.queryTimeoutMs), kept without a timer or
 * a closure per statement. pg's own query_timeout arms a setTimeout for every statement; under load
 * those timers, with the query, its rows and the request waiting on them, outlived V8's
 * young-generation collections and were promoted: in the API that was most of the garbage
 * collector's work per request and an old generation growing by megabytes a second. Here a
 * statement only writes its start time (a number) on its connection, and one sweep a
 * fraction of the bound later ends each overdue statement: it fails with "Query read timeout" and
 * its connection is destroyed, which the pool then replaces.
 */
export class StatementWatchdog {
  readonly #timeoutMs: number;
  readonly #clients = new Set<WatchedClient>();
  #sweep: NodeJS.Timeout | undefined;

  constructor(timeoutMs: number) {
    this.#timeoutMs = timeoutMs;
  }

  /**
   * Runs one statement on client under the bound, in pg's callback form (see createPostgres);
   * callback gets "Query read timeout" when the bound ran out first.
   */
  run(
    client: pg.ClientBase,
    text: string,
    params: readonly unknown[] | undefined,
    callback: StatementCallback,
  ): void {
    const watched = client as WatchedClient;
    if (!this.#clients.has(watched)) {
      this.#clients.add(watched);
      watched.once('end', () => this.#clients.delete(watched));
    }
    this.#arm();
    // A number on the connection: nothing that could hold the statement or its caller.
    watched[startedAt] = Math.floor(performance.now()) + 1;
    watched.query(text, params as unknown[], (err: Error | null, result) => {
      watched[startedAt] = 0;
      const timeout = watched[timedOut];
      if (timeout) callback(timeout);
      else if (err) callback(err);
      else callback(null, result);
    });
  }

  /** How many connections are running a statement now. */
  get running(): number {
    let n = 0;
    for (const client of this.#clients) if (client[startedAt]) n++;
    return n;
  }

  close(): void {
    if (this.#sweep) clearInterval(this.#sweep);
    this.#sweep = undefined;
    this.#clients.clear();
  }

  #arm(): void {
    if (this.#sweep) return;
    const every = Math.max(10, Math.min(1000, Math.floor(this.#timeoutMs / 4)));
    this.#sweep = setInterval(() => this.#check(), every);
    this.#sweep.unref();
  }

  #check(): void {
    const now = Math.floor(performance.now()) + 1;
    for (const client of this.#clients) {
      const since = client[startedAt];
      if (!since || client[timedOut] || now - since < this.#timeoutMs) continue;
      client[timedOut] = new Error(
        `Query read timeout: the database did not answer within ${this.#timeoutMs} ms; the connection is closed`,
      );
      // The answer may never come (a dead peer, a cut network): only a new connection helps. pg
      // then fails the statement, and the caller gets the error above.
      (
        client as unknown as { connection?: { stream?: { destroy(): void } } }
      ).connection?.stream?.destroy();
      this.#clients.delete(client);
    }
    if (this.#clients.size === 0) this.close();
  }
}

function createPostgres(
  target: Extract<DatabaseTarget, { kind: 'postgres' }>,
  options: DatabaseOptions,
): Database {
  const { logger, onQuery } = options;
  const url = new URL(target.url);
  const spanTarget: SpanTarget = {
    namespace: decodeURIComponent(url.pathname.slice(1)) || 'postgres',
    address: url.hostname,
    port: Number(url.port || 5432),
  };
  // statement_timeout is not a start-up parameter: a transaction pooler (PgBouncer) refuses the
  // connection. The server decides per connection: the setting is made for the session only when
  // its backend is the one the connection announced (a direct connection); through a pooler,
  // where it would stay on whichever server connection ran it, transactions set it locally (and
  // a role setting covers single statements: docs/SCALING.md).
  const statementTimeout = options.statementTimeoutMs
    ? `${options.statementTimeoutMs}ms`
    : undefined;
  const pool = new pg.Pool({
    connectionString: target.url,
    application_name: options.applicationName,
    max: options.max ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
    idleTimeoutMillis: options.idleTimeoutMs ?? 30_000,
    keepAlive: true,
    types: pgTypes,
    ...(statementTimeout
      ? {
          onConnect: async (client: pg.ClientBase) => {
            await client.query(
              "SELECT CASE WHEN pg_backend_pid() = $1 THEN set_config('statement_timeout', $2, false) END",
              [(client as { processID?: number }).processID ?? 0, statementTimeout],
            );
          },
        }
      : {}),
  });
  const begin = statementTimeout
    ? `BEGIN; SET LOCAL statement_timeout = '${statementTimeout}'`
    : 'BEGIN';
  // An idle connection dropped by the server (restart, pg_terminate_backend) must not crash us:
  // pg-pool discards that client and the next checkout opens a new one.
  pool.on('error', (err) =>
    logger.warn({ err: { message: err.message } }, 'idle database connection lost'),
  );

  const watchdog = options.queryTimeoutMs
    ? new StatementWatchdog(options.queryTimeoutMs)
    : undefined;
  // The callback form of client.query: its promise form kept every query and its rows alive
  // through young-generation collections as well (see StatementWatchdog).
  const send = (
    client: pg.PoolClient,
    text: string,
    params: readonly unknown[] | undefined,
    callback: StatementCallback,
  ): void => {
    if (watchdog) watchdog.run(client, text, params, callback);
    else client.query(text, params as unknown[], (err: Error | null, r) => callback(err, r));
  };
  const run = (client: pg.PoolClient, text: string, params?: readonly unknown[]) =>
    new Promise<pg.QueryResult>((resolve, reject) => {
      send(client, text, params, (err, result) => (err ? reject(err) : resolve(result!)));
    });
  const lostWhileCheckedOut = (e: Error) =>
    logger.warn({ err: { message: e.message } }, 'database connection lost while checked out');

  // pg-pool hands a client over in a callback; its promise form resolves a tick later, and an error
  // the server sends in between (pg_terminate_backend, a restart) would find no listener and crash
  // the process. The callback form lets the listener be attached at once. release() gives the
  // client back, discarding it when it failed while checked out or err is given.
  const checkout = (): Promise<DbClient> =>
    new Promise((resolve, reject) => {
      pool.connect((err, client) => {
        if (err || !client) {
          reject(err ?? new Error('no database connection'));
          return;
        }
        let broken: Error | undefined;
        const onError = (e: Error) => {
          broken = e;
          lostWhileCheckedOut(e);
        };
        client.on('error', onError);
        // A statement the server refused leaves the connection usable; any other failure (lost
        // connection, client-side timeout) marks it broken, so release() discards it.
        const checked = (text: string, params?: readonly unknown[]) =>
          run(client, text, params).catch((e: unknown) => {
            if (!(e instanceof pg.DatabaseError)) broken ??= e as Error;
            throw e;
          });
        resolve({
          raw: { kind: 'postgres', client },
          query: <T>(text: string, params?: readonly unknown[]) =>
            traced(spanTarget, text, onQuery, async () => {
              const r = await checked(text, params);
              return { rows: r.rows as T[], rowCount: r.rowCount ?? 0 };
            }),
          exec: (sql: string) =>
            traced(spanTarget, sql, onQuery, async () => {
              await checked(sql);
            }),
          release(releaseErr?: Error | boolean) {
            client.removeListener('error', onError);
            client.release(releaseErr ?? broken ?? false);
          },
        });
      });
    });

  // One statement on a pooled connection, as pool.query does (checkout, statement and return in
  // callbacks, one promise for the caller), but under the watchdog and reported (report()). A
  // connection that failed (not a statement the server refused) is discarded, not reused; one
  // lost while the statement runs is also logged, as in a transaction.
  const single = (
    text: string,
    params: readonly unknown[] | undefined,
    callback: StatementCallback,
  ): void => {
    const statement = report(spanTarget, text, onQuery);
    pool.connect((err, client) => {
      if (err || !client) {
        const e = err ?? new Error('no database connection');
        statement.failed(e);
        callback(e);
        return;
      }
      client.on('error', lostWhileCheckedOut);
      send(client, text, params, (queryErr, result) => {
        client.removeListener('error', lostWhileCheckedOut);
        client.release(queryErr && !(queryErr instanceof pg.DatabaseError) ? queryErr : undefined);
        if (queryErr) statement.failed(queryErr);
        else statement.ok();
        callback(queryErr, result);
      });
    });
  };

  return {
    kind: 'postgres',
    display: target.display,
    query: <T>(text: string, params?: readonly unknown[]) =>
      new Promise<QueryResult<T>>((resolve, reject) => {
        single(text, params, (err, r) =>
          err ? reject(err) : resolve({ rows: r!.rows as T[], rowCount: r!.rowCount ?? 0 }),
        );
      }),
    exec: (sql: string) =>
      new Promise<void>((resolve, reject) => {
        single(sql, undefined, (err) => (err ? reject(err) : resolve()));
      }),
    connect: checkout,
    async transaction<T>(fn: (tx: DbClient) => Promise<T>): Promise<T> {
      const client = await checkout();
      try {
        await client.exec(begin);
        const result = await fn(client);
        await client.query('COMMIT');
        client.release();
        return result;
      } catch (err) {
        // An error of the caller's (a refused cancel, a 404) or a statement the server refused
        // leaves a healthy connection once rolled back: it goes back to the pool. Only a
        // connection that broke (release() knows) or cannot roll back is discarded.
        const rollback = await client.query('ROLLBACK').then(
          () => undefined,
          (e: unknown) => (e instanceof Error ? e : new Error(String(e))),
        );
        client.release(rollback);
        throw err;
      }
    },
    async listen(channel, onMessage) {
      return listenPostgres(target.url, options, channel, onMessage);
    },
    stats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
    close: () => {
      watchdog?.close();
      return pool.end();
    },
  };
}

/**
 * LISTEN on a connection of its own outside the pool, reconnecting with backoff when the
 * connection drops. Notifications lost while disconnected are reported as one '*' payload, so a
 * listener that caches can drop everything.
 */
async function listenPostgres(
  url: string,
  options: DatabaseOptions,
  channel: string,
  onMessage: (payload: string) => void,
): Promise<() => Promise<void>> {
  const { logger } = options;
  let client: pg.Client | undefined;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let delay = 250;
  const quoted = `"${channel.replaceAll('"', '""')}"`;

  const open = async (): Promise<void> => {
    const c = new pg.Client({
      connectionString: url,
      application_name: `${options.applicationName}-listen`,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
      keepAlive: true,
    });
    c.on('notification', (msg) => {
      if (msg.channel === channel) onMessage(msg.payload ?? '');
    });
    c.on('error', (err) => {
      logger.warn({ err: { message: err.message }, channel }, 'notification connection lost');
      retry(c);
    });
    c.on('end', () => retry(c));
    await c.connect();
    await c.query(`LISTEN ${quoted}`);
    client = c;
    delay = 250;
  };

  const retry = (failed: pg.Client) => {
    if (stopped || client !== failed || timer) return;
    client = undefined;
    failed.end().catch(() => undefined);
    const reconnect = () => {
      timer = undefined;
      if (stopped) return;
      open()
        .then(() => onMessage('*'))
        .catch((err: Error) => {
          logger.warn(
            { err: { message: err.message }, channel },
            'notification connection retry failed',
          );
          delay = Math.min(delay * 2, 5000);
          timer = setTimeout(reconnect, delay);
          timer.unref();
        });
    };
    timer = setTimeout(reconnect, delay);
    timer.unref();
  };

  await open();
  return async () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    await client?.end().catch(() => undefined);
  };
}

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

async function createPGlite(
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

export async function createDatabase(
  target: DatabaseTarget,
  options: DatabaseOptions,
): Promise<Database> {
  return target.kind === 'postgres'
    ? createPostgres(target, options)
    : createPGlite(target, options);
}
