import type { Queryable } from '@order-food/platform/database';
import { OperationalError } from '@order-food/platform/errors';
import { requiredSchemaVersion } from '@order-food/platform/model';
import { readSchemaVersion } from '@order-food/platform/schema';

const required = requiredSchemaVersion['database-load'];

/** Refuses to go on when the migrations this loader needs have not been applied. */
export async function requireSchema(db: Queryable): Promise<number> {
  const { version } = await readSchemaVersion(db);
  if (version === null || version < required) {
    throw new OperationalError(
      `the database schema is at version ${version ?? 'none (no migrations applied)'}, database-load needs version ${required} or later: run database-migration first`,
    );
  }
  return version;
}
