import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sql, type TestDatabase } from '@order-food/platform/testing/test-database';
import { place } from './api-orders-helpers.js';
import { appOfFile, assertProblem, call, type Fixtures, type TestApp } from './helpers.js';

let tdb: TestDatabase;
let fixtures: Fixtures;
let app: TestApp;
appOfFile('api_orders_status', (opened) => ({ tdb, fixtures, app } = opened));

describe('order status', () => {
  const statuses = [
    'pending',
    'confirmed',
    'preparing',
    'out_for_delivery',
    'delivered',
    'cancelled',
  ];
  const allowed = new Set([
    'pending>confirmed',
    'confirmed>preparing',
    'preparing>out_for_delivery',
    'out_for_delivery>delivered',
    'pending>cancelled',
    'confirmed>cancelled',
  ]);

  test('the admin moves orders only along the machine; every other change is 409', async () => {
    const order = await place(app, 'alice', [
      { productId: fixtures.products.soda.id, quantity: 1 },
    ]);
    for (const from of statuses) {
      for (const to of statuses) {
        await sql(tdb, 'UPDATE orders SET status = $2 WHERE id = $1', [order.id, from]);
        const r = await call(app.server, 'PATCH', `/api/orders/${order.id}/status`, {
          headers: app.auth.admin,
          body: { status: to },
        });
        if (allowed.has(`${from}>${to}`)) {
          assert.equal(r.status, 200, `${from} → ${to}: ${r.text}`);
          assert.equal(r.body.status, to);
        } else {
          assertProblem(r, 409);
        }
      }
    }
    const text = await app.metrics.registry.getSingleMetricAsString(
      'orderfood_order_status_transitions_total',
    );
    assert.match(text, /from="pending",to="confirmed"/);
  });

  test('a full delivery, then a bad status value and an unknown order', async () => {
    const order = await place(app, 'alice', [
      { productId: fixtures.products.soda.id, quantity: 1 },
    ]);
    for (const status of ['confirmed', 'preparing', 'out_for_delivery', 'delivered']) {
      const r = await call(app.server, 'PATCH', `/api/orders/${order.id}/status`, {
        headers: app.auth.admin,
        body: { status },
      });
      assert.equal(r.body.status, status);
    }
    for (const body of [{ status: 'lost' }, { status: 'confirmed', totalCents: 0 }, {}]) {
      assertProblem(
        await call(app.server, 'PATCH', `/api/orders/${order.id}/status`, {
          headers: app.auth.admin,
          body,
        }),
        400,
      );
    }
    assertProblem(
      await call(app.server, 'PATCH', '/api/orders/00000000-0000-4000-8000-000000000000/status', {
        headers: app.auth.admin,
        body: { status: 'confirmed' },
      }),
      404,
    );
  });

  test('the owner cancels while pending or confirmed, not later', async () => {
    const a = await place(app, 'alice', [{ productId: fixtures.products.soda.id, quantity: 1 }]);
    const cancelled = await call(app.server, 'POST', `/api/orders/${a.id}/cancel`, {
      headers: app.auth.alice,
    });
    assert.equal(cancelled.status, 200);
    assert.equal(cancelled.body.status, 'cancelled');
    assertProblem(
      await call(app.server, 'POST', `/api/orders/${a.id}/cancel`, { headers: app.auth.alice }),
      409,
    );

    const b = await place(app, 'alice', [{ productId: fixtures.products.soda.id, quantity: 1 }]);
    await call(app.server, 'PATCH', `/api/orders/${b.id}/status`, {
      headers: app.auth.admin,
      body: { status: 'confirmed' },
    });
    assert.equal(
      (await call(app.server, 'POST', `/api/orders/${b.id}/cancel`, { headers: app.auth.alice }))
        .body.status,
      'cancelled',
    );

    const c = await place(app, 'alice', [{ productId: fixtures.products.soda.id, quantity: 1 }]);
    await call(app.server, 'PATCH', `/api/orders/${c.id}/status`, {
      headers: app.auth.admin,
      body: { status: 'confirmed' },
    });
    await call(app.server, 'PATCH', `/api/orders/${c.id}/status`, {
      headers: app.auth.admin,
      body: { status: 'preparing' },
    });
    assertProblem(
      await call(app.server, 'POST', `/api/orders/${c.id}/cancel`, { headers: app.auth.alice }),
      409,
    );
    assertProblem(
      await call(app.server, 'POST', '/api/orders/00000000-0000-4000-8000-000000000000/cancel', {
        headers: app.auth.alice,
      }),
      404,
    );
  });

  test('business metrics count placed orders and their value', async () => {
    const created = await app.metrics.registry.getSingleMetricAsString(
      'orderfood_orders_created_total',
    );
    assert.match(created, /orderfood_orders_created_total [1-9]\d*/);
    const value = await app.metrics.registry.getSingleMetricAsString('orderfood_order_value_cents');
    assert.match(value, /orderfood_order_value_cents_count [1-9]\d*/);
  });
});
