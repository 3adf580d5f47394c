import type { Queryable } from '@order-food/platform/database';
import { migrationHistoryTable } from '@order-food/platform/schema';

export const runsTable = 'schema_migration_runs';
/** Every attempt at every version, appended: the successes and the failures that rolled back. */
export const attemptsTable = 'schema_migration_attempts';

/** Created by the runner while it holds the advisory lock, so two runners never race on it. */
const historyDdl = `
CREATE TABLE IF NOT EXISTS ${migrationHistoryTable} (
  version          integer PRIMARY KEY,
  name             text NOT NULL,
  checksum         text NOT NULL,
  applied_at       timestamptz NOT NULL DEFAULT now(),
  execution_ms     integer NOT NULL,
  success          boolean NOT NULL,
  applied_by       text NOT NULL,
  service_version  text NOT NULL,
  trace_id         text
);
CREATE TABLE IF NOT EXISTS ${runsTable} (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  started_at       timestamptz NOT NULL,
  finished_at      timestamptz NOT NULL,
  duration_ms      integer NOT NULL,
  success          boolean NOT NULL,
  applied_count    integer NOT NULL,
  applied_by       text NOT NULL,
  service_version  text NOT NULL,
  trace_id         text,
  error            text
);
CREATE TABLE IF NOT EXISTS ${attemptsTable} (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  version          integer NOT NULL,
  name             text NOT NULL,
  checksum         text NOT NULL,
  attempted_at     timestamptz NOT NULL DEFAULT now(),
  execution_ms     integer NOT NULL,
  success          boolean NOT NULL,
  applied_by       text NOT NULL,
  service_version  text NOT NULL,
  trace_id         text
);`;

export interface HistoryEntry {
  version: number;
  name: string;
  checksum: string;
  appliedAt: Date;
  executionMs: number;
  /** false: the last attempt failed and was rolled back; the version is still pending. */
  success: boolean;
  appliedBy: string;
  serviceVersion: string;
  traceId: string | null;
}

export interface Provenance {
  appliedBy: string;
  serviceVersion: string;
  traceId: string | null;
}

export async function ensureHistoryTables(db: Queryable): Promise<void> {
  await db.exec(historyDdl);
}

export async function historyExists(db: Queryable): Promise<boolean> {
  const { rows } = await db.query<{ present: boolean }>(
    `SELECT to_regclass('${migrationHistoryTable}') IS NOT NULL AS present`,
  );
  return rows[0]?.present === true;
}

/** Every recorded version, ascending; empty when the history table does not exist yet. */
export async function readHistory(db: Queryable): Promise<HistoryEntry[]> {
  if (!(await historyExists(db))) return [];
  const { rows } = await db.query<HistoryEntry>(
    `SELECT version, name, checksum, applied_at AS "appliedAt", execution_ms AS "executionMs",
            success, applied_by AS "appliedBy", service_version AS "serviceVersion",
            trace_id AS "traceId"
       FROM ${migrationHistoryTable} ORDER BY version`,
  );
  return rows.map((r) => ({ ...r, appliedAt: new Date(r.appliedAt) }));
}

/**
 * Records one attempt at a version, a success or a failure whose changes were rolled back: it is
 * appended to the attempts, and becomes the version's row unless a success is already there (a
 * success is never overwritten, not even by a runner that raced it and failed).
 */
export async function recordMigration(
  db: Queryable,
  entry: {
    version: number;
    name: string;
    checksum: string;
    executionMs: number;
    success: boolean;
  } & Provenance,
): Promise<void> {
  await db.query(
    `WITH attempt AS (
       INSERT INTO ${attemptsTable}
         (version, name, checksum, execution_ms, success, applied_by, service_version, trace_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8))
     INSERT INTO ${migrationHistoryTable}
       (version, name, checksum, applied_at, execution_ms, success, applied_by, service_version, trace_id)
     VALUES ($1, $2, $3, now(), $4, $5, $6, $7, $8)
     ON CONFLICT (version) DO UPDATE SET
       name = EXCLUDED.name, checksum = EXCLUDED.checksum, applied_at = EXCLUDED.applied_at,
       execution_ms = EXCLUDED.execution_ms, success = EXCLUDED.success,
       applied_by = EXCLUDED.applied_by, service_version = EXCLUDED.service_version,
       trace_id = EXCLUDED.trace_id
     WHERE NOT ${migrationHistoryTable}.success`,
    [
      entry.version,
      entry.name,
      entry.checksum,
      Math.round(entry.executionMs),
      entry.success,
      entry.appliedBy,
      entry.serviceVersion,
      entry.traceId,
    ],
  );
}

export async function recordRun(
  db: Queryable,
  run: {
    startedAt: Date;
    finishedAt: Date;
    success: boolean;
    appliedCount: number;
    error: string | null;
  } & Provenance,
): Promise<void> {
  await db.query(
    `INSERT INTO ${runsTable}
       (started_at, finished_at, duration_ms, success, applied_count, applied_by, service_version,
        trace_id, error)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [
      run.startedAt.toISOString(),
      run.finishedAt.toISOString(),
      run.finishedAt.getTime() - run.startedAt.getTime(),
      run.success,
      run.appliedCount,
      run.appliedBy,
      run.serviceVersion,
      run.traceId,
      run.error,
    ],
  );
}

export interface RunRow {
  id: number;
  startedAt: string;
  durationMs: number;
  success: boolean;
  appliedCount: number;
  appliedBy: string;
  traceId: string | null;
  error: string | null;
}

/** The latest runs, newest first; empty before the first run made the table. */
export async function readRecentRuns(db: Queryable, limit: number): Promise<RunRow[]> {
  const { rows: present } = await db.query<{ present: boolean }>(
    `SELECT to_regclass('${runsTable}') IS NOT NULL AS present`,
  );
  if (present[0]?.present !== true) return [];
  const { rows } = await db.query<RunRow>(
    `SELECT id::int AS id,
            to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "startedAt",
            duration_ms AS "durationMs", success, applied_count AS "appliedCount",
            applied_by AS "appliedBy", trace_id AS "traceId", error
       FROM ${runsTable} ORDER BY started_at DESC, id DESC LIMIT $1`,
    [limit],
  );
  return rows;
}
