import type { Queryable } from '@order-food/platform/database';
import { OperationalError } from '@order-food/platform/errors';
import { readSchemaVersion } from '@order-food/platform/schema';

/** The schema version this loader was written for: 0003 adds its file_manifest column. */
export const requiredSchemaVersion = 3;

/** Refuses to go on when the migrations this loader needs have not been applied. */
export async function requireSchema(db: Queryable): Promise<number> {
  const { version } = await readSchemaVersion(db);
  if (version === null || version < requiredSchemaVersion) {
    throw new OperationalError(
      `the database schema is at version ${version ?? 'none (no migrations applied)'}, database-load needs version ${requiredSchemaVersion} or later: run database-migration first`,
    );
  }
  return version;
}
