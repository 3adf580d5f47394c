import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { sql, type TestDatabase } from '@order-food/platform/testing/test-database';
import { place } from './api-orders-helpers.js';
import { appOfFile, assertProblem, call, type Fixtures, type TestApp } from './helpers.js';

let tdb: TestDatabase;
let fixtures: Fixtures;
let app: TestApp;
appOfFile('api_orders_reading', (opened) => ({ tdb, fixtures, app } = opened));

/** Every order a listing holds, page after page through nextCursor; each page answers 200. */
async function walkPages(
  who: 'alice' | 'bob' | 'admin',
  query: string,
): Promise<{ id: string; userId: string }[]> {
  const items: { id: string; userId: string }[] = [];
  let cursor: string | null = null;
  do {
    const r = await call(
      app.server,
      'GET',
      `/api/orders?${query}${cursor ? `&cursor=${cursor}` : ''}`,
      { headers: app.auth[who] },
    );
    assert.equal(r.status, 200, r.text);
    items.push(...r.body.items);
    cursor = r.body.nextCursor;
  } while (cursor);
  return items;
}

describe('reading orders', () => {
  // The admin's list below must hold both customers' orders, whatever the default data set holds:
  // bob places his in the paging test, alice hers here.
  before(async () => {
    await place(app, 'alice', [{ productId: fixtures.products.burger.id, quantity: 1 }]);
  });

  test("paging walks all of a customer's orders, newest first, without duplicates or gaps", async () => {
    for (let i = 0; i < 23; i++)
      await place(app, 'bob', [{ productId: fixtures.products.soda.id, quantity: 1 + (i % 5) }]);
    const expected = await sql<{ id: string }>(
      tdb,
      'SELECT id FROM orders WHERE user_id = $1 ORDER BY created_at DESC, id DESC',
      [fixtures.bob],
    );
    for (const limit of [1, 4, 100]) {
      const items = await walkPages('bob', `limit=${limit}`);
      for (const o of items) assert.equal(o.userId, fixtures.bob);
      assert.deepEqual(
        items.map((o) => o.id),
        expected.map((r) => r.id),
        `limit ${limit}`,
      );
    }
  });

  test('orders placed in one transaction (same created_at) still page without gaps', async () => {
    const rows = await sql<{ id: string }>(
      tdb,
      `WITH t AS (SELECT now() AS at)
       INSERT INTO orders (user_id, status, total_cents, created_at, updated_at)
       SELECT $1, 'delivered', 100, t.at, t.at FROM t, generate_series(1, 9) RETURNING id`,
      [fixtures.admin],
    );
    const ids = (await walkPages('admin', 'status=delivered&limit=2')).map((o) => o.id);
    for (const row of rows) assert.ok(ids.includes(row.id));
    assert.equal(new Set(ids).size, ids.length);
  });

  test('admins list every order and filter by status; customers only their own', async () => {
    const all = await call(app.server, 'GET', '/api/orders?limit=100', { headers: app.auth.admin });
    const owners = new Set(all.body.items.map((o: { userId: string }) => o.userId));
    assert.ok(owners.has(fixtures.alice) && owners.has(fixtures.bob));
    const pending = await call(app.server, 'GET', '/api/orders?status=pending&limit=100', {
      headers: app.auth.admin,
    });
    assert.ok(pending.body.items.length > 0);
    for (const o of pending.body.items) assert.equal(o.status, 'pending');
    const alices = await call(app.server, 'GET', '/api/orders?limit=100', {
      headers: app.auth.alice,
    });
    for (const o of alices.body.items) assert.equal(o.userId, fixtures.alice);
    const lost = await call(app.server, 'GET', '/api/orders?status=lost', {
      headers: app.auth.alice,
    });
    assertProblem(lost, 400);
    assert.match(lost.body.detail, /status/);
    assert.match(lost.body.detail, /allowed values/);
    assertProblem(
      await call(app.server, 'GET', '/api/orders?limit=500', { headers: app.auth.alice }),
      400,
    );
    const forged = Buffer.from(
      JSON.stringify({ k: 'o', t: '2024-02-30T00:00:00.000000Z', i: fixtures.alice }),
    ).toString('base64url');
    assertProblem(
      await call(app.server, 'GET', `/api/orders?cursor=${forged}`, { headers: app.auth.alice }),
      400,
    );
  });
});
