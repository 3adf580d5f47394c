import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { repoRoot } from '@order-food/platform/testing/run-program';
import { createTestDatabase, type TestDatabase } from '@order-food/platform/testing/test-database';
import { statementLocks } from '../src/locks.js';
import { parseMigration } from '../src/migration-files.js';
import { planMigrations } from '../src/plan.js';
import { formatRolloutPlan, type RolloutPlan, rolloutPlan } from '../src/rollout-plan.js';
import { explain, migrationsCopy, removeDir, runMigration } from './helpers.js';

let db: TestDatabase;
let dir: string;

before(async () => {
  db = await createTestDatabase('migration_plan');
  dir = migrationsCopy();
});
after(async () => {
  await db?.drop();
  if (dir) removeDir(dir);
});

const pendingFiles = {
  '0905_order_courier.sql': `-- Orders gain a gift message and a courier; nullable, so the release still running
-- keeps inserting orders without them.
ALTER TABLE orders ADD COLUMN gift_message text;
ALTER TABLE orders ADD COLUMN courier_note text, ADD COLUMN courier_id uuid REFERENCES users (id);
UPDATE orders SET courier_note = '' WHERE false;
`,
  '0906_orders_updated_index.sql': `-- migrate:no-transaction
CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_updated_idx ON orders (updated_at);
`,
};

test('a database one release behind: plan lists the pending statements and their locks', async () => {
  const migrated = await runMigration(db, ['--dir', dir]);
  assert.equal(migrated.code, 0, explain(migrated));
  for (const [name, sql] of Object.entries(pendingFiles)) writeFileSync(join(dir, name), sql);

  const r = await runMigration(db, ['plan', '--json', '--dir', dir]);
  assert.equal(r.code, 0, explain(r));
  const plan = JSON.parse(r.stdout) as RolloutPlan;
  assert.equal(plan.lockTimeoutMs, 5000);
  const summary = plan.pending.map((m) => ({
    file: m.fileName,
    transactional: m.transactional,
    statements: m.statements.map((s) => [
      s.line,
      s.kind,
      s.locks.map((l) => `${l.mode} on ${l.table}: ${l.blocks.join(', ') || '-'}`),
    ]),
    held: m.heldUntilCommit?.map((l) => `${l.mode} on ${l.table}`) ?? null,
  }));
  const ae = 'reads, SELECT FOR UPDATE, writes';
  assert.deepEqual(summary, [
    {
      file: '0905_order_courier.sql',
      transactional: true,
      statements: [
        [3, 'ALTER TABLE ADD COLUMN', [`ACCESS EXCLUSIVE on orders: ${ae}`]],
        [
          4,
          'ALTER TABLE ADD COLUMN',
          [`ACCESS EXCLUSIVE on orders: ${ae}`, 'SHARE ROW EXCLUSIVE on users: writes'],
        ],
        [5, 'UPDATE', ['ROW EXCLUSIVE on orders: -']],
      ],
      held: ['ACCESS EXCLUSIVE on orders', 'SHARE ROW EXCLUSIVE on users'],
    },
    {
      file: '0906_orders_updated_index.sql',
      transactional: false,
      statements: [[2, 'CREATE INDEX CONCURRENTLY', ['SHARE UPDATE EXCLUSIVE on orders: -']]],
      held: null,
    },
  ]);
  assert.equal(
    plan.pending[0]!.statements[0]!.sql,
    'ALTER TABLE orders ADD COLUMN gift_message text',
  );

  const text = await runMigration(db, ['plan', '--dir', dir]);
  assert.equal(text.code, 0, explain(text));
  assert.match(text.stdout, /^2 pending migration\(s\), in the order migrate applies them/);
  assert.match(
    text.stdout,
    /0905_order_courier\.sql: one transaction; every lock below is held until it commits\n {2}line 3: ALTER TABLE orders ADD COLUMN gift_message text\n {4}ACCESS EXCLUSIVE on orders \(blocks reads, SELECT FOR UPDATE, writes\)\n/,
  );
  assert.match(
    text.stdout,
    /held until commit: ACCESS EXCLUSIVE on orders \(blocks reads, SELECT FOR UPDATE, writes\); SHARE ROW EXCLUSIVE on users \(blocks writes\)/,
  );
  assert.match(
    text.stdout,
    /0906_orders_updated_index\.sql: no transaction; each statement commits alone[^\n]*\n {2}line 2: CREATE INDEX CONCURRENTLY[^\n]*\n {4}SHARE UPDATE EXCLUSIVE on orders \(reads and writes go on\)\n/,
  );

  // plan reads only: migrate still has both to apply.
  const applied = await runMigration(db, ['--dir', dir]);
  assert.equal(applied.code, 0, explain(applied));
  assert.match(applied.stdout, /2 migration\(s\) to apply/);
});

test('a database at the newest version: plan says nothing is pending', async () => {
  const r = await runMigration(db, ['plan', '--dir', dir]);
  assert.equal(r.code, 0, explain(r));
  assert.equal(r.stdout, 'nothing pending: the schema is up to date\n');
  const json = await runMigration(db, ['plan', '--json', '--dir', dir]);
  assert.equal(json.code, 0, explain(json));
  assert.deepEqual(JSON.parse(json.stdout), { lockTimeoutMs: 5000, pending: [] });
});

test('plan refuses as migrate would when an applied file changed', async () => {
  writeFileSync(join(dir, '0905_order_courier.sql'), `${pendingFiles['0905_order_courier.sql']}\n`);
  const r = await runMigration(db, ['plan', '--dir', dir]);
  assert.equal(r.code, 1, explain(r));
  assert.match(r.stderr, /migrate would refuse to run: 0905_order_courier\.sql was changed/);
});

test('the lock table: PostgreSQL documented lock per statement kind', () => {
  const cases: [string, string, string[]][] = [
    ['CREATE INDEX i ON orders (x)', 'CREATE INDEX', ['SHARE on orders']],
    [
      'create unique index concurrently if not exists i on public.orders (x)',
      'CREATE INDEX CONCURRENTLY',
      ['SHARE UPDATE EXCLUSIVE on public.orders'],
    ],
    [
      'DROP INDEX CONCURRENTLY IF EXISTS i',
      'DROP INDEX CONCURRENTLY',
      ['SHARE UPDATE EXCLUSIVE on table of index i'],
    ],
    [
      'ALTER TABLE orders ALTER COLUMN total_cents TYPE numeric',
      'ALTER TABLE ALTER COLUMN TYPE',
      ['ACCESS EXCLUSIVE on orders'],
    ],
    [
      'ALTER TABLE orders RENAME COLUMN a TO b',
      'ALTER TABLE RENAME COLUMN',
      ['ACCESS EXCLUSIVE on orders'],
    ],
    [
      'ALTER TABLE orders DROP COLUMN note',
      'ALTER TABLE DROP COLUMN',
      ['ACCESS EXCLUSIVE on orders'],
    ],
    [
      'ALTER TABLE orders ADD CONSTRAINT f FOREIGN KEY (u) REFERENCES users (id) NOT VALID',
      'ALTER TABLE ADD FOREIGN KEY',
      ['SHARE ROW EXCLUSIVE on orders', 'SHARE ROW EXCLUSIVE on users'],
    ],
    [
      'ALTER TABLE orders VALIDATE CONSTRAINT f',
      'ALTER TABLE VALIDATE CONSTRAINT',
      ['SHARE UPDATE EXCLUSIVE on orders'],
    ],
    [
      'ALTER TABLE ONLY orders ALTER COLUMN note SET NOT NULL',
      'ALTER TABLE ALTER COLUMN SET NOT NULL',
      ['ACCESS EXCLUSIVE on orders'],
    ],
    [
      'CREATE TRIGGER t AFTER INSERT ON products FOR EACH ROW EXECUTE FUNCTION f()',
      'CREATE TRIGGER',
      ['SHARE ROW EXCLUSIVE on products'],
    ],
    [
      'DROP TABLE IF EXISTS a, b CASCADE',
      'DROP TABLE',
      ['ACCESS EXCLUSIVE on a', 'ACCESS EXCLUSIVE on b'],
    ],
    ['TRUNCATE orders', 'TRUNCATE', ['ACCESS EXCLUSIVE on orders']],
    ['INSERT INTO products (sku) VALUES ($$a;b$$)', 'INSERT', ['ROW EXCLUSIVE on products']],
    ['DELETE FROM ONLY orders WHERE false', 'DELETE', ['ROW EXCLUSIVE on orders']],
    ['LOCK TABLE orders IN SHARE ROW EXCLUSIVE MODE', 'LOCK', ['SHARE ROW EXCLUSIVE on orders']],
    [
      'REFRESH MATERIALIZED VIEW CONCURRENTLY v',
      'REFRESH MATERIALIZED VIEW CONCURRENTLY',
      ['EXCLUSIVE on v'],
    ],
    [
      'CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$',
      'CREATE FUNCTION',
      [],
    ],
  ];
  for (const [sql, kind, locks] of cases) {
    const found = statementLocks(sql);
    assert.equal(found.kind, kind, sql);
    assert.equal(found.known, true, sql);
    assert.deepEqual(
      found.locks.map((l) => `${l.mode} on ${l.table}`),
      locks,
      sql,
    );
  }
  assert.equal(statementLocks('CLUSTER orders USING i').known, false);
  const check = 'ALTER TABLE orders ADD CONSTRAINT c CHECK (length(note) < 9)';
  assert.match(statementLocks(check).note ?? '', /^scans the table/);
  assert.equal(statementLocks(`${check} NOT VALID`).note, undefined);
});

test('the sample plan in docs/DEPLOYMENT.md is what plan prints for its two files', () => {
  const docs = readFileSync(join(repoRoot, 'docs/DEPLOYMENT.md'), 'utf8');
  const sample = /```text\n(\d+ pending migration[\s\S]*?)```/.exec(docs)?.[1];
  assert.ok(sample, 'a sample plan in docs/DEPLOYMENT.md');
  const sources: Record<string, string> = {
    '0005_order_delivery.sql':
      '-- Orders gain a delivery address and note: nullable, so the release still running keeps\n-- inserting orders without them.\nALTER TABLE orders ADD COLUMN delivery_address text;\nALTER TABLE orders ADD COLUMN delivery_note text;\n',
    '0006_orders_updated_index.sql': pendingFiles['0906_orders_updated_index.sql'],
  };
  const files = Object.entries(sources).map(([name, sql]) =>
    parseMigration(name, `/m/${name}`, Buffer.from(sql)),
  );
  const plan = rolloutPlan(planMigrations(files, []), 5000);
  assert.equal(formatRolloutPlan(plan), sample);
});
