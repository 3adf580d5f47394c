import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sql, type TestDatabase } from '@order-food/platform/testing/test-database';
import { appOfFile, assertProblem, call, type Fixtures, type TestApp } from './helpers.js';

let tdb: TestDatabase;
let fixtures: Fixtures;
let app: TestApp;
appOfFile('api_orders', (opened) => ({ tdb, fixtures, app } = opened));

const countOrders = async () =>
  Number((await sql<{ n: number }>(tdb, 'SELECT count(*)::int AS n FROM orders'))[0]!.n);

async function place(
  who: 'alice' | 'bob' | 'admin',
  items: { productId: string; quantity: number }[],
) {
  const r = await call(app.server, 'POST', '/api/orders', {
    headers: app.auth[who],
    body: { items },
  });
  assert.equal(r.status, 201, r.text);
  return r.body;
}

describe('placing orders', () => {
  test('the total is the database prices times the quantities, stored with each line', async () => {
    const { burger, fries, soda } = fixtures.products;
    const order = await place('alice', [
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
    const order = await place('alice', lines);
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
    const order = await place('alice', [{ productId: fixtures.products.fries.id, quantity: 2 }]);
    await call(app.server, 'PATCH', `/api/products/${fixtures.products.fries.id}`, {
      headers: app.auth.admin,
      body: { priceCents: 450 },
    });
    const next = await place('alice', [{ productId: fixtures.products.fries.id, quantity: 2 }]);
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

describe('idempotency keys', () => {
  const body = () => ({ items: [{ productId: fixtures.products.burger.id, quantity: 3 }] });

  test('10 parallel POSTs with one key place exactly one order; a replay answers the same status and body', async () => {
    const key = 'parallel-key-1';
    const answers = await Promise.all(
      Array.from({ length: 10 }, () =>
        call(app.server, 'POST', '/api/orders', {
          headers: { ...app.auth.alice, 'idempotency-key': key },
          body: body(),
        }),
      ),
    );
    const created = answers.filter((a) => a.status === 201);
    assert.ok(created.length >= 1, 'one request placed the order');
    for (const a of answers)
      assert.ok([201, 409].includes(a.status), `status ${a.status}: ${a.text}`);
    assert.equal(new Set(created.map((a) => a.body.id)).size, 1, 'every 201 names the same order');
    const [row] = await sql<{ n: number }>(
      tdb,
      `SELECT count(*)::int AS n FROM orders o JOIN idempotency_keys k ON k.order_id = o.id
       WHERE k.key = $1`,
      [key],
    );
    assert.equal(row!.n, 1);
    const [orders] = await sql<{ n: number }>(
      tdb,
      "SELECT count(*)::int AS n FROM orders WHERE user_id = $1 AND total_cents = 3750 AND created_at > now() - interval '1 minute'",
      [fixtures.alice],
    );
    assert.equal(orders!.n, 1);

    const first = created[0]!;
    const replay = await call(app.server, 'POST', '/api/orders', {
      headers: { ...app.auth.alice, 'idempotency-key': key },
      body: body(),
    });
    assert.equal(replay.status, first.status);
    assert.equal(replay.text, first.text);
    assert.equal(replay.headers['idempotent-replayed'], 'true');
    const metrics = await app.metrics.registry.getSingleMetricAsString(
      'orderfood_idempotent_replays_total',
    );
    assert.match(metrics, /orderfood_idempotent_replays_total \d+/);
  });

  test('the same key with another body is 422; keys are per user', async () => {
    const key = 'per-user-key';
    const first = await call(app.server, 'POST', '/api/orders', {
      headers: { ...app.auth.alice, 'idempotency-key': key },
      body: body(),
    });
    assert.equal(first.status, 201);
    const other = await call(app.server, 'POST', '/api/orders', {
      headers: { ...app.auth.alice, 'idempotency-key': key },
      body: { items: [{ productId: fixtures.products.burger.id, quantity: 4 }] },
    });
    assertProblem(other, 422);
    const bobs = await call(app.server, 'POST', '/api/orders', {
      headers: { ...app.auth.bob, 'idempotency-key': key },
      body: body(),
    });
    assert.equal(bobs.status, 201);
    assert.notEqual(bobs.body.id, first.body.id);
    assert.equal(bobs.body.userId, fixtures.bob);
  });

  test('while the first request is in flight a repeat is 409; a claim left past its lock is taken over', async () => {
    const key = 'in-flight-key';
    const hashOf = async () => {
      // Let a real request compute the hash: claim with it, then mark the row as still in flight.
      const r = await call(app.server, 'POST', '/api/orders', {
        headers: { ...app.auth.bob, 'idempotency-key': key },
        body: body(),
      });
      assert.equal(r.status, 201);
      await sql(tdb, 'DELETE FROM orders WHERE id = $1', [r.body.id]);
    };
    await hashOf();
    await sql(
      tdb,
      `UPDATE idempotency_keys SET state = 'in_flight', response_status = NULL, response_body = NULL,
         order_id = NULL, completed_at = NULL, locked_until = now() + interval '1 minute'
       WHERE key = $1`,
      [key],
    );
    const busy = await call(app.server, 'POST', '/api/orders', {
      headers: { ...app.auth.bob, 'idempotency-key': key },
      body: body(),
    });
    assertProblem(busy, 409);
    assert.equal(busy.headers['retry-after'], '1');

    // The holder died: its lock expired, so the next request takes the key over and completes it.
    await sql(
      tdb,
      "UPDATE idempotency_keys SET locked_until = now() - interval '1 second' WHERE key = $1",
      [key],
    );
    const taken = await call(app.server, 'POST', '/api/orders', {
      headers: { ...app.auth.bob, 'idempotency-key': key },
      body: body(),
    });
    assert.equal(taken.status, 201, taken.text);
    const replay = await call(app.server, 'POST', '/api/orders', {
      headers: { ...app.auth.bob, 'idempotency-key': key },
      body: body(),
    });
    assert.equal(replay.text, taken.text);
  });

  test('a refused order releases its key, so the client can retry it after fixing the cause', async () => {
    const key = 'released-key';
    const items = [{ productId: fixtures.products.retired.id, quantity: 1 }];
    const refused = await call(app.server, 'POST', '/api/orders', {
      headers: { ...app.auth.alice, 'idempotency-key': key },
      body: { items },
    });
    assertProblem(refused, 422);
    assert.equal(
      (await sql(tdb, 'SELECT 1 FROM idempotency_keys WHERE key = $1', [key])).length,
      0,
    );
    await sql(tdb, 'UPDATE products SET available = true WHERE id = $1', [
      fixtures.products.retired.id,
    ]);
    const placed = await call(app.server, 'POST', '/api/orders', {
      headers: { ...app.auth.alice, 'idempotency-key': key },
      body: { items },
    });
    assert.equal(placed.status, 201, placed.text);
    await sql(tdb, 'UPDATE products SET available = false WHERE id = $1', [
      fixtures.products.retired.id,
    ]);
  });

  test('an empty or overlong key is 400', async () => {
    for (const key of ['', 'k'.repeat(256)]) {
      assertProblem(
        await call(app.server, 'POST', '/api/orders', {
          headers: { ...app.auth.alice, 'idempotency-key': key },
          body: body(),
        }),
        400,
      );
    }
  });
});

describe('reading orders', () => {
  test("paging walks all of a customer's orders, newest first, without duplicates or gaps", async () => {
    for (let i = 0; i < 23; i++)
      await place('bob', [{ productId: fixtures.products.soda.id, quantity: 1 + (i % 5) }]);
    const expected = await sql<{ id: string }>(
      tdb,
      'SELECT id FROM orders WHERE user_id = $1 ORDER BY created_at DESC, id DESC',
      [fixtures.bob],
    );
    for (const limit of [1, 4, 100]) {
      const ids: string[] = [];
      let cursor: string | null = null;
      do {
        const r = await call(
          app.server,
          'GET',
          `/api/orders?limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`,
          { headers: app.auth.bob },
        );
        assert.equal(r.status, 200, r.text);
        for (const o of r.body.items) assert.equal(o.userId, fixtures.bob);
        ids.push(...r.body.items.map((o: { id: string }) => o.id));
        cursor = r.body.nextCursor;
      } while (cursor);
      assert.deepEqual(
        ids,
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
    const ids: string[] = [];
    let cursor: string | null = null;
    do {
      const r = await call(
        app.server,
        'GET',
        `/api/orders?status=delivered&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        { headers: app.auth.admin },
      );
      ids.push(...r.body.items.map((o: { id: string }) => o.id));
      cursor = r.body.nextCursor;
    } while (cursor);
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

describe('authorization between customers', () => {
  test("customer A never reads, cancels or lists B's orders, nor reads B's user record", async () => {
    const bobs = await place('bob', [{ productId: fixtures.products.burger.id, quantity: 1 }]);
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
    const own = await place('alice', [{ productId: fixtures.products.burger.id, quantity: 1 }]);
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
    const order = await place('alice', [{ productId: fixtures.products.soda.id, quantity: 1 }]);
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
    const order = await place('alice', [{ productId: fixtures.products.soda.id, quantity: 1 }]);
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
    const a = await place('alice', [{ productId: fixtures.products.soda.id, quantity: 1 }]);
    const cancelled = await call(app.server, 'POST', `/api/orders/${a.id}/cancel`, {
      headers: app.auth.alice,
    });
    assert.equal(cancelled.status, 200);
    assert.equal(cancelled.body.status, 'cancelled');
    assertProblem(
      await call(app.server, 'POST', `/api/orders/${a.id}/cancel`, { headers: app.auth.alice }),
      409,
    );

    const b = await place('alice', [{ productId: fixtures.products.soda.id, quantity: 1 }]);
    await call(app.server, 'PATCH', `/api/orders/${b.id}/status`, {
      headers: app.auth.admin,
      body: { status: 'confirmed' },
    });
    assert.equal(
      (await call(app.server, 'POST', `/api/orders/${b.id}/cancel`, { headers: app.auth.alice }))
        .body.status,
      'cancelled',
    );

    const c = await place('alice', [{ productId: fixtures.products.soda.id, quantity: 1 }]);
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
