import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createTestDatabase, type TestDatabase } from '@order-food/platform/testing/test-database';
import { verifyIndexes } from '../src/index-validity.js';
import { explain, migrationsCopy, removeDir, rows, runMigration, withDatabase } from './helpers.js';

let db: TestDatabase;
let dir: string;

before(async () => {
  db = await createTestDatabase('migration_concurrently');
  dir = migrationsCopy({
    '0960_concurrent_indexes.sql': `-- migrate:no-transaction
-- Built without blocking writes to the tables.
CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_external_ref_created_idx
  ON orders (external_ref, created_at);
CREATE INDEX CONCURRENTLY products_available_name_idx ON products (name) WHERE available;
`,
  });
});
after(async () => {
  await db?.drop();
  if (dir) removeDir(dir);
});

interface IndexRow {
  name: string;
  valid: boolean;
}

function indexes(names: string[]): Promise<IndexRow[]> {
  return rows<IndexRow>(
    db,
    `SELECT c.relname AS name, i.indisvalid AS valid
       FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
      WHERE c.relname = ANY($1) ORDER BY c.relname`,
    [names],
  );
}

test('a no-transaction file runs CREATE INDEX CONCURRENTLY and its indexes come out valid', async () => {
  const r = await runMigration(db, ['--dir', dir]);
  assert.equal(r.code, 0, explain(r));
  assert.match(r.stdout, /"transactional":false[^\n]*applying 0960_concurrent_indexes\.sql/);
  assert.deepEqual(
    await indexes(['orders_external_ref_created_idx', 'products_available_name_idx']),
    [
      { name: 'orders_external_ref_created_idx', valid: true },
      { name: 'products_available_name_idx', valid: true },
    ],
  );
  const [row] = await rows<{ success: boolean }>(
    db,
    'SELECT success FROM schema_migrations WHERE version = 960',
  );
  assert.equal(row!.success, true);
});

test('a concurrent build that fails is reported, its invalid index dropped, and the next run builds it', async () => {
  await rows(
    db,
    `INSERT INTO users (email, name) VALUES ('a@example.com', 'Sam'), ('b@example.com', 'Sam')`,
  );
  writeFileSync(
    join(dir, '0961_unique_user_names.sql'),
    '-- migrate:no-transaction\nCREATE UNIQUE INDEX CONCURRENTLY users_name_key ON users (name);\n',
  );
  const r = await runMigration(db, ['--dir', dir]);
  assert.equal(r.code, 1, explain(r));
  assert.match(
    r.stderr,
    /migration 0961_unique_user_names\.sql failed at statement 1 and stopped \(it runs outside a transaction.*could not create unique index "users_name_key"/,
  );
  assert.deepEqual(await indexes(['users_name_key']), [], 'the invalid leftover is gone');
  const [row] = await rows<{ success: boolean }>(
    db,
    'SELECT success FROM schema_migrations WHERE version = 961',
  );
  assert.equal(row!.success, false);

  await rows(db, `UPDATE users SET name = 'Sam B' WHERE email = 'b@example.com'`);
  const again = await runMigration(db, ['--dir', dir]);
  assert.equal(again.code, 0, explain(again));
  assert.deepEqual(await indexes(['users_name_key']), [{ name: 'users_name_key', valid: true }]);
});

test('an index that exists but is not valid fails the check, naming index and file', async () => {
  await withDatabase(db, async (q) => {
    await q.exec('CREATE INDEX orders_probe_idx ON orders (updated_at)');
    await q.exec(
      "UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'orders_probe_idx'::regclass",
    );
    await assert.rejects(
      verifyIndexes(q, ['orders_probe_idx'], '0999_probe.sql'),
      /0999_probe\.sql: index orders_probe_idx came out invalid/,
    );
    await assert.rejects(
      verifyIndexes(q, ['no_such_idx'], '0999_probe.sql'),
      /index no_such_idx does not exist/,
    );
    await verifyIndexes(q, ['orders_external_ref_created_idx'], '0960_concurrent_indexes.sql');
  });
});

test('a no-transaction file must name its indexes', async () => {
  const unnamed = migrationsCopy({
    '0970_unnamed.sql':
      '-- migrate:no-transaction\nCREATE INDEX CONCURRENTLY ON orders (updated_at);\n',
  });
  try {
    const r = await runMigration(db, ['--dir', unnamed]);
    assert.equal(r.code, 1, explain(r));
    assert.match(r.stderr, /0970_unnamed\.sql: name every index it creates/);
  } finally {
    removeDir(unnamed);
  }
});
