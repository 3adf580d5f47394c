import { trace } from '@opentelemetry/api';
import type { Database } from './database.js';
import { describeError, OperationalError } from './errors.js';
import type { Logger } from './logger.js';
import { inSpan } from './span.js';

const tracer = trace.getTracer('@order-food/platform');

const badCredentials = {
  failed: 'cannot log in to the database',
  advice: 'check the credentials in DATABASE_URL',
};

/**
 * Errors that waiting cannot fix, with what the operator should do: a wrong password or an
 * unknown role, a database that does not exist. They fail at once instead of costing the whole
 * DB_WAIT_TIMEOUT.
 */
const fatalStates = new Map<string, { failed: string; advice: string }>([
  ['28P01', badCredentials],
  ['28000', badCredentials],
  [
    '3D000',
    {
      failed: 'cannot connect to the database',
      advice: 'create that database or correct the database name in DATABASE_URL',
    },
  ],
]);

export interface WaitOptions {
  timeoutMs: number;
  logger: Logger;
  /** First delay between attempts; doubles up to maxDelayMs. */
  initialDelayMs?: number;
  maxDelayMs?: number;
}

/**
 * Waits until the database answers a query, retrying with capped exponential backoff until
 * timeoutMs; then fails with one clear message. Returns the number of attempts made.
 */
export async function waitForDatabase(db: Database, options: WaitOptions): Promise<number> {
  const { timeoutMs, logger } = options;
  const maxDelay = options.maxDelayMs ?? 5000;
  let delay = options.initialDelayMs ?? 250;
  const started = Date.now();
  return inSpan(tracer, 'db.wait', {}, async (span) => {
    let attempt = 0;
    try {
      for (;;) {
        attempt++;
        try {
          await db.query('SELECT 1');
          if (attempt > 1)
            logger.info({ attempt, waitedMs: Date.now() - started }, 'database answered');
          span.setAttribute('db.wait.attempts', attempt);
          return attempt;
        } catch (err) {
          const code = (err as { code?: string }).code;
          const fatal = code === undefined ? undefined : fatalStates.get(code);
          if (fatal) {
            throw new OperationalError(
              `${fatal.failed} at ${db.display}: ${describeError(err)}; ${fatal.advice}`,
            );
          }
          const elapsed = Date.now() - started;
          const remaining = timeoutMs - elapsed;
          if (remaining <= 0) {
            throw new OperationalError(
              `database at ${db.display} did not answer within ${Math.round(timeoutMs / 1000)}s (DB_WAIT_TIMEOUT), ${attempt} attempts; last error: ${describeError(err)}; check DATABASE_URL and that PostgreSQL is running`,
            );
          }
          const wait = Math.min(delay, remaining);
          logger.warn(
            { attempt, retryInMs: wait, error: describeError(err) },
            'database not reachable yet, retrying',
          );
          await new Promise((resolve) => setTimeout(resolve, wait));
          delay = Math.min(delay * 2, maxDelay);
        }
      }
    } finally {
      span.setAttribute('db.wait.attempts', attempt);
    }
  });
}
