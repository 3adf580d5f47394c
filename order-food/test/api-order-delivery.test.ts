import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sql, type TestDatabase } from '@order-food/platform/testing/test-database';
import { appOfFile, assertProblem, call, type Fixtures, type TestApp } from './helpers.js';

/**
 * An order's delivery (1.1.0): written and returned by the API when given, left out of the answer
 * when not, held to its limits with a 400 naming the field.
 */

let tdb: TestDatabase;
let fixtures: Fixtures;
let app: TestApp;
appOfFile('api_delivery', (opened) => ({ tdb, fixtures, app } = opened));

const items = () => [{ productId: fixtures.products.burger.id, quantity: 1 }];

async function place(body: unknown, headers: Record<string, string> = {}) {
  return call(app.server, 'POST', '/api/orders', {
    headers: { ...app.auth.alice, ...headers },
    body,
  });
}

async function stored(id: string) {
  const [row] = await sql<{ delivery_address: string | null; delivery_note: string | null }>(
    tdb,
    'SELECT delivery_address, delivery_note FROM orders WHERE id = $1',
    [id],
  );
  return row;
}

async function read(id: string) {
  const r = await call(app.server, 'GET', `/api/orders/${id}`, { headers: app.auth.alice });
  assert.equal(r.status, 200, r.text);
  return r.body;
}

describe('placing and reading an order with a delivery', () => {
  test('an address and a note are stored, answered, and read back by id and in the list', async () => {
    const delivery = { address: '12 Rue de la Paix, 75002 Paris', note: 'ring twice, 3rd floor' };
    const r = await place({ items: items(), delivery });
    assert.equal(r.status, 201, r.text);
    assert.deepEqual(r.body.delivery, delivery);
    assert.deepEqual(await stored(r.body.id), {
      delivery_address: delivery.address,
      delivery_note: delivery.note,
    });
    assert.deepEqual(await read(r.body.id), r.body);
    const list = await call(app.server, 'GET', '/api/orders?limit=100', {
      headers: app.auth.alice,
    });
    const listed = list.body.items.find((o: { id: string }) => o.id === r.body.id);
    assert.deepEqual(listed, r.body);
  });

  test('an address without a note: the note is left out and stored as NULL', async () => {
    const r = await place({ items: items(), delivery: { address: 'Pickup desk' } });
    assert.equal(r.status, 201, r.text);
    assert.deepEqual(r.body.delivery, { address: 'Pickup desk' });
    assert.deepEqual(await stored(r.body.id), {
      delivery_address: 'Pickup desk',
      delivery_note: null,
    });
    assert.deepEqual((await read(r.body.id)).delivery, { address: 'Pickup desk' });
  });

  test('an order without a delivery has no delivery field, as in 1.0.0, and NULL columns', async () => {
    const r = await place({ items: items() });
    assert.equal(r.status, 201, r.text);
    assert.equal('delivery' in r.body, false, r.text);
    assert.deepEqual(await stored(r.body.id), { delivery_address: null, delivery_note: null });
    assert.equal('delivery' in (await read(r.body.id)), false);
  });

  test('the limits are inclusive: 500 characters of address and of note are accepted', async () => {
    const delivery = { address: 'a'.repeat(500), note: 'n'.repeat(500) };
    const r = await place({ items: items(), delivery });
    assert.equal(r.status, 201, r.text);
    assert.deepEqual(r.body.delivery, delivery);
  });

  test('an Idempotency-Key replays the delivery; the same key with another delivery is 422', async () => {
    const key = { 'idempotency-key': 'delivery-replay' };
    const body = { items: items(), delivery: { address: 'Door A', note: 'leave it' } };
    const first = await place(body, key);
    assert.equal(first.status, 201, first.text);
    const again = await place(body, key);
    assert.equal(again.status, 201, again.text);
    assert.equal(again.headers['idempotent-replayed'], 'true');
    assert.deepEqual(again.body, first.body);
    assertProblem(await place({ ...body, delivery: { address: 'Door B' } }, key), 422);
    assertProblem(await place({ items: items() }, key), 422);
  });
});

describe('a bad delivery is a 400 naming the field; nothing is stored', () => {
  const count = async () =>
    Number((await sql<{ n: number }>(tdb, 'SELECT count(*)::int AS n FROM orders'))[0]!.n);

  for (const [what, delivery, field] of [
    ['an empty address', { address: '' }, /body\/delivery\/address/],
    ['an address over 500 characters', { address: 'a'.repeat(501) }, /body\/delivery\/address/],
    ['a note over 500 characters', { address: 'x', note: 'n'.repeat(501) }, /body\/delivery\/note/],
    ['a note without an address', { note: 'hello' }, /body\/delivery/],
    ['an unknown field', { address: 'x', floor: 3 }, /body\/delivery/],
    ['an address that is not a string', { address: 12 }, /body\/delivery\/address/],
    ['a delivery that is a string', '12 Main St', /body\/delivery/],
    ['a null delivery', null, /body\/delivery/],
    ['U+0000 in the note', { address: 'x', note: 'a\u0000b' }, /body\/delivery\/note .*U\+0000/],
  ] as const) {
    test(what, async () => {
      const before = await count();
      const r = await place({ items: items(), delivery });
      assertProblem(r, 400);
      assert.match(r.body.detail, field, r.text);
      assert.equal(await count(), before);
    });
  }
});

test('the database holds the limits too, for writers other than the API', async () => {
  await assert.rejects(
    sql(tdb, `UPDATE orders SET delivery_address = '' WHERE id = (SELECT id FROM orders LIMIT 1)`),
    /orders_delivery_address_length/,
  );
  await assert.rejects(
    sql(
      tdb,
      `UPDATE orders SET delivery_note = repeat('n', 501) WHERE id = (SELECT id FROM orders LIMIT 1)`,
    ),
    /orders_delivery_note_length/,
  );
  const constraints = await sql<{ conname: string; convalidated: boolean }>(
    tdb,
    `SELECT conname, convalidated FROM pg_constraint
      WHERE conrelid = 'orders'::regclass AND conname LIKE 'orders_delivery_%' ORDER BY conname`,
  );
  assert.deepEqual(constraints, [
    { conname: 'orders_delivery_address_length', convalidated: true },
    { conname: 'orders_delivery_note_length', convalidated: true },
  ]);
});

test('the OpenAPI document describes delivery on the order and on its creation', async () => {
  const doc = (await call(app.server, 'GET', '/openapi.json')).body;
  const create = doc.paths['/api/orders'].post.requestBody.content['application/json'].schema;
  const answer =
    doc.paths['/api/orders/{id}'].get.responses['200'].content['application/json'].schema;
  // Named schemas are components; follow a $ref to the one it names.
  const deref = (s: { $ref?: string }) =>
    s.$ref ? doc.components.schemas[s.$ref.replace('#/components/schemas/', '')] : s;
  for (const schema of [create, answer].map(deref)) {
    const delivery = deref(schema.properties.delivery);
    assert.equal(schema.required.includes('delivery'), false);
    assert.deepEqual(delivery.required, ['address']);
    assert.equal(delivery.properties.address.maxLength, 500);
    assert.equal(delivery.properties.address.minLength, 1);
    assert.equal(delivery.properties.note.maxLength, 500);
  }
});
