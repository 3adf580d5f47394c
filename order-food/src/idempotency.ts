import { createHash } from 'node:crypto';
import type { Database, Queryable } from '@order-food/platform/database';
import { conflict, HttpProblem, unauthorized } from './problem.js';

/** How long a request holds its key; a holder that died is taken over after this. */
const lockSeconds = 30;

export type Claim =
  | { kind: 'owned'; fence: string }
  | { kind: 'replay'; status: number; body: unknown };

/** Same items in the same order give the same hash, whatever the JSON spelling. */
export function requestHash(route: string, canonical: unknown): string {
  return createHash('sha256')
    .update(route)
    .update('\n')
    .update(JSON.stringify(canonical))
    .digest('hex');
}

/**
 * A claim commits on its own with synchronous_commit off: a claim lost in a crash only lets the
 * retry claim again, and the order's durable commit flushes it anyway. One disk flush per order
 * instead of two. set_config(..., true) ends with the statement's transaction (pooler-safe).
 */
const asyncCommit = `async_commit AS MATERIALIZED (SELECT set_config('synchronous_commit', 'off', true))`;

function inFlight(): HttpProblem {
  return new HttpProblem(
    409,
    'a request with this Idempotency-Key is still being processed; retry shortly',
    {
      type: 'idempotency-key-in-flight',
      headers: { 'retry-after': '1' },
    },
  );
}

/**
 * Stripe's Idempotency-Key semantics: the first request claims the key; a repeat with the same body
 * gets the stored response, with another body 422, while the first runs 409. A dead request's claim
 * is taken over once its lock expires; the fence (locked_until) proves at completion it is ours.
 */
export async function claimKey(
  db: Database,
  userId: string,
  key: string,
  hash: string,
): Promise<Claim> {
  for (let attempt = 0; attempt < 3; attempt++) {
    let inserted: { fence: string }[];
    try {
      ({ rows: inserted } = await db.query<{ fence: string }>(
        `WITH ${asyncCommit}
         INSERT INTO idempotency_keys (user_id, key, request_hash, locked_until)
         SELECT $1::uuid, $2::text, $3::text, now() + make_interval(secs => $4::int) FROM async_commit
         ON CONFLICT (user_id, key) DO NOTHING
         RETURNING locked_until::text AS fence`,
        [userId, key, hash, lockSeconds],
      ));
    } catch (err) {
      if ((err as { code?: string }).code === '23503')
        throw unauthorized('the user of this token no longer exists');
      throw err;
    }
    if (inserted[0]) return { kind: 'owned', fence: inserted[0].fence };

    const { rows } = await db.query<{
      request_hash: string;
      state: 'in_flight' | 'completed';
      response_status: number | null;
      response_body: unknown;
      locked: boolean;
    }>(
      `SELECT request_hash, state, response_status, response_body, locked_until > now() AS locked
       FROM idempotency_keys WHERE user_id = $1 AND key = $2`,
      [userId, key],
    );
    const row = rows[0];
    if (!row) continue; // released between our insert and read: claim again
    if (row.request_hash !== hash) {
      throw new HttpProblem(
        422,
        'this Idempotency-Key was used with a different request body; use a new key for a new request',
        { type: 'idempotency-key-reused' },
      );
    }
    if (row.state === 'completed')
      return { kind: 'replay', status: row.response_status ?? 200, body: row.response_body };
    if (row.locked) throw inFlight();
    const { rows: taken } = await db.query<{ fence: string }>(
      `WITH ${asyncCommit}
       UPDATE idempotency_keys SET locked_until = now() + make_interval(secs => $3::int)
       FROM async_commit
       WHERE user_id = $1 AND key = $2 AND state = 'in_flight' AND locked_until <= now()
       RETURNING locked_until::text AS fence`,
      [userId, key, lockSeconds],
    );
    if (taken[0]) return { kind: 'owned', fence: taken[0].fence };
    throw inFlight();
  }
  throw inFlight();
}

/** Stores the response with the claim, in the transaction that made it, so both commit or neither. */
export async function completeKey(
  tx: Queryable,
  userId: string,
  key: string,
  fence: string,
  status: number,
  body: unknown,
  orderId: string,
): Promise<void> {
  const { rowCount } = await tx.query(
    `UPDATE idempotency_keys
     SET state = 'completed', response_status = $4, response_body = $5::jsonb, order_id = $6, completed_at = now()
     WHERE user_id = $1 AND key = $2 AND state = 'in_flight' AND locked_until = $3::timestamptz`,
    [userId, key, fence, status, JSON.stringify(body), orderId],
  );
  if (rowCount !== 1) {
    throw conflict(
      'this request took too long and its Idempotency-Key was taken over by a retry; its order was not placed',
      'idempotency-key-taken-over',
    );
  }
}

/** Gives the key up after a failure, so the client can retry with it. */
export async function releaseKey(
  db: Queryable,
  userId: string,
  key: string,
  fence: string,
): Promise<void> {
  await db.query(
    `DELETE FROM idempotency_keys
     WHERE user_id = $1 AND key = $2 AND state = 'in_flight' AND locked_until = $3::timestamptz`,
    [userId, key, fence],
  );
}
