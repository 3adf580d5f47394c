import assert from 'node:assert/strict';
import { createReadStream, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, test } from 'node:test';
import {
  createTestDatabase,
  sql,
  type TestDatabase,
} from '@order-food/platform/testing/test-database';
import { explain, history, migrate, removeDir, runLoad, tableCounts } from './helpers.js';

let db: TestDatabase;
const out = mkdtempSync(join(tmpdir(), 'dataset-large-'));
before(async () => {
  db = await createTestDatabase('load_large');
  await migrate(db.url);
});
after(async () => {
  removeDir(out);
  await db?.drop();
});

async function* records(path: string): AsyncGenerator<Record<string, unknown>> {
  for await (const line of createInterface({ input: createReadStream(path), crlfDelay: Infinity }))
    if (line.trim() !== '') yield JSON.parse(line) as Record<string, unknown>;
}

test('generate writes 100k orders; load streams them in, every count and total matches; a rerun is skipped', async () => {
  const gen = await runLoad(
    db.url,
    ['generate', '--out', out, '--products', '800', '--users', '5000', '--orders', '100000'],
    {},
    300_000,
  );
  assert.equal(gen.code, 0, explain(gen));
  assert.match(gen.stdout, /wrote 800 products, 5000 users, 100000 orders/);

  // What the files hold, read the same streaming way.
  const price = new Map<string, number>();
  for await (const p of records(join(out, 'products.jsonl')))
    price.set(p.sku as string, p.price_cents as number);
  let users = 0;
  for await (const _ of records(join(out, 'users.jsonl'))) users++;
  let orders = 0;
  let items = 0;
  let total = 0;
  const byStatus = new Map<string, number>();
  for await (const o of records(join(out, 'orders.jsonl'))) {
    orders++;
    byStatus.set(o.status as string, (byStatus.get(o.status as string) ?? 0) + 1);
    for (const i of o.items as { sku: string; quantity: number }[]) {
      items++;
      total += price.get(i.sku)! * i.quantity;
    }
  }
  assert.equal(orders, 100_000);

  const r = await runLoad(db.url, ['--dir', out], { LOAD_PROGRESS_INTERVAL: '0' }, 600_000);
  assert.equal(r.code, 0, explain(r));
  assert.deepEqual(await tableCounts(db), {
    products: price.size,
    users,
    orders,
    order_items: items,
  });
  const [sums] = await sql<{ orders: number; lines: number }>(
    db,
    `SELECT (SELECT sum(total_cents)::float8 FROM orders) AS orders,
            (SELECT sum(quantity * unit_price_cents)::float8 FROM order_items) AS lines`,
  );
  assert.equal(sums!.orders, total);
  assert.equal(sums!.lines, total);
  const statuses = await sql<{ status: string; n: number }>(
    db,
    'SELECT status, count(*)::int AS n FROM orders GROUP BY status',
  );
  assert.deepEqual(new Map(statuses.map((s) => [s.status, s.n])), byStatus);

  // Progress lines while the orders stream in: rows, rows/s and percent.
  const progress = r.stdout
    .split('\n')
    .filter((l) => l.includes('"msg":"loading"'))
    .map(
      (l) =>
        JSON.parse(l) as { table: string; rows: number; percent: number; rowsPerSecond: number },
    );
  const ordersProgress = progress.filter((p) => p.table === 'orders');
  assert.ok(ordersProgress.length >= 10, `progress lines: ${progress.length}`);
  for (const p of ordersProgress) {
    assert.ok(p.percent > 0 && p.percent < 100);
    assert.ok(p.rowsPerSecond > 0);
  }

  const again = await runLoad(db.url, ['--dir', out], {}, 300_000);
  assert.equal(again.code, 0, explain(again));
  assert.deepEqual(
    (await history(db)).map((h) => h.outcome),
    ['loaded', 'skipped'],
  );
});
