import { randomUUID } from 'node:crypto';
import { context, trace } from '@opentelemetry/api';
import type { AdvisoryLock, LockAcquired, LockOptions } from './advisory-lock.js';
import type { Database, Queryable } from './database.js';
import { describeError, OperationalError } from './errors.js';

/**
 * A lock with no session, for runners behind a transaction pooler: a row with owner and expiry,
 * renewed while the owner runs; a dead holder's row is taken over after one lease. fence(), in the
 * work's own transaction, renews it under a row lock and fails when the lease was lost.
 */
export const leaseTable = 'init_lock_leases';

const leaseDdl = `CREATE TABLE IF NOT EXISTS ${leaseTable} (
  name         text PRIMARY KEY,
  owner        text NOT NULL,
  acquired_at  timestamptz NOT NULL,
  expires_at   timestamptz NOT NULL
)`;

export interface LeaseOptions extends LockOptions {
  /** How long the lease lasts without renewal: the most a dead holder delays the next runner. */
  leaseMs: number;
  /** Who holds it, as other runners' messages name it (e.g. the pod name). */
  holder: string;
  /** The variable that sets leaseMs, named when the lease is lost. */
  leaseVariable: string;
}

export interface Lease extends LockAcquired {
  readonly owner: string;
  /** In a transaction of the guarded work: renews the lease or throws when it was lost. */
  fence(tx: Queryable): Promise<void>;
  release(): Promise<void>;
}

function untraced<T>(fn: () => Promise<T>): Promise<T> {
  return context.with(trace.deleteSpan(context.active()), fn);
}

export async function acquireLease(
  db: Database,
  lock: AdvisoryLock,
  options: LeaseOptions,
): Promise<Lease> {
  const { timeoutMs, logger, leaseMs } = options;
  // Concurrent CREATE TABLE IF NOT EXISTS can collide in the catalog: serialize the first ones
  // with a lock that ends with their transaction (which a transaction pooler keeps on one server).
  await db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1, $2)', [lock.key[0], lock.key[1]]);
    await tx.exec(leaseDdl);
  });
  const owner = `${options.holder} pid ${process.pid} ${randomUUID()}`;
  const maxDelay = options.maxDelayMs ?? 2000;
  let delay = options.initialDelayMs ?? 100;
  const started = Date.now();
  let nextReport = 0;
  let attempts = 1;
  for (; ; attempts++) {
    const { rows } = await untraced(() =>
      db.query<{ owner: string }>(
        `INSERT INTO ${leaseTable} AS l (name, owner, acquired_at, expires_at)
         VALUES ($1, $2, clock_timestamp(), clock_timestamp() + $3 * interval '1 millisecond')
         ON CONFLICT (name) DO UPDATE SET owner = EXCLUDED.owner,
           acquired_at = EXCLUDED.acquired_at, expires_at = EXCLUDED.expires_at
         WHERE l.expires_at < clock_timestamp()
         RETURNING owner`,
        [lock.name, owner, leaseMs],
      ),
    );
    const waitedMs = Date.now() - started;
    if (rows[0]?.owner === owner) break;
    const holder = async () => {
      const r = await db
        .query<{ owner: string; left_ms: number }>(
          `SELECT owner, greatest(0, round(extract(epoch FROM expires_at - clock_timestamp()) * 1000))::int AS left_ms
             FROM ${leaseTable} WHERE name = $1`,
          [lock.name],
        )
        .catch(() => ({ rows: [] }));
      const h = r.rows[0];
      return h
        ? `${h.owner} (lease ends in ${Math.ceil(h.left_ms / 1000)}s unless renewed)`
        : 'another runner';
    };
    if (waitedMs >= timeoutMs) {
      throw new OperationalError(
        `gave up waiting for the ${lock.name} after ${Math.round(timeoutMs / 1000)}s (${lock.timeoutVariable}): ${await holder()} still holds it; another run may still be working`,
      );
    }
    if (waitedMs >= nextReport) {
      logger.info({ waitedMs }, `waiting for the ${lock.name} held by ${await holder()}`);
      nextReport = waitedMs + 10_000;
    }
    const jittered = delay * (0.75 + Math.random() * 0.5);
    await new Promise((resolve) =>
      setTimeout(resolve, Math.min(jittered, Math.max(0, timeoutMs - waitedMs))),
    );
    delay = Math.min(delay * 1.5, maxDelay);
  }
  const waitedMs = Date.now() - started;

  let lost = false;
  const renewSql = `UPDATE ${leaseTable} SET expires_at = clock_timestamp() + $3 * interval '1 millisecond'
                     WHERE name = $1 AND owner = $2`;
  const renew = setInterval(
    () => {
      untraced(() => db.query(renewSql, [lock.name, owner, leaseMs])).then(
        (r) => {
          if (r.rowCount === 0 && !lost) {
            lost = true;
            logger.error(
              `the ${lock.name} was taken over: its lease ran out before it was renewed`,
            );
          }
        },
        (err: unknown) =>
          logger.warn({ error: describeError(err) }, `could not renew the ${lock.name} lease`),
      );
    },
    Math.max(100, Math.floor(leaseMs / 3)),
  );
  renew.unref();

  return {
    owner,
    attempts,
    waitedMs,
    async fence(tx) {
      const r = await tx.query(renewSql, [lock.name, owner, leaseMs]);
      if (r.rowCount === 0) {
        lost = true;
        throw new OperationalError(
          `lost the ${lock.name}: its lease ran out and another runner took it over; nothing more was applied (raise ${options.leaseVariable} if this process pauses for long)`,
        );
      }
    },
    async release() {
      clearInterval(renew);
      await db.query(`DELETE FROM ${leaseTable} WHERE name = $1 AND owner = $2`, [
        lock.name,
        owner,
      ]);
    },
  };
}
