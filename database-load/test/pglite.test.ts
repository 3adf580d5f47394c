import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createDatabase } from '@order-food/platform/database';
import { createLogger } from '@order-food/platform/logger';
import {
  defaultDataDir,
  expectedFromFiles,
  explain,
  migrate,
  removeDir,
  runLoad,
  type TableCounts,
} from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'load-pglite-'));
const url = `pglite:${join(dir, 'db')}`;
const generated = join(dir, 'generated');
after(() => removeDir(dir));

/** Opens the embedded database in this process once the programs have exited. */
async function inspect<T>(fn: (q: <R>(text: string) => Promise<R[]>) => Promise<T>): Promise<T> {
  const db = await createDatabase(
    { kind: 'pglite', dataDir: join(dir, 'db'), display: 'test' },
    { logger: createLogger('test', 'silent'), applicationName: 'test' },
  );
  try {
    return await fn(async <R>(text: string) => (await db.query<R>(text)).rows);
  } finally {
    await db.close();
  }
}

const countsSql = `SELECT (SELECT count(*)::int FROM users) AS users, (SELECT count(*)::int FROM products) AS products,
  (SELECT count(*)::int FROM orders) AS orders, (SELECT count(*)::int FROM order_items) AS order_items`;

// Every program start opens the embedded database afresh (about a second when idle), so this
// file keeps to few of them; the refusal on an unmigrated database is shown on PostgreSQL.
test('embedded PGlite: loads the default set, skips the rerun, upsert restores, a generated set loads in full', async () => {
  await migrate(url);
  const r = await runLoad(url);
  assert.equal(r.code, 0, explain(r));
  const again = await runLoad(url);
  assert.equal(again.code, 0, explain(again));
  assert.match(again.stdout, /already loaded in this mode/);

  await inspect(async (q) => {
    assert.deepEqual(
      (await q<TableCounts>(countsSql))[0],
      expectedFromFiles(defaultDataDir).counts,
    );
    assert.deepEqual(
      (await q<{ outcome: string }>('SELECT outcome FROM data_load_history ORDER BY id')).map(
        (h) => h.outcome,
      ),
      ['loaded', 'skipped'],
    );
    await q(`UPDATE products SET price_cents = 5 WHERE sku = 'SUSHI-PLATTER'`);
  });

  const upsert = await runLoad(url, ['--mode', 'upsert']);
  assert.equal(upsert.code, 0, explain(upsert));

  // Larger than one batched INSERT of the staging step.
  const gen = await runLoad(url, [
    'generate',
    '--out',
    generated,
    '--products',
    '120',
    '--users',
    '300',
    '--orders',
    '3000',
  ]);
  assert.equal(gen.code, 0, explain(gen));
  const big = await runLoad(url, ['--dir', generated]);
  assert.equal(big.code, 0, explain(big));

  const expected = expectedFromFiles(generated);
  const base = expectedFromFiles(defaultDataDir).counts;
  await inspect(async (q) => {
    const [p] = await q<{ price_cents: number }>(
      `SELECT price_cents FROM products WHERE sku = 'SUSHI-PLATTER'`,
    );
    assert.equal(p!.price_cents, 2450, 'upsert restored the price from the file');
    // The generated set shares its admin, alice and bob with the default set.
    assert.deepEqual((await q<TableCounts>(countsSql))[0], {
      users: base.users + expected.counts.users - 3,
      products: base.products + expected.counts.products,
      orders: base.orders + expected.counts.orders,
      order_items: base.order_items + expected.counts.order_items,
    });
    const [mismatched] = await q<{ n: number }>(
      `SELECT count(*)::int AS n FROM orders o WHERE o.external_ref LIKE 'GEN-%'
         AND o.total_cents <> (SELECT sum(quantity * unit_price_cents) FROM order_items i WHERE i.order_id = o.id)`,
    );
    assert.equal(mismatched!.n, 0);
  });
});
