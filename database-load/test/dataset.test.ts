import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { DataSetError, hashDataSet, scanDataSet } from '../src/dataset.js';
import { generateDataSet } from '../src/generate.js';
import { copyDataSet, defaultDataDir, expectedFromFiles, removeDir } from './helpers.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) removeDir(d);
});

function dataSet(files: { products?: string[]; users?: string[]; orders?: string[] }): string {
  const dir = mkdtempSync(join(tmpdir(), 'dataset-unit-'));
  dirs.push(dir);
  const product = '{"sku":"A-1","name":"A","category":"c","price_cents":100}';
  const user = '{"email":"a@example.com","name":"A"}';
  const order =
    '{"external_ref":"R1","user_email":"a@example.com","items":[{"sku":"A-1","quantity":2}]}';
  writeFileSync(join(dir, 'products.jsonl'), `${(files.products ?? [product]).join('\n')}\n`);
  writeFileSync(join(dir, 'users.jsonl'), `${(files.users ?? [user]).join('\n')}\n`);
  writeFileSync(join(dir, 'orders.jsonl'), `${(files.orders ?? [order]).join('\n')}\n`);
  return dir;
}

async function rejects(dir: string, message: RegExp): Promise<void> {
  await assert.rejects(scanDataSet(dir), (err: unknown) => {
    assert.ok(err instanceof DataSetError, String(err));
    assert.match(err.message, message);
    return true;
  });
}

test('the default data set scans clean; counts and prices come from the files', async () => {
  const s = await scanDataSet(defaultDataDir);
  assert.deepEqual(s.counts, expectedFromFiles(defaultDataDir).counts);
  assert.equal(s.prices.get('PIZZA-MARGHERITA'), 1150);
  assert.equal(s.hash, await hashDataSet(defaultDataDir));
});

test('the hash follows the content: same bytes, same hash; one changed byte, another', async () => {
  const copy = copyDataSet();
  dirs.push(copy);
  assert.equal(await hashDataSet(copy), await hashDataSet(defaultDataDir));
  writeFileSync(join(copy, 'users.jsonl'), '{"email":"z@example.com","name":"Z"}\n', { flag: 'a' });
  assert.notEqual(await hashDataSet(copy), await hashDataSet(defaultDataDir));
});

test('blank lines, CRLF line ends and a byte order mark are accepted; defaults fill optional fields', async () => {
  const dir = dataSet({
    products: ['\ufeff', '{"sku":"A-1","name":"A","category":"c","price_cents":0}\r', ''],
    users: ['\ufeff{"email":"a@example.com","name":"A"}'],
  });
  const s = await scanDataSet(dir);
  assert.equal(s.counts.products, 1);
  assert.equal(s.prices.get('A-1'), 0);
});

test('each kind of bad record names its file, line, record and field', async () => {
  const cases: [Parameters<typeof dataSet>[0], RegExp][] = [
    [{ products: ['[1,2]'] }, /products\.jsonl line 1: must be one JSON object per line/],
    [
      { products: ['{"sku":"A-1","name":"A","category":"c","price_cents":1.5}'] },
      /line 1 \(sku "A-1"\): field "price_cents" must be an integer, got 1\.5/,
    ],
    [
      { products: ['{"sku":"A-1","name":"A","category":"c","price_cents":"100"}'] },
      /field "price_cents" must be an integer, got "100"/,
    ],
    [
      { products: ['{"sku":"A-1","name":"A","category":"c","price_cents":1,"price":2}'] },
      /field "price" is not a known field/,
    ],
    [
      { products: ['{"sku":"A-1","name":"","category":"c","price_cents":1}'] },
      /field "name" must be 1 to 200 characters, got 0/,
    ],
    [
      { users: ['{"email":"not-an-email","name":"A"}'] },
      /users\.jsonl line 1 \(email "not-an-email"\): field "email" is not an email address/,
    ],
    [
      { users: ['{"email":"a@example.com","name":"A","role":"root"}'] },
      /field "role" must be one of customer, admin, got "root"/,
    ],
    [
      {
        orders: [
          '{"external_ref":"R1","user_email":"a@example.com","status":"lost","items":[{"sku":"A-1","quantity":1}]}',
        ],
      },
      /orders\.jsonl line 1 \(order "R1"\): field "status" must be one of pending/,
    ],
    [
      { orders: ['{"external_ref":"R1","user_email":"a@example.com","items":[]}'] },
      /field "items" must be a non-empty array/,
    ],
    [
      {
        orders: [
          '{"external_ref":"R1","user_email":"a@example.com","items":[{"sku":"A-1","quantity":0}]}',
        ],
      },
      /field "items\[0\]\.quantity" must be >= 1, got 0/,
    ],
    [
      {
        orders: [
          '{"external_ref":"R1","user_email":"a@example.com","created_at":"yesterday","items":[{"sku":"A-1","quantity":1}]}',
        ],
      },
      /field "created_at" must be an ISO 8601 timestamp/,
    ],
  ];
  for (const [files, message] of cases) await rejects(dataSet(files), message);
});

test('generate is deterministic for a seed and writes a data set that scans clean', async () => {
  const a = mkdtempSync(join(tmpdir(), 'dataset-gen-'));
  const b = mkdtempSync(join(tmpdir(), 'dataset-gen-'));
  dirs.push(a, b);
  const options = { products: 30, users: 20, orders: 200, seed: 7 };
  const r = await generateDataSet({ out: a, ...options });
  await generateDataSet({ out: b, ...options });
  assert.equal(await hashDataSet(a), await hashDataSet(b));
  const s = await scanDataSet(a);
  assert.deepEqual(s.counts, {
    products: 30,
    users: 20,
    orders: 200,
    order_items: r.orderItems,
  });
});
