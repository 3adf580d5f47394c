import assert from 'node:assert/strict';
import { readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { OtlpReceiver } from '@order-food/platform/testing/otlp-receiver';
import {
  createTestDatabase,
  sql,
  type TestDatabase,
} from '@order-food/platform/testing/test-database';
import {
  copyDataSet,
  defaultDataDir,
  expectedFromFiles,
  explain,
  history,
  migrate,
  readJsonl,
  removeDir,
  runLoad,
  runLoadLater,
  tableCounts,
} from './helpers.js';

let db: TestDatabase;
before(async () => {
  db = await createTestDatabase('load');
});
after(async () => {
  await db?.drop();
});

const expected = expectedFromFiles(defaultDataDir);

test('the default data set is a real menu: 40+ products in 6+ categories, customers, an admin, orders in several statuses', () => {
  const products = readJsonl(`${defaultDataDir}/products.jsonl`);
  const users = readJsonl(`${defaultDataDir}/users.jsonl`);
  const orders = readJsonl(`${defaultDataDir}/orders.jsonl`);
  assert.ok(products.length >= 40);
  assert.ok(new Set(products.map((p) => p.category)).size >= 6);
  for (const p of products) assert.match(p.sku as string, /^[A-Z0-9][A-Z0-9_-]{0,63}$/);
  assert.ok(users.length >= 5);
  const emails = users.map((u) => u.email);
  for (const e of ['alice@example.com', 'bob@example.com', 'admin@example.com'])
    assert.ok(emails.includes(e), e);
  assert.equal(users.find((u) => u.email === 'admin@example.com')?.role, 'admin');
  assert.ok(orders.length >= 10);
  assert.ok(new Set(orders.map((o) => o.status)).size >= 4);
});

test('an unmigrated database: refuses to run, exit 1, one clear line, nothing written', async () => {
  const r = await runLoad(db.url);
  assert.equal(r.code, 1, explain(r));
  assert.match(
    r.stderr,
    /database-load: error: the database schema is at version none .*needs version 5 or later: run database-migration first/,
  );
  const tables = await sql(db, `SELECT 1 FROM pg_tables WHERE schemaname = 'public'`);
  assert.equal(tables.length, 0);
});

test('a fresh migrated database: exit 0, every table holds what the files hold, totals priced from the files', async () => {
  await migrate(db.url);
  const r = await runLoad(db.url);
  assert.equal(r.code, 0, explain(r));
  assert.deepEqual(await tableCounts(db), expected.counts);

  const orders = await sql<{ external_ref: string; total_cents: number; lines: number }>(
    db,
    `SELECT o.external_ref, o.total_cents::int AS total_cents,
            (SELECT count(*)::int FROM order_items i WHERE i.order_id = o.id) AS lines
       FROM orders o`,
  );
  assert.equal(orders.length, expected.totals.size);
  for (const o of orders)
    assert.equal(o.total_cents, expected.totals.get(o.external_ref), o.external_ref);
  const [sums] = await sql<{ mismatched: number }>(
    db,
    `SELECT count(*)::int AS mismatched FROM orders o
      WHERE o.total_cents <> (SELECT sum(quantity * unit_price_cents) FROM order_items i WHERE i.order_id = o.id)`,
  );
  assert.equal(sums!.mismatched, 0);
  const [alice] = await sql<{ orders: number }>(
    db,
    `SELECT count(*)::int AS orders FROM orders o JOIN users u ON u.id = o.user_id WHERE u.email = 'alice@example.com'`,
  );
  assert.ok(alice!.orders >= 1);
  const [admin] = await sql<{ role: string }>(
    db,
    `SELECT role FROM users WHERE email = 'admin@example.com'`,
  );
  assert.equal(admin!.role, 'admin');
  // An order's delivery, where the file gives one; NULL columns where it does not.
  const deliveries = await sql<{ ref: string; address: string | null; note: string | null }>(
    db,
    'SELECT external_ref AS ref, delivery_address AS address, delivery_note AS note FROM orders',
  );
  const files = readJsonl(`${defaultDataDir}/orders.jsonl`) as {
    external_ref: string;
    delivery?: { address: string; note?: string };
  }[];
  assert.ok(files.some((o) => o.delivery?.note) && files.some((o) => !o.delivery));
  for (const o of files)
    assert.deepEqual(
      deliveries.find((d) => d.ref === o.external_ref),
      {
        ref: o.external_ref,
        address: o.delivery?.address ?? null,
        note: o.delivery?.note ?? null,
      },
      o.external_ref,
    );

  const runs = await history(db);
  assert.equal(runs.length, 1);
  assert.equal(runs[0]!.outcome, 'loaded');
  assert.equal(runs[0]!.mode, 'insert');
  assert.match(runs[0]!.dataset_hash, /^[0-9a-f]{64}$/);
  assert.deepEqual(runs[0]!.table_counts.products, {
    inserted: expected.counts.products,
    skipped: 0,
    updated: 0,
  });
  assert.equal(
    runs[0]!.rows_inserted,
    expected.counts.products +
      expected.counts.users +
      expected.counts.orders +
      expected.counts.order_items,
  );
});

/** Everything a rerun could change, to compare before and after. */
async function snapshot(): Promise<unknown[]> {
  return sql(
    db,
    `SELECT 'p' AS t, sku AS k, price_cents::text AS v, updated_at::text AS u FROM products
     UNION ALL SELECT 'u', email, role, updated_at::text FROM users
     UNION ALL SELECT 'o', external_ref, id::text || total_cents, updated_at::text FROM orders
     UNION ALL SELECT 'i', order_id::text || line_no, product_id::text, quantity::text FROM order_items
     ORDER BY 1, 2`,
  );
}

test('a rerun of the unchanged data set: exit 0, nothing changed, history says skipped', async () => {
  const before = await snapshot();
  const r = await runLoad(db.url);
  assert.equal(r.code, 0, explain(r));
  assert.match(r.stdout, /already loaded in this mode; nothing to do/);
  assert.deepEqual(await snapshot(), before);
  const runs = await history(db);
  assert.deepEqual(
    runs.map((h) => h.outcome),
    ['loaded', 'skipped'],
  );
  assert.equal(runs[1]!.dataset_hash, runs[0]!.dataset_hash);
});

test('an admin price change survives a load; --mode upsert restores the price from the file', async () => {
  await sql(db, `UPDATE products SET price_cents = 99 WHERE sku = 'PIZZA-MARGHERITA'`);
  await sql(db, `UPDATE users SET name = 'Alice M.' WHERE email = 'alice@example.com'`);
  const price = async () =>
    (
      await sql<{ p: number }>(
        db,
        `SELECT price_cents AS p FROM products WHERE sku = 'PIZZA-MARGHERITA'`,
      )
    )[0]!.p;

  // Skipped by hash, and with --force through the full insert path: the change is kept either way.
  for (const args of [[], ['--force']]) {
    const r = await runLoad(db.url, args);
    assert.equal(r.code, 0, explain(r));
    assert.equal(await price(), 99, `after load ${args.join(' ')}`);
  }
  const forced = (await history(db)).at(-1)!;
  assert.equal(forced.outcome, 'loaded');
  assert.deepEqual(forced.table_counts.products, {
    inserted: 0,
    skipped: expected.counts.products,
    updated: 0,
  });
  assert.deepEqual(await tableCounts(db), expected.counts);

  const r = await runLoad(db.url, ['--mode', 'upsert']);
  assert.equal(r.code, 0, explain(r));
  assert.equal(await price(), 1150);
  const [alice] = await sql<{ name: string }>(
    db,
    `SELECT name FROM users WHERE email = 'alice@example.com'`,
  );
  assert.equal(alice!.name, 'Alice Martin');
  const upsert = (await history(db)).at(-1)!;
  assert.equal(upsert.mode, 'upsert');
  assert.equal(upsert.outcome, 'loaded');
  assert.deepEqual(upsert.table_counts.products, {
    inserted: 0,
    skipped: expected.counts.products - 1,
    updated: 1,
  });
  assert.deepEqual(upsert.table_counts.users, {
    inserted: 0,
    skipped: expected.counts.users - 1,
    updated: 1,
  });
  assert.deepEqual(upsert.table_counts.orders, {
    inserted: 0,
    skipped: expected.counts.orders,
    updated: 0,
  });
  assert.deepEqual(await tableCounts(db), expected.counts, 'orders are never duplicated');

  const again = await runLoad(db.url, ['--mode', 'upsert']);
  assert.equal(again.code, 0, explain(again));
  assert.equal((await history(db)).at(-1)!.outcome, 'skipped');
});

test('rows deleted from the database come back on a forced load; orders by external_ref only once', async () => {
  await sql(db, `DELETE FROM orders WHERE external_ref = 'SEED-ORDER-0003'`);
  const r = await runLoad(db.url, ['--force']);
  assert.equal(r.code, 0, explain(r));
  assert.deepEqual(await tableCounts(db), expected.counts);
  const last = (await history(db)).at(-1)!;
  assert.equal(last.table_counts.orders!.inserted, 1);
  const [o] = await sql<{ total: number }>(
    db,
    `SELECT total_cents::int AS total FROM orders WHERE external_ref = 'SEED-ORDER-0003'`,
  );
  assert.equal(o!.total, expected.totals.get('SEED-ORDER-0003'));
});

test('status --json: the data set hash, loaded in both modes, the latest runs', async () => {
  const r = await runLoad(db.url, ['status', '--json']);
  assert.equal(r.code, 0, explain(r));
  const status = JSON.parse(r.stdout) as {
    hash: string;
    schemaVersion: number;
    loaded: { insert: boolean; upsert: boolean };
    runs: { outcome: string }[];
  };
  const runs = await history(db);
  assert.equal(status.hash, runs[0]!.dataset_hash);
  assert.ok(status.schemaVersion >= 2);
  assert.deepEqual(status.loaded, { insert: true, upsert: true });
  assert.equal(status.runs.length, runs.length);
  assert.equal(status.runs[0]!.outcome, runs.at(-1)!.outcome);

  const text = await runLoad(db.url, ['status']);
  assert.equal(text.code, 0, explain(text));
  assert.match(text.stdout, /state\s+loaded/);
});

test('spans: one per run under the start-up trace, one per table; the trace id is in the history', async () => {
  await sql(db, `UPDATE products SET price_cents = 1 WHERE sku = 'DRINK-COLA'`);
  const receiver = await new OtlpReceiver().start();
  try {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const r = await runLoad(db.url, ['--mode', 'upsert', '--force'], {
      ...receiver.env(),
      OTEL_SDK_DISABLED: 'false',
      TRACEPARENT: `00-${traceId}-00f067aa0ba902b7-01`,
    });
    assert.equal(r.code, 0, explain(r));
    await receiver.waitFor((spans) => spans.some((s) => s.name === 'dataload.execute'));
    const spans = receiver.byService('database-load');
    const run = spans.find((s) => s.name === 'dataload.execute')!;
    assert.equal(run.traceId, traceId);
    assert.equal(run.parentSpanId, '00f067aa0ba902b7');
    assert.equal(run.attributes['data.outcome'], 'loaded');
    for (const table of ['products', 'users', 'orders', 'order_items']) {
      const span = spans.find((s) => s.name === `database-load ${table}`);
      assert.ok(span, `span for ${table}`);
      assert.equal(span.traceId, traceId);
      assert.equal(span.parentSpanId, run.spanId);
    }
    const products = spans.find((s) => s.name === 'database-load products')!;
    assert.equal(products.attributes['data.rows.updated'], 1);
    assert.equal((await history(db)).at(-1)!.trace_id, traceId);
  } finally {
    await receiver.stop();
  }
});

test('a rerun on unchanged files skips on their stat alone; a touched file is hashed, an edited one loaded', async () => {
  const dir = copyDataSet();
  try {
    // Files changed in the last seconds are not trusted by their stat: the program's clock runs
    // ahead, so the copy (and each change below) is past that window.
    const load = () => runLoadLater(db.url, ['--dir', dir], 10_000);
    const runs = async () => (await history(db)).length;
    const before = await runs();
    const first = await load();
    assert.equal(first.code, 0, explain(first));
    assert.match(first.stdout, /"by":"hash".*already loaded in this mode/);
    const again = await load();
    assert.equal(again.code, 0, explain(again));
    assert.match(again.stdout, /"by":"manifest".*already loaded in this mode/);

    // Same bytes, another modification time: hashed, still the loaded data set.
    const orders = join(dir, 'orders.jsonl');
    const past = new Date(Date.now() - 3_600_000);
    utimesSync(orders, past, past);
    const touched = await load();
    assert.equal(touched.code, 0, explain(touched));
    assert.match(touched.stdout, /"by":"hash".*already loaded in this mode/);

    // Same size and modification time, other bytes: the change time differs, so it is read.
    const text = readFileSync(orders, 'utf8');
    writeFileSync(orders, text.replace('"quantity": 2', '"quantity": 3'));
    utimesSync(orders, past, past);
    const edited = await load();
    assert.equal(edited.code, 0, explain(edited));
    assert.match(edited.stdout, /data set loaded/);
    const outcomes = (await history(db)).slice(before).map((h) => h.outcome);
    assert.deepEqual(outcomes, ['skipped', 'skipped', 'skipped', 'loaded']);
  } finally {
    removeDir(dir);
  }
});
