import assert from 'node:assert/strict';
import { test } from 'node:test';
import Fastify from 'fastify';
import { Order, Page } from '../src/schemas.js';
import { appOfFile, call, type Fixtures, type TestApp } from './helpers.js';

let fixtures: Fixtures;
let app: TestApp;
appOfFile('api_orders_page', (opened) => ({ fixtures, app } = opened));

test("a page of orders is written byte for byte as the response schema's serializer writes it", async () => {
  // The route writes the page with JSON.stringify; the declared schema's serializer
  // (fast-json-stringify, through Fastify) must write the same bytes: nothing left out, nothing
  // added, the same order of keys and the same number and date formats.
  const schemaServer = Fastify();
  let page: unknown;
  schemaServer.get('/', { schema: { response: { 200: Page(Order) } } }, async () => page);
  await schemaServer.ready();
  try {
    const { burger, soda } = fixtures.products;
    const orders = [
      {
        items: [
          { productId: soda.id, quantity: 3 },
          { productId: burger.id, quantity: 1 },
        ],
      },
      { items: [{ productId: burger.id, quantity: 2 }], delivery: { address: '1 Main St' } },
      {
        items: [{ productId: soda.id, quantity: 1 }],
        delivery: { address: 'Flat 2, "Quotes" & ünïcode ✓', note: 'ring twice\nthen wait' },
      },
    ];
    for (const body of orders) {
      const r = await call(app.server, 'POST', '/api/orders', { headers: app.auth.alice, body });
      assert.equal(r.status, 201, r.text);
    }
    const pages: [string, 'alice' | 'admin'][] = [
      ['/api/orders?limit=1', 'alice'], // with a next cursor
      ['/api/orders?limit=100', 'alice'],
      ['/api/orders?limit=100', 'admin'],
      ['/api/orders?status=delivered&limit=3', 'admin'],
      ['/api/orders?status=out_for_delivery&limit=5', 'alice'], // empty
    ];
    let withCursor = 0;
    let empty = 0;
    let lines = 0;
    let deliveries = 0;
    for (const [url, who] of pages) {
      const r = await call(app.server, 'GET', url, { headers: app.auth[who] });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.headers['content-type'], 'application/json; charset=utf-8');
      page = r.body;
      const expected = await schemaServer.inject({ method: 'GET', url: '/' });
      assert.equal(r.text, expected.body, url);
      if (r.body.nextCursor !== null) withCursor++;
      if (r.body.items.length === 0) empty++;
      for (const o of r.body.items as { items: unknown[]; delivery?: unknown }[]) {
        lines += o.items.length;
        if (o.delivery) deliveries++;
      }
    }
    assert.ok(withCursor > 0 && empty > 0 && lines > 0 && deliveries >= 2, 'every kind of page');
  } finally {
    await schemaServer.close();
  }
});
