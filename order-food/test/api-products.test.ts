import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Product } from '@order-food/platform/model';
import { sql, type TestDatabase } from '@order-food/platform/testing/test-database';
import { appOfFile, assertProblem, call, type Fixtures, type TestApp } from './helpers.js';

let tdb: TestDatabase;
let fixtures: Fixtures;
let app: TestApp;
appOfFile('api_products', (opened) => ({ tdb, fixtures, app } = opened));

const forge = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

async function walk(url: string, limit: number): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const sep = url.includes('?') ? '&' : '?';
    const r = await call(
      app.server,
      'GET',
      `${url}${sep}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    );
    assert.equal(r.status, 200, r.text);
    assert.ok(r.body.items.length <= limit);
    ids.push(...r.body.items.map((p: { id: string }) => p.id));
    cursor = r.body.nextCursor;
    pages++;
    assert.ok(pages < 1000, 'paging must end');
  } while (cursor);
  return { ids, pages };
}

describe('GET /api/products', () => {
  test('paging walks the whole menu in (name, id) order without duplicates or gaps', async () => {
    const expected = await sql<{ id: string }>(tdb, 'SELECT id FROM products ORDER BY name, id');
    assert.ok(expected.length > 10, 'the data set has a menu');
    for (const limit of [1, 7, 100]) {
      const { ids, pages } = await walk('/api/products', limit);
      assert.deepEqual(
        ids,
        expected.map((r) => r.id),
        `limit ${limit}`,
      );
      assert.equal(pages, Math.max(1, Math.ceil(expected.length / limit)));
    }
  });

  test('a page read again is served from memory without a database query', async () => {
    const statements = async () => {
      const metric = await app.metrics.dbQueryDuration.get();
      return metric.values
        .filter((v) => v.metricName === 'db_client_operation_duration_seconds_count')
        .reduce((n, v) => n + v.value, 0);
    };
    const first = await call(app.server, 'GET', '/api/products?limit=3&category=test');
    const one = await call(app.server, 'GET', `/api/products/${fixtures.products.fries.id}`);
    const before = await statements();
    assert.ok(before > 0, 'statements are counted');
    for (let i = 0; i < 5; i++) {
      const again = await call(app.server, 'GET', '/api/products?limit=3&category=test');
      assert.equal(again.text, first.text);
      assert.equal(
        (await call(app.server, 'GET', `/api/products/${fixtures.products.fries.id}`)).text,
        one.text,
      );
    }
    assert.equal(await statements(), before);
  });

  test('/api/product (the seed path) serves the same list', async () => {
    const a = await call(app.server, 'GET', '/api/products?limit=5');
    const b = await call(app.server, 'GET', '/api/product?limit=5');
    assert.equal(b.status, 200);
    assert.deepEqual(b.body, a.body);
  });

  test('filters by category, availability and name; filters hold across pages', async () => {
    const byCategory = await walk('/api/products?category=test', 2);
    assert.deepEqual(
      new Set(byCategory.ids),
      new Set(Object.values(fixtures.products).map((p) => p.id)),
    );
    const available = await walk('/api/products?category=test&available=true', 2);
    assert.equal(available.ids.length, 3);
    assert.ok(!available.ids.includes(fixtures.products.retired.id));
    const unavailable = await walk('/api/products?category=test&available=false', 2);
    assert.deepEqual(unavailable.ids, [fixtures.products.retired.id]);
    const q = await call(app.server, 'GET', '/api/products?q=test%20fr');
    assert.deepEqual(
      q.body.items.map((p: { id: string }) => p.id),
      [fixtures.products.fries.id],
    );
    // LIKE wildcards in q are literal characters, not patterns.
    const wildcard = await call(app.server, 'GET', '/api/products?q=%25');
    assert.equal(wildcard.status, 200);
    assert.equal(wildcard.body.items.length, 0);
  });

  test('a product has the documented fields and money in cents', async () => {
    const r = await call(app.server, 'GET', `/api/products/${fixtures.products.burger.id}`);
    assert.equal(r.status, 200);
    // The documented fields are the model's (the OpenAPI document is made from the same schema).
    assert.deepEqual(Object.keys(r.body).sort(), Object.keys(Product.properties).sort());
    assert.equal(r.body.priceCents, 1250);
    assert.equal(r.body.sku, 'TEST-BURGER');
  });

  test('bad queries are 400 problems: page size, unknown parameters, forged cursors', async () => {
    for (const url of [
      '/api/products?limit=0',
      '/api/products?limit=101',
      '/api/products?limit=abc',
      '/api/products?available=maybe',
      '/api/products?sort=price',
      '/api/products?cursor=not%20base64!',
      `/api/products?cursor=${forge({ k: 'p', n: 'x', i: "' OR 1=1 --" })}`,
      `/api/products?cursor=${forge({ k: 'o', t: '2024-01-01T00:00:00.000000Z', i: fixtures.alice })}`,
      `/api/products?cursor=${forge([1, 2])}`,
      `/api/products?cursor=${forge('x')}`,
      `/api/products?cursor=${Buffer.from('{"k":"p",').toString('base64url')}`,
      `/api/products?cursor=${forge({ k: 'p', n: 'x'.repeat(300), i: fixtures.alice })}`,
    ]) {
      const r = await call(app.server, 'GET', url);
      assertProblem(r, 400);
    }
  });

  test('GET /api/products/:id: 404 for an unknown id, 400 for a malformed one', async () => {
    assertProblem(
      await call(app.server, 'GET', '/api/products/00000000-0000-4000-8000-000000000000'),
      404,
    );
    assertProblem(await call(app.server, 'GET', '/api/products/42'), 400);
    // The router's own refusal of an over-long path parameter is a problem too.
    assertProblem(await call(app.server, 'GET', `/api/products/${'x'.repeat(300)}`), 414);
  });
});

describe('product changes (admin)', () => {
  test('an admin adds, changes and withdraws a product; the menu shows each change at once', async () => {
    const before = await call(app.server, 'GET', '/api/products?category=desserts-test');
    assert.deepEqual(before.body.items, []);
    const created = await call(app.server, 'POST', '/api/products', {
      headers: app.auth.admin,
      body: {
        sku: 'TEST-TIRAMISU',
        name: 'Test Tiramisu',
        category: 'desserts-test',
        priceCents: 650,
      },
    });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.headers.location, `/api/products/${created.body.id}`);
    assert.equal(created.body.available, true);
    assert.equal(created.body.description, '');

    const listed = await call(app.server, 'GET', '/api/products?category=desserts-test');
    assert.deepEqual(
      listed.body.items.map((p: { id: string }) => p.id),
      [created.body.id],
    );
    const one = await call(app.server, 'GET', `/api/products/${created.body.id}`);
    assert.equal(one.body.priceCents, 650);

    const patched = await call(app.server, 'PATCH', `/api/products/${created.body.id}`, {
      headers: app.auth.admin,
      body: { priceCents: 700, description: 'Mascarpone' },
    });
    assert.equal(patched.status, 200, patched.text);
    assert.equal(patched.body.priceCents, 700);
    assert.equal(patched.body.name, 'Test Tiramisu');
    assert.equal(
      (await call(app.server, 'GET', `/api/products/${created.body.id}`)).body.priceCents,
      700,
    );
    assert.equal(
      (await call(app.server, 'GET', '/api/products?category=desserts-test')).body.items[0]
        .priceCents,
      700,
    );

    const removed = await call(app.server, 'DELETE', `/api/products/${created.body.id}`, {
      headers: app.auth.admin,
    });
    assert.equal(removed.status, 204);
    const after = await call(app.server, 'GET', `/api/products/${created.body.id}`);
    assert.equal(after.body.available, false);
    const menu = await call(
      app.server,
      'GET',
      '/api/products?category=desserts-test&available=true',
    );
    assert.deepEqual(menu.body.items, []);
  });

  test('a withdrawn product stays on past orders', async () => {
    const product = await call(app.server, 'POST', '/api/products', {
      headers: app.auth.admin,
      body: {
        sku: 'TEST-SEASONAL',
        name: 'Test Seasonal',
        category: 'test-seasonal',
        priceCents: 500,
      },
    });
    const order = await call(app.server, 'POST', '/api/orders', {
      headers: app.auth.alice,
      body: { items: [{ productId: product.body.id, quantity: 1 }] },
    });
    assert.equal(order.status, 201);
    await call(app.server, 'DELETE', `/api/products/${product.body.id}`, {
      headers: app.auth.admin,
    });
    const again = await call(app.server, 'GET', `/api/orders/${order.body.id}`, {
      headers: app.auth.alice,
    });
    assert.deepEqual(again.body.items, [
      { productId: product.body.id, quantity: 1, unitPriceCents: 500 },
    ]);
  });

  test('customers and anonymous callers cannot change the menu', async () => {
    const id = fixtures.products.burger.id;
    const body = { sku: 'TEST-X', name: 'X', category: 'test', priceCents: 1 };
    for (const [headers, status] of [
      [app.auth.alice, 403],
      [{}, 401],
      [{ authorization: 'Bearer nonsense' }, 401],
    ] as const) {
      assertProblem(await call(app.server, 'POST', '/api/products', { headers, body }), status);
      assertProblem(
        await call(app.server, 'PATCH', `/api/products/${id}`, {
          headers,
          body: { priceCents: 1 },
        }),
        status,
      );
      assertProblem(await call(app.server, 'DELETE', `/api/products/${id}`, { headers }), status);
    }
    const [row] = await sql<{ price_cents: number; available: boolean }>(
      tdb,
      'SELECT price_cents, available FROM products WHERE id = $1',
      [id],
    );
    assert.deepEqual(row, { price_cents: 1250, available: true });
    assert.equal((await sql(tdb, "SELECT 1 FROM products WHERE sku = 'TEST-X'")).length, 0);
  });

  test('invalid product bodies are 400 and store nothing; a taken sku is 409', async () => {
    const valid = { sku: 'TEST-NEW', name: 'New', category: 'test', priceCents: 100 };
    for (const body of [
      { ...valid, id: '00000000-0000-4000-8000-000000000000' },
      { ...valid, createdAt: '2020-01-01T00:00:00Z' },
      { ...valid, priceCents: -1 },
      { ...valid, priceCents: 1.5 },
      { ...valid, sku: 'lower case' },
      { ...valid, name: '' },
      { name: 'New', category: 'test', priceCents: 100 },
      // JSON has types: nothing is coerced in a body.
      { ...valid, priceCents: '100' },
      { ...valid, name: false },
      { ...valid, name: 2147483648 },
      { ...valid, available: 'false' },
      { ...valid, category: ['test'] },
    ]) {
      assertProblem(
        await call(app.server, 'POST', '/api/products', { headers: app.auth.admin, body }),
        400,
      );
    }
    assert.equal((await sql(tdb, "SELECT 1 FROM products WHERE sku = 'TEST-NEW'")).length, 0);
    const duplicate = await call(app.server, 'POST', '/api/products', {
      headers: app.auth.admin,
      body: { ...valid, sku: 'TEST-BURGER' },
    });
    assertProblem(duplicate, 409);
    for (const body of [{}, { id: fixtures.products.fries.id }, { priceCents: 'free' }]) {
      assertProblem(
        await call(app.server, 'PATCH', `/api/products/${fixtures.products.fries.id}`, {
          headers: app.auth.admin,
          body,
        }),
        400,
      );
    }
    assertProblem(
      await call(app.server, 'PATCH', '/api/products/00000000-0000-4000-8000-000000000000', {
        headers: app.auth.admin,
        body: { priceCents: 1 },
      }),
      404,
    );
  });

  test('a change made in the database by another replica reaches this one through NOTIFY', async () => {
    const url = `/api/products/${fixtures.products.soda.id}`;
    assert.equal((await call(app.server, 'GET', url)).body.priceCents, 250);
    assert.equal((await call(app.server, 'GET', url)).body.priceCents, 250); // now cached
    await sql(
      tdb,
      "UPDATE products SET price_cents = 275 WHERE id = $1 RETURNING pg_notify('order_food_products_changed', id::text)",
      [fixtures.products.soda.id],
    );
    const deadline = Date.now() + 5000;
    let price = 250;
    while (price !== 275 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      price = (await call(app.server, 'GET', url)).body.priceCents;
    }
    assert.equal(price, 275);
  });
});
