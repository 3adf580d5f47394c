import { context, trace } from '@opentelemetry/api';
import type { DbClient } from '@order-food/platform/database';
import { OperationalError } from '@order-food/platform/errors';
import type { Logger } from '@order-food/platform/logger';

/** The two-key advisory lock all loaders of one database serialize on ('OFLD', 1). */
export const loadLockKey: readonly [number, number] = [0x4f464c44, 1];

/** Polls go untraced: a long wait would otherwise leave hundreds of one-row spans. */
function untraced<T>(fn: () => Promise<T>): Promise<T> {
  return context.with(trace.deleteSpan(context.active()), fn);
}

export interface LockOptions {
  timeoutMs: number;
  logger: Logger;
  /** How often to try again while another loader holds the lock. */
  pollMs?: number;
}

/**
 * Takes the loader's session-level advisory lock on client, trying until timeoutMs. Polling with
 * pg_try_advisory_lock keeps the wait bounded without holding a lock_timeout on the session.
 * Returns the function that releases it.
 */
export async function acquireLoadLock(
  client: DbClient,
  options: LockOptions,
): Promise<() => Promise<void>> {
  const started = Date.now();
  const poll = options.pollMs ?? 200;
  let logged = false;
  for (;;) {
    const r = await untraced(() =>
      client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS locked', [
        ...loadLockKey,
      ]),
    );
    if (r.rows[0]?.locked) {
      if (logged)
        options.logger.info({ waitedMs: Date.now() - started }, 'took the data load lock');
      return async () => {
        await client.query('SELECT pg_advisory_unlock($1, $2)', [...loadLockKey]);
      };
    }
    const elapsed = Date.now() - started;
    if (elapsed >= options.timeoutMs) {
      throw new OperationalError(
        `another database-load held the data load lock for ${Math.round(elapsed / 1000)}s (LOAD_LOCK_TIMEOUT is ${Math.round(options.timeoutMs / 1000)}s); try again, or raise LOAD_LOCK_TIMEOUT for very large data sets`,
      );
    }
    if (!logged) {
      options.logger.info('another database-load is running; waiting for its lock');
      logged = true;
    }
    await new Promise((resolve) =>
      setTimeout(resolve, Math.min(poll, options.timeoutMs - elapsed)),
    );
  }
}
