/** What the api-orders-*.test.ts files share. */
import assert from 'node:assert/strict';
import { call, type TestApp } from './helpers.js';

/** Places an order as one of the seeded users and returns it; anything but 201 fails the test. */
export async function place(
  app: TestApp,
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
