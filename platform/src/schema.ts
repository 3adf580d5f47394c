import type { Queryable } from './database.js';

/** The table where database-migration records every applied migration. */
export const migrationHistoryTable = 'schema_migrations';

export interface SchemaVersion {
  /** The highest successfully applied migration, or null when none (or no history table yet). */
  readonly version: number | null;
}

/**
 * The schema version of the database, read from database-migration's history: programs that need
 * a schema refuse to start (or report not ready) below the version they were built for.
 */
export async function readSchemaVersion(db: Queryable): Promise<SchemaVersion> {
  const { rows: present } = await db.query<{ present: boolean }>(
    `SELECT to_regclass('${migrationHistoryTable}') IS NOT NULL AS present`,
  );
  if (!present[0]?.present) return { version: null };
  const { rows } = await db.query<{ version: number | null }>(
    `SELECT max(version) AS version FROM ${migrationHistoryTable} WHERE success`,
  );
  return { version: rows[0]?.version ?? null };
}
