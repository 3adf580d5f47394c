import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sql, type TestDatabase } from '@order-food/platform/testing/test-database';
import { place } from './api-orders-helpers.js';
import { appOfFile, assertProblem, call, type Fixtures, type TestApp } from './helpers.js';

let tdb: TestDatabase;
let fixtures: Fixtures;
let app: TestApp;
appOfFile('api_orders_placing', (opened) => ({ tdb, fixtures, app } = opened));

const countOrders = async () =>
  Number((await sql<{ n: number }>(tdb, 'SELECT count(*)::int AS n FROM orders'))[0]!.n);

describe('placing orders', () => {
  test('the total is the database prices times the quantities, stored with each line', async () => {
    const { burger, fries, soda } = fixtures.products;
    const order = await place(app, 'alice', [
      { productId: burger.id, quantity: 2 },
      { productId: fries.id, quantity: 3 },
      { productId: soda.id, quantity: 1 },
    ]);
    assert.equal(order.totalCents, 2 * 1250 + 3 * 399 + 250);
    assert.equal(order.userId, fixtures.alice);
    assert.equal(order.status, 'pending');
    assert.deepEqual(order.items, [
      { productId: burger.id, quantity: 2, unitPriceCents: 1250 },
      { productId: fries.id, quantity: 3, unitPriceCents: 399 },
      { productId: soda.id, quantity: 1, unitPriceCents: 250 },
    ]);
    const [stored] = await sql<{ total_cents: number; sum: number }>(
      tdb,
      `SELECT o.total_cents::int AS total_cents, sum(i.quantity * p.price_cents)::int AS sum
       FROM orders o JOIN order_items i ON i.order_id = o.id JOIN products p ON p.id = i.product_id
       WHERE o.id = $1 GROUP BY o.total_cents`,
      [order.id],
    );
    assert.deepEqual(stored, { total_cents: order.totalCents, sum: order.totalCents });
    const read = await call(app.server, 'GET', `/api/orders/${order.id}`, {
      headers: app.auth.alice,
    });
    assert.deepEqual(read.body, order);
  });

  test('a product on two lines becomes one line at the place of the first; lines keep the order they were sent in', async () => {
    const { burger, fries, soda } = fixtures.products;
    const lines = [
      { productId: soda.id, quantity: 2 },
      { productId: burger.id.toUpperCase(), quantity: 1 },
      { productId: fries.id, quantity: 4 },
      { productId: soda.id.toUpperCase(), quantity: 3 },
    ];
    const order = await place(app, 'alice', lines);
    assert.equal(order.totalCents, 5 * 250 + 1250 + 4 * 399);
    assert.deepEqual(order.items, [
      { productId: soda.id, quantity: 5, unitPriceCents: 250 },
      { productId: burger.id, quantity: 1, unitPriceCents: 1250 },
      { productId: fries.id, quantity: 4, unitPriceCents: 399 },
    ]);
    const read = await call(app.server, 'GET', `/api/orders/${order.id}`, {
      headers: app.auth.alice,
    });
    assert.deepEqual(read.body, order);
  });

  test('a price sent by the client never counts: the body is refused and nothing is stored', async () => {
    const before = await countOrders();
    for (const item of [
      { productId: fixtures.products.burger.id, quantity: 1, unitPriceCents: 1 },
      { productId: fixtures.products.burger.id, quantity: 1, priceCents: 1 },
    ]) {
      assertProblem(
        await call(app.server, 'POST', '/api/orders', {
          headers: app.auth.alice,
          body: { items: [item] },
        }),
        400,
      );
    }
    assertProblem(
      await call(app.server, 'POST', '/api/orders', {
        headers: app.auth.alice,
        body: { items: [{ productId: fixtures.products.burger.id, quantity: 1 }], totalCents: 1 },
      }),
      400,
    );
    assert.equal(await countOrders(), before);
    // A price changed after ordering does not change the order; the next order gets the new price.
    const order = await place(app, 'alice', [
      { productId: fixtures.products.fries.id, quantity: 2 },
    ]);
    await call(app.server, 'PATCH', `/api/products/${fixtures.products.fries.id}`, {
      headers: app.auth.admin,
      body: { priceCents: 450 },
    });
    const next = await place(app, 'alice', [
      { productId: fixtures.products.fries.id, quantity: 2 },
    ]);
    assert.equal(order.totalCents, 798);
    assert.equal(next.totalCents, 900);
    const again = await call(app.server, 'GET', `/api/orders/${order.id}`, {
      headers: app.auth.alice,
    });
    assert.equal(again.body.totalCents, 798);
    await call(app.server, 'PATCH', `/api/products/${fixtures.products.fries.id}`, {
      headers: app.auth.admin,
      body: { priceCents: 399 },
    });
  });

  test('unknown and unavailable products are refused with 422, naming them', async () => {
    const before = await countOrders();
    const unknown = '00000000-0000-4000-8000-00000000abcd';
    const r = await call(app.server, 'POST', '/api/orders', {
      headers: app.auth.alice,
      body: {
        items: [
          { productId: fixtures.products.burger.id, quantity: 1 },
          { productId: unknown, quantity: 1 },
          { productId: fixtures.products.retired.id, quantity: 1 },
        ],
      },
    });
    assertProblem(r, 422);
    assert.deepEqual(r.body.unknownProducts, [unknown]);
    assert.deepEqual(r.body.unavailableProducts, [fixtures.products.retired.id]);
    assert.match(r.body.detail, new RegExp(unknown));
    assert.match(r.body.detail, new RegExp(fixtures.products.retired.id));
    assert.equal(await countOrders(), before);
  });

  test('mass assignment: id, userId, status, totalCents, role or __proto__ in the body are refused, nothing stored', async () => {
    const before = await countOrders();
    const items = [{ productId: fixtures.products.burger.id, quantity: 1 }];
    const bodies = [
      { items, id: '00000000-0000-4000-8000-000000000001' },
      { items, userId: fixtures.bob },
      { items, status: 'delivered' },
      { items, totalCents: 0 },
      { items, role: 'admin' },
      { items, createdAt: '2000-01-01T00:00:00Z' },
    ];
    for (const body of bodies) {
      assertProblem(
        await call(app.server, 'POST', '/api/orders', { headers: app.auth.alice, body }),
        400,
      );
    }
    for (const payload of [
      `{"items":${JSON.stringify(items)},"__proto__":{"userId":"${fixtures.bob}"}}`,
      `{"items":[{"productId":"${fixtures.products.burger.id}","quantity":1,"__proto__":{"unitPriceCents":1}}]}`,
      `{"items":${JSON.stringify(items)},"constructor":{"prototype":{"status":"delivered"}}}`,
    ]) {
      assertProblem(
        await call(app.server, 'POST', '/api/orders', {
          headers: { ...app.auth.alice, 'content-type': 'application/json' },
          payload,
        }),
        400,
      );
    }
    assert.equal(await countOrders(), before);
    assert.equal(({} as Record<string, unknown>).userId, undefined);
  });

  test('malformed order bodies are 400', async () => {
    for (const body of [
      {},
      { items: [] },
      { items: [{ productId: 'nope', quantity: 1 }] },
      { items: [{ productId: fixtures.products.burger.id, quantity: 0 }] },
      { items: [{ productId: fixtures.products.burger.id, quantity: 1001 }] },
      { items: [{ productId: fixtures.products.burger.id }] },
      {
        items: Array.from({ length: 101 }, () => ({
          productId: fixtures.products.burger.id,
          quantity: 1,
        })),
      },
    ]) {
      assertProblem(
        await call(app.server, 'POST', '/api/orders', { headers: app.auth.alice, body }),
        400,
      );
    }
    assertProblem(
      await call(app.server, 'POST', '/api/orders', {
        headers: { ...app.auth.alice, 'content-type': 'application/json' },
        payload: '{"items": [',
      }),
      400,
    );
  });
});
