import type { Hash } from 'node:crypto';
import { type Span, SpanStatusCode, trace } from '@opentelemetry/api';
import {
  type AdvisoryLock,
  acquireAdvisoryLock,
  releaseAdvisoryLock,
} from '@order-food/platform/advisory-lock';
import type { Database, DbClient, Queryable } from '@order-food/platform/database';
import { describeError, isConnectionError, OperationalError } from '@order-food/platform/errors';
import type { Logger } from '@order-food/platform/logger';
import {
  type DataSetCounts,
  type DataSetSummary,
  hashDataSet,
  newDataSetHash,
  readRecords,
  scanDataSet,
} from './dataset.js';
import {
  alreadyLoaded,
  type Counts,
  emptyCounts,
  type LoadMode,
  recordRun,
  type TableName,
} from './history.js';
import { Progress } from './progress.js';
import { requireSchema } from './schema-version.js';
import { createStageTables, type StageValue, stageRows, stageTables } from './staging.js';

/** All loaders of one database serialize on this lock ('OFLD', 1). */
const loadLock: AdvisoryLock = {
  key: [0x4f464c44, 1],
  name: 'data load lock',
  timeoutVariable: 'LOAD_LOCK_TIMEOUT',
};

const tracer = trace.getTracer('@order-food/database-load');

export interface LoadOptions {
  dir: string;
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

async function inSpan<T>(
  name: string,
  attributes: Record<string, string | number | boolean>,
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  return tracer.startActiveSpan(name, { attributes }, async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      span.recordException(err as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: describeError(err) });
      throw err;
    } finally {
      span.end();
    }
  });
}

function currentTraceId(): string | undefined {
  const ctx = trace.getActiveSpan()?.spanContext();
  return ctx && trace.isSpanContextValid(ctx) ? ctx.traceId : undefined;
}

/**
 * Loads the data set in options.dir. Unless the history says this content hash is already loaded
 * in this mode (then the run returns at once, recorded as skipped), every file is validated and
 * then what is missing is inserted (mode insert), or users and products are also overwritten from
 * the files (mode upsert), in one transaction under the loader's advisory lock. Every run that
 * reaches the database, skipped or failed too, is recorded in data_load_history.
 */
export async function loadDataSet(db: Database, options: LoadOptions): Promise<LoadResult> {
  const { logger, mode } = options;
  const startedAt = new Date();
  const t0 = performance.now();
  const activeSpan = trace.getActiveSpan();
  // Hashing alone is a fast sequential read: a pod restart with a loaded data set parses nothing.
  const hash = await hashDataSet(options.dir);
  activeSpan?.setAttributes({ 'data.hash': hash, 'data.mode': mode });

  const schemaVersion = await requireSchema(db);
  logger.debug({ schemaVersion }, 'schema version checked');

  const entry = (outcome: 'loaded' | 'skipped' | 'failed', counts: Counts, error?: string) => ({
    hash,
    dataDir: options.dir,
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
  const skip = async (q: Queryable): Promise<LoadResult> => {
    const e = entry('skipped', emptyCounts());
    const historyId = await recordRun(q, e);
    activeSpan?.setAttribute('data.outcome', 'skipped');
    logger.info(
      { hash, mode, durationMs: Math.round(e.durationMs) },
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

  if (!options.force && (await alreadyLoaded(db, hash, mode))) return skip(db);

  const summary = await inSpan('database-load validate', { 'data.dir': options.dir }, (span) =>
    scanDataSet(options.dir).then((s) => {
      span.setAttributes({
        'data.hash': s.hash,
        'data.products': s.counts.products,
        'data.users': s.counts.users,
        'data.orders': s.counts.orders,
        'data.order_items': s.counts.order_items,
      });
      return s;
    }),
  );
  if (summary.hash !== hash) throw changedWhileReading(options.dir);
  logger.info({ hash, mode, dir: options.dir, ...summary.counts }, 'data set is valid');

  const client = await db.connect();
  let broken: Error | undefined;
  let locked = false;
  let failure: unknown;
  try {
    await acquireAdvisoryLock(client, loadLock, { timeoutMs: options.lockTimeoutMs, logger });
    locked = true;
    // Another pod may have loaded it while this one waited for the lock.
    if (!options.force && (await alreadyLoaded(client, summary.hash, mode)))
      return await skip(client);

    let counts: Counts;
    let historyId: number;
    try {
      await client.query('BEGIN');
      counts = await loadInTransaction(client, summary, options);
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
    logger.info(
      { hash: summary.hash, mode, durationMs: Math.round(durationMs), counts },
      'data set loaded',
    );
    return {
      outcome: 'loaded',
      hash: summary.hash,
      mode,
      counts,
      dataSet: summary.counts,
      durationMs,
      historyId,
    };
  } catch (err) {
    failure = err;
    if (!broken && isConnectionError(err)) broken = err as Error;
    throw err;
  } finally {
    if (locked && !broken)
      await releaseAdvisoryLock(client, loadLock).catch((err: Error) => {
        broken = err;
      });
    client.release(broken ?? false);
    // After release: on PGlite the pool is this one connection.
    if (failure !== undefined) {
      activeSpan?.setAttribute('data.outcome', 'failed');
      await recordRun(db, entry('failed', emptyCounts(), describeError(failure))).catch(
        (err: Error) =>
          logger.warn({ err: { message: err.message } }, 'could not record the failed run'),
      );
    }
  }
}

/** Streams each file into its staging table, then merges it into the real table by natural key. */
async function loadInTransaction(
  client: DbClient,
  summary: DataSetSummary,
  options: LoadOptions,
): Promise<Counts> {
  const { logger, mode, dir, progressIntervalMs } = options;
  const counts = emptyCounts();
  // The files are read a second time; their hash must still match the validated one.
  const hash: Hash = await newDataSetHash(dir);
  await client.exec(createStageTables);

  const table = (name: TableName, fn: (span: Span) => Promise<void>) =>
    inSpan(
      `database-load ${name}`,
      { 'db.collection.name': name, 'data.mode': mode },
      async (span) => {
        await fn(span);
        span.setAttributes({
          'data.rows.inserted': counts[name].inserted,
          'data.rows.updated': counts[name].updated,
          'data.rows.skipped': counts[name].skipped,
        });
      },
    );

  await table('products', async () => {
    const progress = new Progress(logger, 'products', summary.counts.products, progressIntervalMs);
    await stageRows(
      client,
      stageTables.products,
      mapRecords(readRecords(dir, 'products', hash), progress, (p) => [
        p.sku,
        p.name,
        p.description,
        p.category,
        p.price_cents,
        p.available,
      ]),
    );
    await client.query('ANALYZE stage_products');
    counts.products = await merge(
      client,
      mode,
      progress.done,
      `INSERT INTO products AS t (sku, name, description, category, price_cents, available)
       SELECT sku, name, description, category, price_cents, available FROM stage_products`,
      'sku',
      ['name', 'description', 'category', 'price_cents', 'available'],
    );
    progress.finish(counts.products as unknown as Record<string, unknown>);
  });

  await table('users', async () => {
    const progress = new Progress(logger, 'users', summary.counts.users, progressIntervalMs);
    await stageRows(
      client,
      stageTables.users,
      mapRecords(readRecords(dir, 'users', hash), progress, (u) => [u.email, u.name, u.role]),
    );
    await client.query('ANALYZE stage_users');
    counts.users = await merge(
      client,
      mode,
      progress.done,
      'INSERT INTO users AS t (email, name, role) SELECT email, name, role FROM stage_users',
      'email',
      ['name', 'role'],
    );
    progress.finish(counts.users as unknown as Record<string, unknown>);
  });

  await table('orders', async () => {
    const progress = new Progress(logger, 'orders', summary.counts.orders, progressIntervalMs);
    await stageRows(
      client,
      stageTables.orders,
      mapRecords(readRecords(dir, 'orders', hash), progress, (o) => {
        let total = 0;
        const items = o.items.map((item, i) => {
          const price = summary.prices.get(item.sku);
          if (price === undefined)
            throw new OperationalError(
              `the data set changed while loading: unknown sku ${item.sku}`,
            );
          total += price * item.quantity;
          return {
            line_no: i + 1,
            sku: item.sku,
            quantity: item.quantity,
            unit_price_cents: price,
          };
        });
        return [o.external_ref, o.user_email, o.status, o.created_at, total, JSON.stringify(items)];
      }),
    );
    await client.query('ANALYZE stage_orders');
    // Orders are never updated from the files: an order exists once, by external_ref.
    const r = await client.query(
      `WITH inserted AS (
         INSERT INTO orders (user_id, status, total_cents, external_ref, created_at, updated_at)
         SELECT u.id, s.status, s.total_cents, s.external_ref,
                coalesce(s.created_at, now()), coalesce(s.created_at, now())
           FROM stage_orders s JOIN users u ON u.email = s.user_email
         ON CONFLICT (external_ref) WHERE external_ref IS NOT NULL DO NOTHING
         RETURNING id, external_ref)
       INSERT INTO stage_new_orders (id, external_ref) SELECT id, external_ref FROM inserted`,
    );
    counts.orders = { inserted: r.rowCount, skipped: progress.done - r.rowCount, updated: 0 };
    progress.finish(counts.orders as unknown as Record<string, unknown>);
  });

  if (hash.digest('hex') !== summary.hash) throw changedWhileReading(dir);

  await table('order_items', async () => {
    await client.query('ANALYZE stage_new_orders');
    const r = await client.query(
      `INSERT INTO order_items (order_id, line_no, product_id, quantity, unit_price_cents)
       SELECT n.id, i.line_no, p.id, i.quantity, i.unit_price_cents
         FROM stage_new_orders n
         JOIN stage_orders s ON s.external_ref = n.external_ref
         CROSS JOIN LATERAL jsonb_to_recordset(s.items::jsonb)
              AS i(line_no integer, sku text, quantity integer, unit_price_cents integer)
         JOIN products p ON p.sku = i.sku`,
    );
    counts.order_items = {
      inserted: r.rowCount,
      skipped: summary.counts.order_items - r.rowCount,
      updated: 0,
    };
    logger.info({ table: 'order_items', ...counts.order_items }, 'table loaded');
  });
  return counts;
}

function changedWhileReading(dir: string): OperationalError {
  return new OperationalError(
    `the data set in ${dir} changed while it was being read; nothing was loaded, run again`,
  );
}

async function* mapRecords<R>(
  records: AsyncIterable<{ record: R }>,
  progress: Progress,
  toRow: (record: R) => StageValue[],
): AsyncGenerator<StageValue[]> {
  for await (const { record } of records) {
    yield toRow(record);
    progress.add();
  }
}

/**
 * Inserts the staged rows that are missing by natural key; in upsert mode also overwrites the
 * listed columns of rows that differ. Counts what was inserted, updated and left alone.
 */
async function merge(
  client: DbClient,
  mode: LoadMode,
  staged: number,
  insertSelect: string,
  key: string,
  columns: readonly string[],
): Promise<{ inserted: number; skipped: number; updated: number }> {
  if (mode === 'insert') {
    const r = await client.query(`${insertSelect} ON CONFLICT (${key}) DO NOTHING`);
    return { inserted: r.rowCount, skipped: staged - r.rowCount, updated: 0 };
  }
  const set = columns.map((c) => `${c} = EXCLUDED.${c}`).join(', ');
  const current = columns.map((c) => `t.${c}`).join(', ');
  const incoming = columns.map((c) => `EXCLUDED.${c}`).join(', ');
  const r = await client.query<{ inserted: number; updated: number }>(
    `WITH merged AS (
       ${insertSelect}
       ON CONFLICT (${key}) DO UPDATE SET ${set}, updated_at = now()
       WHERE (${current}) IS DISTINCT FROM (${incoming})
       RETURNING (xmax = 0) AS inserted)
     SELECT count(*) FILTER (WHERE inserted)::int AS inserted,
            count(*) FILTER (WHERE NOT inserted)::int AS updated
       FROM merged`,
  );
  const inserted = r.rows[0]?.inserted ?? 0;
  const updated = r.rows[0]?.updated ?? 0;
  return { inserted, updated, skipped: staged - inserted - updated };
}
