import type { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import type { DatabaseTarget } from './config.js';
import type { Logger } from './logger.js';
import { createPGlite } from './pglite.js';
import { report, type SpanTarget, traced } from './statement-report.js';
import { type StatementCallback, StatementWatchdog } from './statement-watchdog.js';

export { operationOf } from './statement-report.js';

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

/** bigint counts fit in a number for anything this service stores. */
const pgTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === 20 && format !== 'binary') return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format);
  },
};

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

  // The client-side bound without pg's query_timeout, whose timer per statement kept each query
  // and its rows alive into the old generation (bench/findings.md: the statement watchdog).
  const watchdog = options.queryTimeoutMs
    ? new StatementWatchdog(options.queryTimeoutMs)
    : undefined;
  // The callback form of client.query: its promise form kept every query and its rows alive
  // through young-generation collections.
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
  // callbacks, one promise for the caller), but reported (report()). A
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

export async function createDatabase(
  target: DatabaseTarget,
  options: DatabaseOptions,
): Promise<Database> {
  return target.kind === 'postgres'
    ? createPostgres(target, options)
    : createPGlite(target, options);
}
