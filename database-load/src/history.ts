import type { Queryable } from '@order-food/platform/database';

export type LoadMode = 'insert' | 'upsert';
export type Outcome = 'loaded' | 'skipped' | 'failed';
export const tables = ['products', 'users', 'orders', 'order_items'] as const;
export type TableName = (typeof tables)[number];

export interface TableCounts {
  inserted: number;
  skipped: number;
  updated: number;
}

export type Counts = Record<TableName, TableCounts>;

export function emptyCounts(): Counts {
  return Object.fromEntries(
    tables.map((t) => [t, { inserted: 0, skipped: 0, updated: 0 }]),
  ) as Counts;
}

export interface HistoryEntry {
  hash: string;
  dataDir: string;
  /** The files' quick-check manifest (see manifestOf), when they were settled enough to trust it. */
  manifest: string | undefined;
  mode: LoadMode;
  outcome: Outcome;
  counts: Counts;
  startedAt: Date;
  finishedAt: Date;
  durationMs: number;
  appliedBy: string;
  serviceVersion: string;
  traceId: string | undefined;
  error: string | undefined;
}

export interface HistoryRow {
  id: number;
  datasetHash: string;
  dataDir: string;
  mode: LoadMode;
  outcome: Outcome;
  rowsInserted: number;
  rowsSkipped: number;
  rowsUpdated: number;
  tableCounts: Counts;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  appliedBy: string;
  serviceVersion: string;
  traceId: string | null;
  error: string | null;
}

function total(counts: Counts, key: keyof TableCounts): number {
  return tables.reduce((sum, t) => sum + counts[t][key], 0);
}

export async function recordRun(db: Queryable, e: HistoryEntry): Promise<number> {
  const r = await db.query<{ id: number }>(
    `INSERT INTO data_load_history
       (dataset_hash, data_dir, mode, outcome, rows_inserted, rows_skipped, rows_updated,
        table_counts, started_at, finished_at, duration_ms, applied_by, service_version, trace_id, error,
        file_manifest)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10, $11, $12, $13, $14, $15, $16)
     RETURNING id`,
    [
      e.hash,
      e.dataDir,
      e.mode,
      e.outcome,
      total(e.counts, 'inserted'),
      total(e.counts, 'skipped'),
      total(e.counts, 'updated'),
      JSON.stringify(e.counts),
      e.startedAt.toISOString(),
      e.finishedAt.toISOString(),
      Math.round(e.durationMs),
      e.appliedBy,
      e.serviceVersion,
      e.traceId ?? null,
      e.outcome === 'failed' ? (e.error ?? 'unknown error') : null,
      e.manifest ?? null,
    ],
  );
  return Number(r.rows[0]!.id);
}

/** Whether this data set was already loaded in this mode. */
export async function alreadyLoaded(db: Queryable, hash: string, mode: LoadMode): Promise<boolean> {
  const r = await db.query(
    `SELECT 1 FROM data_load_history WHERE dataset_hash = $1 AND mode = $2 AND outcome = 'loaded' LIMIT 1`,
    [hash, mode],
  );
  return r.rows.length > 0;
}

/**
 * The content hash recorded by a run that loaded or skipped the files of dir with exactly this
 * manifest in this mode: those files, unchanged since, are already loaded without reading them.
 */
export async function loadedByManifest(
  db: Queryable,
  dir: string,
  manifest: string,
  mode: LoadMode,
): Promise<string | undefined> {
  const r = await db.query<{ hash: string }>(
    `SELECT dataset_hash AS hash FROM data_load_history
      WHERE file_manifest = $1 AND data_dir = $2 AND mode = $3 AND outcome IN ('loaded', 'skipped')
      ORDER BY id DESC LIMIT 1`,
    [manifest, dir, mode],
  );
  return r.rows[0]?.hash;
}

const selectColumns = `id::int AS "id", dataset_hash AS "datasetHash", data_dir AS "dataDir", mode,
  outcome, rows_inserted AS "rowsInserted", rows_skipped AS "rowsSkipped",
  rows_updated AS "rowsUpdated", table_counts AS "tableCounts",
  to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "startedAt",
  to_char(finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "finishedAt",
  duration_ms AS "durationMs", applied_by AS "appliedBy", service_version AS "serviceVersion",
  trace_id AS "traceId", error`;

export async function recentRuns(db: Queryable, limit: number): Promise<HistoryRow[]> {
  const r = await db.query<HistoryRow>(
    `SELECT ${selectColumns} FROM data_load_history ORDER BY started_at DESC, id DESC LIMIT $1`,
    [limit],
  );
  return r.rows;
}

/** The latest run that loaded this data set, in any mode. */
export async function lastLoad(db: Queryable, hash: string): Promise<HistoryRow | undefined> {
  const r = await db.query<HistoryRow>(
    `SELECT ${selectColumns} FROM data_load_history
      WHERE dataset_hash = $1 AND outcome = 'loaded' ORDER BY started_at DESC, id DESC LIMIT 1`,
    [hash],
  );
  return r.rows[0];
}
