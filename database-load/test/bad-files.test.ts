import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  createTestDatabase,
  sql,
  type TestDatabase,
} from '@order-food/platform/testing/test-database';
import {
  copyDataSet,
  explain,
  history,
  migrate,
  removeDir,
  runLoad,
  tableCounts,
} from './helpers.js';

let db: TestDatabase;
const dirs: string[] = [];
before(async () => {
  db = await createTestDatabase('load_bad_files');
  await migrate(db.url);
});
after(async () => {
  for (const dir of dirs) removeDir(dir);
  await db?.drop();
});

/** A copy of the default data set with line `line` (1-based) of `file` passed through edit. */
function withLine(file: string, line: number, edit: (text: string) => string): string {
  const dir = copyDataSet();
  dirs.push(dir);
  const path = join(dir, file);
  const lines = readFileSync(path, 'utf8').split('\n');
  lines[line - 1] = edit(lines[line - 1]!);
  writeFileSync(path, lines.join('\n'));
  return dir;
}

function jsonEdit(change: (o: Record<string, unknown>) => void): (text: string) => string {
  return (text) => {
    const o = JSON.parse(text) as Record<string, unknown>;
    change(o);
    return JSON.stringify(o);
  };
}

const cases: { name: string; dir: () => string; message: RegExp }[] = [
  {
    name: 'malformed JSON',
    dir: () => withLine('products.jsonl', 3, (t) => t.slice(0, 30)),
    message: /products\.jsonl line 3: is not valid JSON/,
  },
  {
    name: 'a missing field',
    dir: () =>
      withLine(
        'products.jsonl',
        5,
        jsonEdit((o) => {
          delete o.price_cents;
        }),
      ),
    message: /products\.jsonl line 5 \(sku "PIZZA-FUNGHI"\): field "price_cents" is missing/,
  },
  {
    name: 'a negative price',
    dir: () =>
      withLine(
        'products.jsonl',
        2,
        jsonEdit((o) => {
          o.price_cents = -100;
        }),
      ),
    message:
      /products\.jsonl line 2 \(sku "PIZZA-MARINARA"\): field "price_cents" must be non-negative, got -100/,
  },
  {
    name: 'an order naming an unknown sku',
    dir: () =>
      withLine(
        'orders.jsonl',
        4,
        jsonEdit((o) => {
          (o.items as { sku: string }[])[1]!.sku = 'NO-SUCH-DISH';
        }),
      ),
    message:
      /orders\.jsonl line 4 \(order "SEED-ORDER-0004"\): field "items\[1\]\.sku" names unknown product "NO-SUCH-DISH"/,
  },
  {
    name: 'an order naming an unknown email',
    dir: () =>
      withLine(
        'orders.jsonl',
        2,
        jsonEdit((o) => {
          o.user_email = 'nobody@example.com';
        }),
      ),
    message:
      /orders\.jsonl line 2 \(order "SEED-ORDER-0002"\): field "user_email" names unknown user "nobody@example.com"/,
  },
  {
    name: 'a sku that breaks the format',
    dir: () =>
      withLine(
        'products.jsonl',
        1,
        jsonEdit((o) => {
          o.sku = 'pizza margherita';
        }),
      ),
    message: /products\.jsonl line 1 \(sku "pizza margherita"\): field "sku" must match/,
  },
  {
    name: 'an email in upper case',
    dir: () =>
      withLine(
        'users.jsonl',
        3,
        jsonEdit((o) => {
          o.email = 'Bob@Example.com';
        }),
      ),
    message: /users\.jsonl line 3 \(email "Bob@Example\.com"\): field "email" must be lower case/,
  },
  {
    name: 'a repeated sku',
    dir: () =>
      withLine(
        'products.jsonl',
        4,
        jsonEdit((o) => {
          o.sku = 'PIZZA-MARGHERITA';
        }),
      ),
    message:
      /products\.jsonl line 4 \(sku "PIZZA-MARGHERITA"\): field "sku" repeats the sku of line 1/,
  },
  {
    name: 'a repeated external_ref (found in the staging table)',
    dir: () =>
      withLine(
        'orders.jsonl',
        9,
        jsonEdit((o) => {
          o.external_ref = 'SEED-ORDER-0002';
        }),
      ),
    message:
      /orders\.jsonl line 9 \(order "SEED-ORDER-0002"\): field "external_ref" repeats the external_ref of line 2/,
  },
  {
    name: 'U+0000 in a name',
    dir: () => withLine('products.jsonl', 2, (t) => t.replace('"Marinara"', '"Mari\\u0000nara"')),
    message:
      /products\.jsonl line 2 \(sku "PIZZA-MARINARA"\): field "name" contains U\+0000 \(NUL\)/,
  },
  {
    name: 'a lone surrogate in a name',
    dir: () => withLine('users.jsonl', 3, (t) => t.replace('"Bob Nguyen"', '"Bob \\ud800"')),
    message:
      /users\.jsonl line 3 \(email "bob@example\.com"\): field "name" is not valid Unicode: a lone surrogate U\+D800/,
  },
  {
    name: 'bytes that are not UTF-8',
    dir: () => {
      const dir = withLine('products.jsonl', 4, (t) =>
        t.replace('"description": "', '"description": "\u0001'),
      );
      const path = join(dir, 'products.jsonl');
      const bytes = readFileSync(path);
      // The placeholder byte 0x01 becomes 0xFF, which no UTF-8 text holds.
      bytes[bytes.indexOf(1)] = 0xff;
      writeFileSync(path, bytes);
      return dir;
    },
    message: /products\.jsonl line 4: is not valid UTF-8 text/,
  },
  ...[
    ['2026-02-30T12:00:00Z', /names a day that does not exist \(2026-02-30\)/],
    ['2025-02-29T12:00:00Z', /names a day that does not exist \(2025-02-29\)/],
    ['2026-04-31T12:00:00+02:00', /names a day that does not exist/],
    ['2026-01-05T24:00:00Z', /names a time of day that does not exist/],
    ['0000-06-01T00:00:00Z', /is outside the years 0001 to 9999/],
    ['9999-12-31T23:00:00-02:00', /is outside the years 0001 to 9999/],
    ['2026-01-05T18:42:00+16:00', /has an offset beyond/],
  ].map(([at, message]) => ({
    name: `created_at ${at}`,
    dir: () =>
      withLine(
        'orders.jsonl',
        6,
        jsonEdit((o) => {
          o.created_at = at;
        }),
      ),
    message: new RegExp(
      `orders\\.jsonl line 6 \\(order "SEED-ORDER-0006"\\): field "created_at" ${(message as RegExp).source}`,
    ),
  })),
  {
    name: 'an empty delivery address',
    dir: () =>
      withLine(
        'orders.jsonl',
        3,
        jsonEdit((o) => {
          o.delivery = { address: '' };
        }),
      ),
    message:
      /orders\.jsonl line 3 \(order "SEED-ORDER-0003"\): field "delivery\.address" must be 1 to 500 characters, got 0/,
  },
  {
    name: 'a delivery field the model does not have',
    dir: () =>
      withLine(
        'orders.jsonl',
        3,
        jsonEdit((o) => {
          o.delivery = { address: 'x', floor: 3 };
        }),
      ),
    message:
      /orders\.jsonl line 3 \(order "SEED-ORDER-0003"\): field "delivery\.floor" is not a known field \(expected address, note\)/,
  },
  {
    name: 'a price beyond the menu limit',
    dir: () =>
      withLine(
        'products.jsonl',
        1,
        jsonEdit((o) => {
          o.price_cents = 10_000_001;
        }),
      ),
    message: /field "price_cents" must be at most 10000000, got 10000001/,
  },
  {
    name: 'an order of more lines than the API takes',
    dir: () => {
      const dir = copyDataSet();
      dirs.push(dir);
      const path = join(dir, 'orders.jsonl');
      const lines = readFileSync(path, 'utf8').split('\n');
      const order = JSON.parse(lines[0]!) as { items: unknown[] };
      order.items = Array.from({ length: 101 }, () => ({ sku: 'PIZZA-MARGHERITA', quantity: 1 }));
      lines[0] = JSON.stringify(order);
      writeFileSync(path, lines.join('\n'));
      return dir;
    },
    message:
      /orders\.jsonl line 1 \(order "SEED-ORDER-0001"\): field "items" must have at most 100 entries, got 101/,
  },
  {
    name: 'a missing file',
    dir: () => {
      const dir = copyDataSet();
      dirs.push(dir);
      rmSync(join(dir, 'users.jsonl'));
      return dir;
    },
    message: /users\.jsonl: is missing/,
  },
];

test('each bad data set: exit 1, one line naming the file, the record and the field, zero rows written', async () => {
  const prepared = cases.map((c) => ({ ...c, path: c.dir() }));
  const results = await Promise.all(
    prepared.map((c) => runLoad(db.url, ['--dir', c.path], {}, 180_000)),
  );
  prepared.forEach((c, i) => {
    const r = results[i]!;
    assert.equal(r.code, 1, `${c.name}: ${explain(r)}`);
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('database-load: error:'));
    assert.equal(lines.length, 1, `${c.name}: ${explain(r)}`);
    assert.match(lines[0]!, c.message, c.name);
    assert.ok(lines[0]!.includes(c.path), `${c.name}: names the file's path`);
    assert.match(lines[0]!, /nothing was loaded/, c.name);
  });
  assert.deepEqual(await tableCounts(db), { users: 0, products: 0, orders: 0, order_items: 0 });
  assert.equal(
    (await history(db)).length,
    0,
    'a data set that fails validation never reaches the database',
  );
});

test('a failure inside the load rolls back every table: one transaction, the run recorded as failed', async () => {
  await sql(
    db,
    `CREATE FUNCTION refuse_line() RETURNS trigger LANGUAGE plpgsql AS
       $$ BEGIN RAISE EXCEPTION 'order lines are refused for this test'; END $$`,
  );
  await sql(
    db,
    `CREATE TRIGGER refuse_line BEFORE INSERT ON order_items FOR EACH ROW EXECUTE FUNCTION refuse_line()`,
  );
  try {
    const r = await runLoad(db.url);
    assert.equal(r.code, 1, explain(r));
    assert.match(r.stderr, /database-load: error: order lines are refused for this test/);
    assert.deepEqual(await tableCounts(db), { users: 0, products: 0, orders: 0, order_items: 0 });
    const runs = await history(db);
    assert.equal(runs.length, 1);
    assert.equal(runs[0]!.outcome, 'failed');
    assert.match(runs[0]!.error ?? '', /order lines are refused/);
  } finally {
    await sql(db, 'DROP TRIGGER refuse_line ON order_items');
  }
  // Not skipped: the failed run does not count as loaded.
  const r = await runLoad(db.url);
  assert.equal(r.code, 0, explain(r));
  assert.equal((await history(db)).at(-1)!.outcome, 'loaded');
});
