import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  createTestDatabase,
  sql,
  type TestDatabase,
} from '@order-food/platform/testing/test-database';
import {
  defaultDataDir,
  explain,
  migrate,
  readJsonl,
  removeDir,
  runLoad,
  tableCounts,
} from './helpers.js';

// Nothing listens here: usage is checked before any database is reached.
const nowhere = 'postgres://postgres@127.0.0.1:9/none';
const production = { ENVIRONMENT: 'production' };
const products = readJsonl(join(defaultDataDir, 'products.jsonl')).length;

let db: TestDatabase;
const dirs: string[] = [];
before(async () => {
  db = await createTestDatabase('production_data');
  await migrate(db.url);
});
after(async () => {
  await db?.drop();
  for (const dir of dirs) removeDir(dir);
});

async function users(): Promise<{ email: string; role: string }[]> {
  return sql(db, 'SELECT email, role FROM users ORDER BY email');
}

test('ENVIRONMENT=production loads the menu alone: no demo users, no orders; again, nothing', async () => {
  const r = await runLoad(db.url, [], production);
  assert.equal(r.code, 0, explain(r));
  const counts = await tableCounts(db);
  assert.equal(counts.products, products);
  assert.equal(counts.users, 0);
  assert.equal(counts.orders, 0);

  const again = await runLoad(db.url, [], production);
  assert.equal(again.code, 0, explain(again));
  assert.match(again.stdout, /already loaded/);
  assert.deepEqual(await tableCounts(db), counts);
});

test('create-admin: one line; created, then unchanged; a customer is promoted', async () => {
  const first = await runLoad(db.url, ['create-admin', '--email', 'Ops@Example.org'], production);
  assert.equal(first.code, 0, explain(first));
  assert.match(first.stdout, /^admin ops@example\.org created \(id [0-9a-f-]{36}\)\n$/);
  const second = await runLoad(db.url, ['create-admin', '--email', 'ops@example.org']);
  assert.equal(second.code, 0, explain(second));
  assert.match(second.stdout, /^admin ops@example\.org already an admin, unchanged \(id /);
  assert.equal(first.stdout.match(/id ([^)]+)/)![1], second.stdout.match(/id ([^)]+)/)![1]);
  const [ops] = await sql<{ name: string }>(
    db,
    "SELECT name FROM users WHERE email = 'ops@example.org'",
  );
  assert.equal(ops!.name, 'ops', 'the name defaults to the part before the @');

  await sql(db, "INSERT INTO users (email, name) VALUES ('kim@example.org', 'Kim')");
  const promoted = await runLoad(db.url, ['create-admin', '--email', 'kim@example.org']);
  assert.equal(promoted.code, 0, explain(promoted));
  assert.match(promoted.stdout, /^admin kim@example\.org promoted from customer to admin/);
  assert.deepEqual(await users(), [
    { email: 'kim@example.org', role: 'admin' },
    { email: 'ops@example.org', role: 'admin' },
  ]);
});

test('ADMIN_EMAIL makes the load create the admin after loading, idempotently', async () => {
  const env = { ...production, ADMIN_EMAIL: 'lead@example.org', ADMIN_NAME: 'Lead' };
  for (let i = 0; i < 2; i++) {
    const r = await runLoad(db.url, [], env);
    assert.equal(r.code, 0, explain(r));
  }
  const rows = await sql(db, "SELECT name, role FROM users WHERE email = 'lead@example.org'");
  assert.deepEqual(rows, [{ name: 'Lead', role: 'admin' }]);
});

test('DATA_SET=demo loads the demo users and orders where ENVIRONMENT=production', async () => {
  const r = await runLoad(db.url, [], { ...production, DATA_SET: 'demo' });
  assert.equal(r.code, 0, explain(r));
  const emails = (await users()).map((u) => u.email);
  assert.ok(emails.includes('admin@example.com'));
  assert.ok((await tableCounts(db)).orders > 0);
});

test("DATA_DIR: an operator's own data set, its users and orders files empty; validate checks one", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'own-data-'));
  dirs.push(dir);
  writeFileSync(
    join(dir, 'products.jsonl'),
    `${JSON.stringify({ sku: 'HOUSE-SOUP', name: 'Soup of the day', category: 'soup', price_cents: 650 })}\n`,
  );
  writeFileSync(join(dir, 'users.jsonl'), '');
  writeFileSync(join(dir, 'orders.jsonl'), '');
  const valid = await runLoad(nowhere, ['validate'], { DATA_DIR: dir });
  assert.equal(valid.code, 0, explain(valid));
  assert.match(valid.stdout, /^valid: .*: 1 products, 0 users, 0 orders/);
  const r = await runLoad(db.url, [], { ...production, DATA_DIR: dir });
  assert.equal(r.code, 0, explain(r));
  const [soup] = await sql(db, "SELECT name FROM products WHERE sku = 'HOUSE-SOUP'");
  assert.deepEqual(soup, { name: 'Soup of the day' });

  const bad = mkdtempSync(join(tmpdir(), 'own-data-'));
  dirs.push(bad);
  for (const f of ['products.jsonl', 'users.jsonl']) copyFileSync(join(dir, f), join(bad, f));
  writeFileSync(join(bad, 'orders.jsonl'), '{"external_ref": "X-1"}\n');
  const invalid = await runLoad(nowhere, ['validate', '--dir', bad]);
  assert.equal(invalid.code, 1, explain(invalid));
  assert.match(
    invalid.stderr,
    /orders\.jsonl line 1 \(order "X-1"\): field "user_email" is missing/,
  );
});

test('status lists the runs: number, outcome, trace id and error', async () => {
  const traceId = '5bf92f3577b34da6a3ce929d0e0e4736';
  const dir = mkdtempSync(join(tmpdir(), 'own-data-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'products.jsonl'), '');
  writeFileSync(join(dir, 'users.jsonl'), '');
  writeFileSync(join(dir, 'orders.jsonl'), '');
  // A lock wait that runs out is a failed run with an error: hold the loader's lock meanwhile.
  const holder = db.admin();
  await holder.connect();
  await holder.query('BEGIN');
  await holder.query('SELECT pg_advisory_xact_lock(1330007108, 1)');
  const blocked = await runLoad(db.url, ['--dir', dir], {
    LOAD_LOCK_TIMEOUT: '0',
    TRACEPARENT: `00-${traceId}-00f067aa0ba902b7-01`,
  });
  await holder.query('ROLLBACK');
  assert.equal(blocked.code, 1, explain(blocked));
  const status = await runLoad(db.url, ['status', '--dir', dir]);
  assert.equal(status.code, 0, explain(status));
  const line = status.stdout.split('\n').find((l) => l.includes(traceId));
  assert.ok(line, status.stdout);
  assert.match(line, /^ {2}#\d+ .* failed .* error: .*data load lock/);
});

test('bad usage exits 2 with one line, before any database', async () => {
  const cases: [string[], Record<string, string>, RegExp][] = [
    [['create-admin'], {}, /create-admin needs --email EMAIL/],
    [['create-admin', '--email', 'not-an-address'], {}, /--email is not an email address/],
    [['create-admin', '--email', 'a@example.org', '--name', ''], {}, /--name /],
    [['create-admin', '--email', 'a@example.org', 'extra'], {}, /unexpected argument "extra"/],
    [['--email', 'a@example.org'], {}, /--email goes with the create-admin command/],
    [[], { DATA_SET: 'everything' }, /DATA_SET must be one of demo, menu/],
    [['--dir', '/tmp'], { DATA_SET: 'demo' }, /DATA_SET=demo names a bundled data set and --dir/],
    [[], { ADMIN_EMAIL: 'nobody' }, /ADMIN_EMAIL is not an email address/],
  ];
  const results = await Promise.all(cases.map(([args, env]) => runLoad(nowhere, args, env)));
  cases.forEach(([args, , message], i) => {
    const r = results[i]!;
    assert.equal(r.code, 2, `${args.join(' ')}: ${explain(r)}`);
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('database-load: error:'));
    assert.equal(lines.length, 1, explain(r));
    assert.match(lines[0]!, message);
  });
});
