import type { Queryable } from '@order-food/platform/database';
import type { Logger } from '@order-food/platform/logger';
import { readSchemaVersion } from '@order-food/platform/schema';
import type { Metrics, SetupStepState } from './metrics.js';

/** What the pod's set-up steps left in their history tables. */
export interface SetupState {
  schemaVersion: number | null;
  steps: SetupStepState[];
  /** Content hash of the data set last loaded (or found already loaded). */
  datasetHash: string | null;
}

interface RunRow {
  duration_ms: number;
  success: boolean;
  finished: number;
}

async function tableExists(db: Queryable, table: string): Promise<boolean> {
  const { rows } = await db.query<{ present: boolean }>(
    'SELECT to_regclass($1) IS NOT NULL AS present',
    [table],
  );
  return rows[0]?.present === true;
}

/**
 * Reads the last run of each set-up step, by any pod: the history lives in the shared database, so
 * every replica reports the same figures, and a failing init container of a new pod shows up on
 * the pods already serving.
 */
export async function readSetupState(db: Queryable): Promise<SetupState> {
  const steps: SetupStepState[] = [];
  const { version } = await readSchemaVersion(db);

  if (await tableExists(db, 'schema_migration_runs')) {
    const { rows } = await db.query<RunRow>(
      `SELECT duration_ms, success, extract(epoch FROM finished_at)::float8 AS finished
         FROM schema_migration_runs ORDER BY started_at DESC, id DESC LIMIT 1`,
    );
    const run = rows[0];
    if (run)
      steps.push({
        step: 'database-migration',
        durationSeconds: run.duration_ms / 1000,
        success: run.success,
        lastRunTimestampSeconds: run.finished,
      });
  }

  let datasetHash: string | null = null;
  if (await tableExists(db, 'data_load_history')) {
    const { rows } = await db.query<RunRow>(
      `SELECT duration_ms, outcome <> 'failed' AS success,
              extract(epoch FROM finished_at)::float8 AS finished
         FROM data_load_history ORDER BY started_at DESC, id DESC LIMIT 1`,
    );
    const run = rows[0];
    if (run)
      steps.push({
        step: 'database-load',
        durationSeconds: run.duration_ms / 1000,
        success: run.success,
        lastRunTimestampSeconds: run.finished,
      });
    const loaded = await db.query<{ dataset_hash: string }>(
      `SELECT dataset_hash FROM data_load_history WHERE outcome <> 'failed'
        ORDER BY started_at DESC, id DESC LIMIT 1`,
    );
    datasetHash = loaded.rows[0]?.dataset_hash ?? null;
  }
  return { schemaVersion: version, steps, datasetHash };
}

export function applySetupState(metrics: Metrics, state: SetupState): void {
  if (state.schemaVersion !== null) metrics.schemaVersion.set(state.schemaVersion);
  for (const step of state.steps) metrics.setSetupStep(step);
  if (state.datasetHash) metrics.setDataset(state.datasetHash);
}

export interface SetupMetricsOptions {
  db: Queryable;
  metrics: Metrics;
  logger: Logger;
  /** How often the history is read again; default 30 s. */
  intervalMs?: number;
}

export interface SetupMetrics {
  /** Reads the history now; never throws (a failure is logged and the last figures stay). */
  refresh(): Promise<boolean>;
  stop(): void;
}

/**
 * Keeps the orderfood_setup_step_*, orderfood_schema_version and orderfood_dataset_info metrics
 * current: read once now, then on a timer that never holds the process open.
 */
export function startSetupMetrics(options: SetupMetricsOptions): SetupMetrics {
  const { db, metrics, logger } = options;
  let failing = false;
  let running: Promise<boolean> | undefined;

  const refresh = (): Promise<boolean> => {
    running ??= readSetupState(db)
      .then((state) => {
        applySetupState(metrics, state);
        if (failing) logger.info('set-up metrics: reading the history tables works again');
        failing = false;
        return true;
      })
      .catch((err: unknown) => {
        // Logged once per outage, not once per tick: the probes and the database metrics tell the rest.
        if (!failing)
          logger.warn(
            { err },
            'set-up metrics: could not read the history tables; keeping the last figures',
          );
        failing = true;
        return false;
      })
      .finally(() => {
        running = undefined;
      });
    return running;
  };

  void refresh();
  const timer = setInterval(() => void refresh(), options.intervalMs ?? 30_000);
  timer.unref();
  return {
    refresh,
    stop: () => clearInterval(timer),
  };
}
