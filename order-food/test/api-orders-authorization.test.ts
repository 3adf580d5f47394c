import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sql, type TestDatabase } from '@order-food/platform/testing/test-database';
import { place } from './api-orders-helpers.js';
import { appOfFile, assertProblem, call, type Fixtures, type TestApp } from './helpers.js';

let tdb: TestDatabase;
let fixtures: Fixtures;
let app: TestApp;
appOfFile('api_orders_authorization', (opened) => ({ tdb, fixtures, app } = opened));

describe('authorization between customers', () => {
  test("customer A never reads, cancels or lists B's orders, nor reads B's user record", async () => {
    const bobs = await place(app, 'bob', [{ productId: fixtures.products.burger.id, quantity: 1 }]);
    assertProblem(
      await call(app.server, 'GET', `/api/orders/${bobs.id}`, { headers: app.auth.alice }),
      404,
    );
    assertProblem(
      await call(app.server, 'POST', `/api/orders/${bobs.id}/cancel`, { headers: app.auth.alice }),
      404,
    );
    assertProblem(
      await call(app.server, 'GET', `/api/users/${fixtures.bob}`, { headers: app.auth.alice }),
      404,
    );
    let cursor: string | null = null;
    do {
      const r = await call(
        app.server,
        'GET',
        `/api/orders?limit=100${cursor ? `&cursor=${cursor}` : ''}`,
        {
          headers: app.auth.alice,
        },
      );
      for (const o of r.body.items) assert.notEqual(o.userId, fixtures.bob);
      cursor = r.body.nextCursor;
    } while (cursor);
    const [row] = await sql<{ status: string }>(tdb, 'SELECT status FROM orders WHERE id = $1', [
      bobs.id,
    ]);
    assert.equal(row!.status, 'pending');
    // The owner and an admin do see it.
    assert.equal(
      (await call(app.server, 'GET', `/api/orders/${bobs.id}`, { headers: app.auth.bob })).status,
      200,
    );
    assert.equal(
      (await call(app.server, 'GET', `/api/orders/${bobs.id}`, { headers: app.auth.admin })).status,
      200,
    );
  });

  test('a customer cannot change an order status', async () => {
    const own = await place(app, 'alice', [
      { productId: fixtures.products.burger.id, quantity: 1 },
    ]);
    assertProblem(
      await call(app.server, 'PATCH', `/api/orders/${own.id}/status`, {
        headers: app.auth.alice,
        body: { status: 'confirmed' },
      }),
      403,
    );
    const [row] = await sql<{ status: string }>(tdb, 'SELECT status FROM orders WHERE id = $1', [
      own.id,
    ]);
    assert.equal(row!.status, 'pending');
  });
});
