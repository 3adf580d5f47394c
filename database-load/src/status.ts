import type { Database } from '@order-food/platform/database';
import { type DataFile, hashDataSet, statDataSet } from './dataset.js';
import { type HistoryRow, lastLoad, recentRuns } from './history.js';
import { requireSchema } from './schema-version.js';

export interface DataStatus {
  dataDir: string;
  hash: string;
  schemaVersion: number;
  /** Whether this data set has been loaded, in each mode. */
  loaded: { insert: boolean; upsert: boolean };
  lastLoad: HistoryRow | null;
  /** The latest runs of any data set, newest first. */
  runs: HistoryRow[];
}

export async function dataStatus(
  db: Database,
  dir: string,
  parts?: readonly DataFile[],
  limit = 10,
): Promise<DataStatus> {
  const hash = await hashDataSet(dir, await statDataSet(dir, parts));
  const schemaVersion = await requireSchema(db);
  const modes = await db.query<{ mode: 'insert' | 'upsert' }>(
    `SELECT DISTINCT mode FROM data_load_history WHERE dataset_hash = $1 AND outcome = 'loaded'`,
    [hash],
  );
  const loadedModes = new Set(modes.rows.map((r) => r.mode));
  return {
    dataDir: dir,
    hash,
    schemaVersion,
    loaded: { insert: loadedModes.has('insert'), upsert: loadedModes.has('upsert') },
    lastLoad: (await lastLoad(db, hash)) ?? null,
    runs: await recentRuns(db, limit),
  };
}

export function formatStatus(s: DataStatus): string {
  const lines = [
    `data set   ${s.dataDir}`,
    `hash       ${s.hash}`,
    `schema     version ${s.schemaVersion}`,
    s.lastLoad
      ? `state      loaded (${s.lastLoad.mode}) at ${s.lastLoad.finishedAt} by ${s.lastLoad.appliedBy || 'unknown'}`
      : 'state      not loaded',
    '',
    s.runs.length === 0 ? 'no runs yet' : 'latest runs (run, started, outcome, mode, hash, rows):',
    ...s.runs.map(
      (r) =>
        `  #${r.id}  ${r.startedAt}  ${r.outcome.padEnd(7)}  ${r.mode.padEnd(6)}  ${r.datasetHash.slice(0, 12)}  inserted ${r.rowsInserted}, updated ${r.rowsUpdated}, skipped ${r.rowsSkipped}  ${r.durationMs} ms${r.traceId ? `  trace ${r.traceId}` : ''}${r.error ? `  error: ${r.error}` : ''}`,
    ),
  ];
  return `${lines.join('\n')}\n`;
}
