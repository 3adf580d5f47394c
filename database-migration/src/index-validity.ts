import type { Queryable } from '@order-food/platform/database';
import { OperationalError } from '@order-food/platform/errors';
import type { Logger } from '@order-food/platform/logger';

interface IndexState {
  name: string;
  exists: boolean;
  valid: boolean;
}

async function indexState(client: Queryable, name: string): Promise<IndexState> {
  const { rows } = await client.query<{ valid: boolean | null }>(
    'SELECT (SELECT i.indisvalid FROM pg_index i WHERE i.indexrelid = to_regclass($1)) AS valid',
    [name],
  );
  const valid = rows[0]?.valid ?? null;
  return { name, exists: valid !== null, valid: valid === true };
}

/**
 * CREATE INDEX CONCURRENTLY that fails (a duplicate for a unique index, a cancel, a timeout)
 * leaves an invalid index that queries never use but writes still maintain. Each one named by the
 * file is checked; a missing or invalid one fails the migration.
 */
export async function verifyIndexes(
  client: Queryable,
  names: readonly string[],
  fileName: string,
): Promise<void> {
  for (const name of names) {
    const state = await indexState(client, name);
    if (!state.exists)
      throw new OperationalError(
        `${fileName}: index ${name} does not exist after the migration ran`,
      );
    if (!state.valid)
      throw new OperationalError(
        `${fileName}: index ${name} came out invalid (pg_index.indisvalid is false); the next run drops and builds it again`,
      );
  }
}

/**
 * Drops the invalid leftovers of an earlier failed attempt at the same file, so its CREATE INDEX
 * (with or without IF NOT EXISTS) builds them afresh. Runs under the migration lock, so no other
 * runner is building them right now.
 */
export async function dropInvalidIndexes(
  client: Queryable,
  names: readonly string[],
  logger: Logger,
): Promise<void> {
  for (const name of names) {
    const state = await indexState(client, name);
    if (state.exists && !state.valid) {
      logger.warn({ index: name }, `dropping invalid index ${name} left by a failed build`);
      await client.exec(`DROP INDEX CONCURRENTLY IF EXISTS ${name}`);
    }
  }
}
