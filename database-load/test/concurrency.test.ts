import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createTestDatabase, type TestDatabase } from '@order-food/platform/testing/test-database';
import {
  defaultDataDir,
  expectedFromFiles,
  explain,
  history,
  migrate,
  runLoad,
  tableCounts,
} from './helpers.js';

let db: TestDatabase;
before(async () => {
  db = await createTestDatabase('load_concurrency');
  await migrate(db.url);
});
after(async () => {
  await db?.drop();
});

test('10 loaders at once: all exit 0, the tables equal one load, one run loaded and the rest skipped', async () => {
  const results = await Promise.all(
    Array.from({ length: 10 }, () => runLoad(db.url, [], { LOAD_LOCK_TIMEOUT: '120' }, 240_000)),
  );
  for (const r of results) assert.equal(r.code, 0, explain(r));
  assert.deepEqual(await tableCounts(db), expectedFromFiles(defaultDataDir).counts);
  const runs = await history(db);
  assert.equal(runs.length, 10);
  assert.equal(runs.filter((h) => h.outcome === 'loaded').length, 1);
  assert.equal(runs.filter((h) => h.outcome === 'skipped').length, 9);
  assert.equal(new Set(runs.map((h) => h.dataset_hash)).size, 1);
});

test('10 forced upserts at once: serialized by the lock, all exit 0, still one copy of every row', async () => {
  const results = await Promise.all(
    Array.from({ length: 10 }, () =>
      runLoad(db.url, ['--mode', 'upsert', '--force'], { LOAD_LOCK_TIMEOUT: '120' }, 240_000),
    ),
  );
  for (const r of results) assert.equal(r.code, 0, explain(r));
  assert.deepEqual(await tableCounts(db), expectedFromFiles(defaultDataDir).counts);
  const upserts = (await history(db)).filter((h) => h.mode === 'upsert');
  assert.equal(upserts.length, 10);
  assert.ok(upserts.every((h) => h.outcome === 'loaded'));
  assert.ok(upserts.every((h) => h.rows_inserted === 0));
});

test('a loader that cannot get the lock within LOAD_LOCK_TIMEOUT exits 1 naming the variable, recorded as failed', async () => {
  const admin = db.admin();
  await admin.connect();
  await admin.query('SELECT pg_advisory_lock($1, $2)', [0x4f464c44, 1]);
  try {
    const r = await runLoad(db.url, ['--force'], { LOAD_LOCK_TIMEOUT: '1' });
    assert.equal(r.code, 1, explain(r));
    assert.match(
      r.stderr,
      /database-load: error: gave up waiting for the data load lock after \d+s \(LOAD_LOCK_TIMEOUT\)/,
    );
    const last = (await history(db)).at(-1)!;
    assert.equal(last.outcome, 'failed');
    assert.match(last.error ?? '', /LOAD_LOCK_TIMEOUT/);
  } finally {
    await admin.query('SELECT pg_advisory_unlock($1, $2)', [0x4f464c44, 1]);
  }
});
