import { type Span, trace } from '@opentelemetry/api';
import type { DbClient } from '@order-food/platform/database';
import { OperationalError } from '@order-food/platform/errors';
import { tables } from '@order-food/platform/model';
import { inSpan } from '@order-food/platform/span';
import {
  type DataFile,
  type DataSetCounts,
  DataSetError,
  DataSetReader,
  type FileStat,
} from './dataset.js';
import { type Counts, emptyCounts, type LoadMode, type TableName } from './history.js';
import type { LoadOptions } from './loader.js';
import { OrderIds } from './order-ids.js';
import { Progress } from './progress.js';
import {
  arrayLiteral,
  createStageTables,
  type StageValue,
  stageRows,
  stageTables,
} from './staging.js';

const tracer = trace.getTracer('@order-food/database-load');

/**
 * Streams each file once into its staging table, checking every record on the way (nothing
 * touches a real table before all three files have passed), then merges the staged rows into the
 * real tables by natural key.
 */
export async function loadInTransaction(
  client: DbClient,
  files: readonly FileStat[],
  hash: string,
  options: LoadOptions,
): Promise<{ counts: Counts; dataSet: DataSetCounts }> {
  const { logger, mode, dir, progressIntervalMs } = options;
  const counts = emptyCounts();
  const reader = new DataSetReader(dir, files);
  // For the sort of the staged orders and the hash aggregate of the duplicate check.
  await client.query("SET LOCAL work_mem = '64MB'");
  const progressOf = (kind: DataFile) =>
    new Progress(logger, kind, reader.size(kind), reader.position, progressIntervalMs);
  await client.exec(createStageTables);

  const progress = await inSpan(
    tracer,
    'database-load validate',
    { 'data.dir': dir },
    async (span) => {
      const products = progressOf('products');
      await stageRows(
        client,
        stageTables.products,
        mapRecords(reader.products(), products, ({ record: p }) =>
          stageTables.products.columns.map((c) => p[c]),
        ),
      );
      const users = progressOf('users');
      await stageRows(
        client,
        stageTables.users,
        mapRecords(reader.users(), users, ({ record: u }) =>
          stageTables.users.columns.map((c) => u[c]),
        ),
      );
      const orders = progressOf('orders');
      const ids = new OrderIds();
      await stageRows(
        client,
        stageTables.orders,
        mapRecords(reader.orders(), orders, ({ line, record: o, items, total_cents }) => [
          line,
          ids.next(o.created_at === null ? undefined : Date.parse(o.created_at)),
          o.external_ref,
          o.user_email,
          o.status,
          o.created_at,
          total_cents,
          arrayLiteral(items.map((i) => i.sku)),
          arrayLiteral(items.map((i) => i.quantity)),
          arrayLiteral(items.map((i) => i.unit_price_cents)),
          o.delivery?.address ?? null,
          o.delivery?.note ?? null,
        ]),
      );
      if (reader.digest() !== hash) throw changedWhileReading(dir);
      await client.query('ANALYZE stage_orders');
      await checkRepeatedRefs(client, reader.path('orders'));
      span.setAttributes({
        'data.hash': hash,
        'data.products': reader.counts.products,
        'data.users': reader.counts.users,
        'data.orders': reader.counts.orders,
        'data.order_items': reader.counts.order_items,
      });
      return { products, users, orders };
    },
  );
  logger.info({ hash, mode, dir, ...reader.counts }, 'data set is valid');

  const table = (name: TableName, fn: (span: Span) => Promise<void>) =>
    inSpan(
      tracer,
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
    await client.query('ANALYZE stage_products');
    counts.products = await merge(client, mode, reader.counts.products, ...mergeOf('products'));
    progress.products.finish(counts.products as unknown as Record<string, unknown>);
  });

  await table('users', async () => {
    await client.query('ANALYZE stage_users');
    counts.users = await merge(client, mode, reader.counts.users, ...mergeOf('users'));
    progress.users.finish(counts.users as unknown as Record<string, unknown>);
  });

  await table('orders', async () => {
    // One sort for both inserts: orders and their lines go in by id, that is by created_at.
    await client.query(
      'CREATE TEMPORARY TABLE stage_sorted ON COMMIT DROP AS SELECT * FROM stage_orders ORDER BY id',
    );
    await client.query('DROP TABLE stage_orders');
    // Orders are never updated from the files: an order exists once, by external_ref.
    const r = await client.query(
      `INSERT INTO orders (id, user_id, status, total_cents, external_ref, created_at, updated_at,
                           delivery_address, delivery_note)
       SELECT s.id, u.id, s.status, s.total_cents, s.external_ref,
              coalesce(s.created_at, now()), coalesce(s.created_at, now()),
              s.delivery_address, s.delivery_note
         FROM stage_sorted s JOIN users u ON u.email = s.user_email
       ON CONFLICT (external_ref) WHERE external_ref IS NOT NULL DO NOTHING`,
    );
    const staged = reader.counts.orders;
    counts.orders = { inserted: r.rowCount, skipped: staged - r.rowCount, updated: 0 };
    // Only the lines of the orders inserted now are inserted: drop the others from the stage.
    if (r.rowCount < staged)
      await client.query(
        'DELETE FROM stage_sorted s WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.id = s.id)',
      );
    progress.orders.finish(counts.orders as unknown as Record<string, unknown>);
  });

  await table('order_items', async () => {
    const r = await client.query(
      `INSERT INTO order_items (order_id, line_no, product_id, quantity, unit_price_cents)
       SELECT s.id, i.line_no, p.id, i.quantity, i.unit_price_cents
         FROM stage_sorted s
         CROSS JOIN LATERAL unnest(s.skus, s.quantities, s.prices)
              WITH ORDINALITY AS i(sku, quantity, unit_price_cents, line_no)
         JOIN products p ON p.sku = i.sku`,
    );
    counts.order_items = {
      inserted: r.rowCount,
      skipped: reader.counts.order_items - r.rowCount,
      updated: 0,
    };
    logger.info({ table: 'order_items', ...counts.order_items }, 'table loaded');
  });
  return { counts, dataSet: reader.counts };
}

/**
 * An order's external_ref may appear once in a data set. The check runs on the staging table, so
 * the loader's memory does not grow with the number of orders; the report names the first line
 * that repeats an earlier one, as a check while reading would.
 */
async function checkRepeatedRefs(client: DbClient, path: string): Promise<void> {
  const repeated = await client.query(
    'SELECT 1 FROM stage_orders GROUP BY external_ref HAVING count(*) > 1 LIMIT 1',
  );
  if (repeated.rows.length === 0) return;
  const r = await client.query<{ line: number; external_ref: string; first: number }>(
    `SELECT line, external_ref, first FROM (
       SELECT line, external_ref, min(line) OVER (PARTITION BY external_ref) AS first
         FROM stage_orders) d
      WHERE line > first ORDER BY line LIMIT 1`,
  );
  const dup = r.rows[0]!;
  throw new DataSetError(
    path,
    dup.line,
    `order ${JSON.stringify(dup.external_ref)}`,
    'external_ref',
    `repeats the external_ref of line ${dup.first}`,
  );
}

function changedWhileReading(dir: string): OperationalError {
  return new OperationalError(
    `the data set in ${dir} changed while it was being read; nothing was loaded, run again`,
  );
}

async function* mapRecords<R>(
  batches: AsyncIterable<R[]>,
  progress: Progress,
  toRow: (record: R) => StageValue[],
): AsyncGenerator<StageValue[][]> {
  for await (const batch of batches) {
    yield batch.map(toRow);
    progress.add(batch.length);
  }
}

/**
 * The insert from staging, the natural key and the columns an upsert changes, of a table the
 * model describes field by field.
 */
function mergeOf(table: 'products' | 'users'): [string, string, readonly string[]] {
  const { key } = tables[table];
  const columns = stageTables[table].columns;
  const list = columns.join(', ');
  return [
    `INSERT INTO ${table} AS t (${list}) SELECT ${list} FROM ${stageTables[table].name}`,
    key,
    columns.filter((c) => c !== key),
  ];
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
