import { context, trace } from '@opentelemetry/api';
import type { DbClient } from './database.js';
import { OperationalError } from './errors.js';
import type { Logger } from './logger.js';

/** An advisory lock that every runner of one kind serializes on. */
export interface AdvisoryLock {
  /** The two int4 keys of pg_advisory_lock. */
  readonly key: readonly [number, number];
  /** How messages name it, e.g. 'migration lock'. */
  readonly name: string;
  /** The variable that bounds the wait, named when the wait runs out. */
  readonly timeoutVariable: string;
}

export interface LockOptions {
  timeoutMs: number;
  logger: Logger;
  /** First pause between attempts; grows to maxDelayMs. */
  initialDelayMs?: number;
  maxDelayMs?: number;
  /**
   * Take it for the current transaction only (pg_try_advisory_xact_lock): it ends with the
   * transaction, so it works through a transaction pooler and never outlives its work.
   */
  transaction?: boolean;
}

export interface LockAcquired {
  attempts: number;
  waitedMs: number;
}

interface Holder {
  pid: number;
  application: string | null;
}

/** Polls go untraced: a long wait would otherwise leave hundreds of one-row spans. */
function untraced<T>(fn: () => Promise<T>): Promise<T> {
  return context.with(trace.deleteSpan(context.active()), fn);
}

async function holderOf(client: DbClient, key: readonly [number, number]): Promise<Holder | null> {
  try {
    const { rows } = await untraced(() =>
      client.query<Holder>(
        `SELECT l.pid, a.application_name AS application
           FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid
          WHERE l.locktype = 'advisory' AND l.granted AND l.classid = $1 AND l.objid = $2
            AND l.objsubid = 2
            AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
          LIMIT 1`,
        [key[0], key[1]],
      ),
    );
    return rows[0] ?? null;
  } catch {
    return null;
  }
}

function describeHolder(holder: Holder | null): string {
  if (!holder) return 'another session';
  return `pid ${holder.pid}${holder.application ? ` (${holder.application})` : ''}`;
}

/**
 * Takes the session-level advisory lock on this connection, polling pg_try_advisory_lock with a
 * growing pause until timeoutMs: long enough for another runner to finish, never forever. The lock
 * lives as long as the session, so it must be taken on a connection held for the whole run.
 */
export async function acquireAdvisoryLock(
  client: DbClient,
  lock: AdvisoryLock,
  options: LockOptions,
): Promise<LockAcquired> {
  const { timeoutMs, logger } = options;
  const { key } = lock;
  const maxDelay = options.maxDelayMs ?? 2000;
  let delay = options.initialDelayMs ?? 100;
  const started = Date.now();
  let nextReport = 0;
  for (let attempts = 1; ; attempts++) {
    const { rows } = await untraced(() =>
      client.query<{ locked: boolean }>(
        options.transaction
          ? 'SELECT pg_try_advisory_xact_lock($1, $2) AS locked'
          : 'SELECT pg_try_advisory_lock($1, $2) AS locked',
        [key[0], key[1]],
      ),
    );
    const waitedMs = Date.now() - started;
    if (rows[0]?.locked) return { attempts, waitedMs };
    if (waitedMs >= timeoutMs) {
      const holder = await holderOf(client, key);
      throw new OperationalError(
        `gave up waiting for the ${lock.name} after ${Math.round(timeoutMs / 1000)}s (${lock.timeoutVariable}): ${describeHolder(holder)} still holds it; another run may still be working or hung`,
      );
    }
    if (waitedMs >= nextReport) {
      const holder = await holderOf(client, key);
      logger.info(
        { waitedMs, holderPid: holder?.pid ?? null },
        `waiting for the ${lock.name} held by ${describeHolder(holder)}`,
      );
      nextReport = waitedMs + 10_000;
    }
    const jittered = delay * (0.75 + Math.random() * 0.5);
    await new Promise((resolve) =>
      setTimeout(resolve, Math.min(jittered, Math.max(0, timeoutMs - waitedMs))),
    );
    delay = Math.min(delay * 1.5, maxDelay);
  }
}

/** Releases the lock; false when this session did not hold it. */
export async function releaseAdvisoryLock(client: DbClient, lock: AdvisoryLock): Promise<boolean> {
  const { key } = lock;
  const { rows } = await client.query<{ released: boolean }>(
    'SELECT pg_advisory_unlock($1, $2) AS released',
    [key[0], key[1]],
  );
  return rows[0]?.released === true;
}
