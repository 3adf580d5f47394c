import { trace } from '@opentelemetry/api';
import { type AdvisoryLock, acquireAdvisoryLock } from '@order-food/platform/advisory-lock';
import type { Database, Queryable } from '@order-food/platform/database';
import { describeError, isConnectionError } from '@order-food/platform/errors';
import type { Logger } from '@order-food/platform/logger';
import {
  type DataFile,
  type DataSetCounts,
  DataSetError,
  hashDataSet,
  manifestOf,
  nowNs,
  statDataSet,
} from './dataset.js';
import {
  alreadyLoaded,
  type Counts,
  emptyCounts,
  type LoadMode,
  loadedByManifest,
  recordRun,
} from './history.js';
import { loadInTransaction } from './load-transaction.js';
import { requireSchema } from './schema-version.js';

/** All loaders of one database serialize on this lock ('OFLD', 1). */
const loadLock: AdvisoryLock = {
  key: [0x4f464c44, 1],
  name: 'data load lock',
  timeoutVariable: 'LOAD_LOCK_TIMEOUT',
};

export interface LoadOptions {
  dir: string;
  /** The files of dir that are loaded: all three unless given (['products']: the menu alone). */
  parts?: readonly DataFile[];
  mode: LoadMode;
  /** Load even when the history says this data set is already loaded in this mode. */
  force?: boolean;
  logger: Logger;
  /** Bounded wait for another loader's advisory lock. */
  lockTimeoutMs: number;
  /** Progress lines at most this often while rows stream in. */
  progressIntervalMs: number;
  appliedBy: string;
  serviceVersion: string;
}

export interface LoadResult {
  outcome: 'loaded' | 'skipped';
  hash: string;
  mode: LoadMode;
  counts: Counts;
  /** What the files hold; not read when the run was skipped. */
  dataSet?: DataSetCounts;
  durationMs: number;
  historyId: number;
}

function currentTraceId(): string | undefined {
  const ctx = trace.getActiveSpan()?.spanContext();
  return ctx && trace.isSpanContextValid(ctx) ? ctx.traceId : undefined;
}

/**
 * Loads the data set in options.dir, unless the history says it is loaded in this mode (skipped at
 * once): files are validated as they stream into staging tables, then what is missing is inserted
 * (upsert also overwrites users and products), in one transaction under the loader's lock. Every
 * run is recorded in data_load_history, except one whose data set was invalid.
 */
export async function loadDataSet(db: Database, options: LoadOptions): Promise<LoadResult> {
  const { logger, mode } = options;
  const startedAt = new Date();
  const t0 = performance.now();
  const activeSpan = trace.getActiveSpan();
  activeSpan?.setAttribute('data.mode', mode);
  // A stat of the three files: a missing one stops the run here, before the database.
  const files = await statDataSet(options.dir, options.parts);
  const manifest = manifestOf(files, nowNs());

  const schemaVersion = await requireSchema(db);
  logger.debug({ schemaVersion }, 'schema version checked');

  let hash = '';
  const entry = (outcome: 'loaded' | 'skipped' | 'failed', counts: Counts, error?: string) => ({
    hash,
    dataDir: options.dir,
    manifest,
    mode,
    outcome,
    counts,
    startedAt,
    finishedAt: new Date(),
    durationMs: performance.now() - t0,
    appliedBy: options.appliedBy,
    serviceVersion: options.serviceVersion,
    traceId: currentTraceId(),
    error,
  });
  const skip = async (q: Queryable, by: 'manifest' | 'hash'): Promise<LoadResult> => {
    const e = entry('skipped', emptyCounts());
    const historyId = await recordRun(q, e);
    activeSpan?.setAttribute('data.outcome', 'skipped');
    logger.info(
      { hash, mode, by, durationMs: Math.round(e.durationMs) },
      'data set already loaded in this mode; nothing to do',
    );
    return {
      outcome: 'skipped',
      hash,
      mode,
      counts: e.counts,
      durationMs: e.durationMs,
      historyId,
    };
  };

  if (!options.force && manifest !== undefined) {
    // The files stat exactly as when a run recorded their content hash: a pod restart reads nothing.
    const known = await loadedByManifest(db, options.dir, manifest, mode);
    if (known !== undefined) {
      hash = known;
      activeSpan?.setAttribute('data.hash', hash);
      return skip(db, 'manifest');
    }
  }
  // Hashing alone is a fast sequential read: a data set already loaded is skipped unparsed.
  hash = await hashDataSet(options.dir, files);
  activeSpan?.setAttribute('data.hash', hash);
  if (!options.force && (await alreadyLoaded(db, hash, mode))) return skip(db, 'hash');

  const client = await db.connect();
  let broken: Error | undefined;
  let failure: unknown;
  try {
    let counts: Counts;
    let dataSet: DataSetCounts;
    let historyId: number;
    // The whole load is one transaction, and so is its lock: it ends with the transaction, also
    // through a transaction pooler, and a loader that dies cannot leave it behind.
    try {
      await client.query('BEGIN');
      await acquireAdvisoryLock(client, loadLock, {
        timeoutMs: options.lockTimeoutMs,
        logger,
        transaction: true,
      });
      // Another pod may have loaded it while this one waited for the lock.
      if (!options.force && (await alreadyLoaded(client, hash, mode))) {
        const skipped = await skip(client, 'hash');
        await client.query('COMMIT');
        return skipped;
      }
      ({ counts, dataSet } = await loadInTransaction(client, files, hash, options));
      historyId = await recordRun(client, entry('loaded', counts));
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch((rollbackErr: Error) => {
        broken = rollbackErr;
      });
      throw err;
    }
    const durationMs = performance.now() - t0;
    activeSpan?.setAttribute('data.outcome', 'loaded');
    logger.info({ hash, mode, durationMs: Math.round(durationMs), counts }, 'data set loaded');
    return {
      outcome: 'loaded',
      hash,
      mode,
      counts,
      dataSet,
      durationMs,
      historyId,
    };
  } catch (err) {
    failure = err;
    if (!broken && isConnectionError(err)) broken = err as Error;
    throw err;
  } finally {
    client.release(broken ?? false);
    // After release: on PGlite the pool is this one connection.
    if (failure !== undefined) {
      activeSpan?.setAttribute('data.outcome', 'failed');
      if (!(failure instanceof DataSetError))
        await recordRun(db, entry('failed', emptyCounts(), describeError(failure))).catch(
          (err: Error) =>
            logger.warn({ err: { message: err.message } }, 'could not record the failed run'),
        );
    }
  }
}
