import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { repoRoot } from '@order-food/platform/testing/run-program';
import { createTestDatabase, type TestDatabase } from '@order-food/platform/testing/test-database';
import { explain, migrationsCopy, removeDir, rows, runMigration } from './helpers.js';

/**
 * The contract step docs/DEPLOYMENT.md describes for the delivery address (backfill and a NOT
 * VALID check, then VALIDATE and SET NOT NULL) runs as written: its two sql blocks, as migration
 * files after this release's, on a database holding orders with and without an address.
 */

const doc = readFileSync(join(repoRoot, 'docs/DEPLOYMENT.md'), 'utf8');
const blocks = [...doc.matchAll(/```sql\n(-- 00NN_(\w+)\.sql:[\s\S]*?)```/g)].map((m) => ({
  name: m[2]!,
  sql: m[1]!,
}));

let db: TestDatabase;
const dirs: string[] = [];

before(async () => {
  db = await createTestDatabase('contract_docs');
  const r = await runMigration(db);
  assert.equal(r.code, 0, explain(r));
  await rows(
    db,
    `WITH u AS (
       INSERT INTO users (email, name) VALUES ('contract@example.com', 'Contract') RETURNING id
     )
     INSERT INTO orders (user_id, total_cents, delivery_address)
     SELECT id, 100, address FROM u, (VALUES (NULL), ('1 Main St')) AS a(address)`,
  );
});

after(async () => {
  await db?.drop();
  for (const dir of dirs) removeDir(dir);
});

test('the docs give the contract step as two migration files', () => {
  assert.deepEqual(
    blocks.map((b) => b.name),
    ['order_delivery_address_backfill', 'order_delivery_address_required'],
  );
});

test('the two files run as migrations and leave delivery_address NOT NULL, old orders backfilled', async () => {
  const dir = migrationsCopy(
    Object.fromEntries(blocks.map((b, i) => [`090${i + 1}_${b.name}.sql`, b.sql])),
  );
  dirs.push(dir);
  const r = await runMigration(db, ['--dir', dir]);
  assert.equal(r.code, 0, explain(r));
  const [column] = await rows<{ is_nullable: string }>(
    db,
    `SELECT is_nullable FROM information_schema.columns
      WHERE table_name = 'orders' AND column_name = 'delivery_address'`,
  );
  assert.equal(column!.is_nullable, 'NO');
  assert.deepEqual(
    (
      await rows<{ delivery_address: string }>(
        db,
        'SELECT delivery_address FROM orders ORDER BY delivery_address',
      )
    ).map((o) => o.delivery_address),
    ['1 Main St', 'collected in store'],
  );
  // The helper check is gone; the length checks of the expand step stay.
  const checks = await rows<{ conname: string }>(
    db,
    `SELECT conname FROM pg_constraint
      WHERE conrelid = 'orders'::regclass AND conname LIKE 'orders_delivery%' ORDER BY conname`,
  );
  assert.deepEqual(
    checks.map((c) => c.conname),
    ['orders_delivery_address_length', 'orders_delivery_note_length'],
  );
  await assert.rejects(
    rows(db, `UPDATE orders SET delivery_address = NULL`),
    /null value in column "delivery_address"/,
  );
});
