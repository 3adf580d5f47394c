import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Database } from '@order-food/platform/database';
import { MenuCache } from '../src/menu-cache.js';

/** A database that only answers the generation read (or fails it). */
function fakeDb() {
  const state = { generation: 1, failing: false, reads: 0 };
  const db = {
    kind: 'pglite',
    async query() {
      state.reads++;
      if (state.failing) throw new Error('connection refused');
      return { rows: [{ generation: state.generation }], rowCount: 1 };
    },
  } as unknown as Database;
  return { db, state };
}

const quiet = { info() {}, warn() {} };
const body = (n: number) => ({ items: 'x'.repeat(n), nextCursor: 'c2' });

test('only admitted pages are kept, and the page a kept page links to becomes admissible', async () => {
  const { db } = fakeDb();
  const cache = new MenuCache(db, quiet, { maxStalenessMs: 60_000 });
  await cache.fill('forged', async () => body(10), { admit: false });
  assert.equal(cache.get('forged'), undefined);
  assert.equal(cache.admissible('list\u0000c2'), false);
  await cache.fill('list\u0000', async () => body(10), {
    admit: true,
    next: (v) => `list\u0000${v.nextCursor}`,
  });
  assert.ok(cache.get('list\u0000'));
  assert.equal(cache.admissible('list\u0000c2'), true);
});

test('the bytes are bounded: a full cache keeps what it has and admits nothing new', async () => {
  const { db } = fakeDb();
  const cache = new MenuCache(db, quiet, { maxStalenessMs: 60_000, maxBytes: 150 });
  await cache.fill('a', async () => body(80), { admit: true });
  const b = await cache.fill('b', async () => body(80), { admit: true });
  assert.ok(b.length > 80, 'the page is still served');
  assert.ok(cache.get('a'));
  assert.equal(cache.get('b'), undefined);
  assert.ok(cache.bytes <= 150);
});

test('a changed generation empties the cache; a failed read serves from the database, uncached', async () => {
  const { db, state } = fakeDb();
  // Every use of the cache reads the generation first.
  const cache = new MenuCache(db, quiet, { maxStalenessMs: 0 });
  let produced = 0;
  const produce = async () => {
    produced++;
    return body(5);
  };
  await cache.fill('k', produce, { admit: true });
  await cache.fill('k', produce, { admit: true });
  assert.equal(produced, 1, 'the second fill was a hit after a read of the same generation');
  state.generation = 2;
  await cache.fill('k', produce, { admit: true });
  assert.equal(produced, 2, 'the new generation dropped the page');
  state.failing = true;
  await cache.fill('k', produce, { admit: true });
  await cache.fill('k', produce, { admit: true });
  assert.equal(
    produced,
    4,
    'while the generation cannot be read, every request goes to the database',
  );
  assert.equal(cache.bytes, 0);
});
