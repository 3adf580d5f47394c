import assert from 'node:assert/strict';
import type { OutgoingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import { describe, test } from 'node:test';
import { sql, type TestDatabase } from '@order-food/platform/testing/test-database';
import {
  type Answer,
  appOfFile,
  assertProblem,
  call,
  type Fixtures,
  type TestApp,
} from './helpers.js';

let tdb: TestDatabase;
let fixtures: Fixtures;
let app: TestApp;
appOfFile('api_bad_input', (opened) => ({ tdb, fixtures, app } = opened));

/** Every row of every table the API writes, in one string: equal before and after = nothing stored. */
async function stored(): Promise<string> {
  const [row] = await sql<{ d: string }>(
    tdb,
    `SELECT concat_ws('|',
       (SELECT string_agg(u::text, ',' ORDER BY id) FROM users u),
       (SELECT string_agg(p::text, ',' ORDER BY id) FROM products p),
       (SELECT string_agg(o::text, ',' ORDER BY id) FROM orders o),
       (SELECT string_agg(i::text, ',' ORDER BY order_id, line_no) FROM order_items i),
       (SELECT string_agg(k::text, ',' ORDER BY user_id, key) FROM idempotency_keys k)) AS d`,
  );
  return row!.d;
}

/** A 400 problem whose detail names the field. */
function assertNamed(answer: Answer, field: RegExp, type = /validation/): void {
  assertProblem(answer, 400);
  assert.match(answer.body.detail, field, answer.text);
  assert.match(answer.body.type, type, answer.text);
}

const forge = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

const product = (name: string) =>
  `{"sku":"BAD-INPUT","name":"${name}","category":"test","priceCents":100}`;

describe('text PostgreSQL cannot store', () => {
  test('U+0000 in a query parameter, a path parameter, a stored header or a JSON body is a 400 naming the field; nothing is stored', async () => {
    const before = await stored();
    const { burger } = fixtures.products;
    assertNamed(
      await call(app.server, 'GET', '/api/products?q=a%00b'),
      /^querystring\/q .*U\+0000/,
    );
    assertNamed(
      await call(app.server, 'GET', '/api/products?category=%00'),
      /^querystring\/category .*U\+0000/,
    );
    assertNamed(
      await call(app.server, 'GET', `/api/orders?status=%00`, { headers: app.auth.admin }),
      /^querystring\/status .*U\+0000/,
    );
    assertNamed(await call(app.server, 'GET', '/api/products/%00'), /^params\/id .*U\+0000/);
    assertNamed(
      await call(app.server, 'PATCH', `/api/products/${burger.id}%00`, {
        headers: app.auth.admin,
        body: { name: 'x' },
      }),
      /^params\/id .*U\+0000/,
    );
    assertNamed(
      await call(app.server, 'POST', '/api/orders', {
        headers: { ...app.auth.alice, 'idempotency-key': 'key\u0000' },
        body: { items: [{ productId: burger.id, quantity: 1 }] },
      }),
      /^headers\/idempotency-key .*U\+0000/,
    );
    for (const [url, payload, field] of [
      ['/api/products', product('a\\u0000b'), /^body\/name .*U\+0000/],
      ['/api/users', '{"email":"nul@example.com","name":"\\u0000"}', /^body\/name .*U\+0000/],
      [`/api/products/${burger.id}`, '{"description":"x\\u0000"}', /^body\/description /],
      [
        '/api/products',
        '{"sku":"X","na\\u0000me":"n"}',
        /^body has a property name that contains U\+0000/,
      ],
    ] as const) {
      const method = url.startsWith('/api/products/') ? 'PATCH' : 'POST';
      assertNamed(
        await call(app.server, method, url, {
          headers: { ...app.auth.admin, 'content-type': 'application/json' },
          payload,
        }),
        field,
      );
    }
    assert.equal(await stored(), before);
  });

  test('lone surrogates (JSON escapes, percent-encoded in the URL) and bytes that are not UTF-8 are 400, never stored as U+FFFD', async () => {
    const before = await stored();
    assertNamed(
      await call(app.server, 'POST', '/api/products', {
        headers: { ...app.auth.admin, 'content-type': 'application/json' },
        payload: product('pizza \\ud83c'),
      }),
      /^body\/name is not valid Unicode: a lone surrogate U\+D83C/,
    );
    assertNamed(
      await call(app.server, 'POST', '/api/users', {
        headers: { ...app.auth.admin, 'content-type': 'application/json' },
        payload: '{"email":"lone@example.com","name":"\\udc00x"}',
      }),
      /^body\/name is not valid Unicode/,
    );
    const notUtf8 = await app.server.inject({
      method: 'POST',
      url: '/api/products',
      headers: { ...app.auth.admin, 'content-type': 'application/json' },
      payload: Buffer.concat([
        Buffer.from('{"sku":"BAD-UTF8","name":"a'),
        Buffer.from([0xff, 0xfe]),
        Buffer.from('","category":"test","priceCents":1}'),
      ]),
    });
    assert.equal(notUtf8.statusCode, 400, notUtf8.body);
    assert.match(notUtf8.json().detail, /not valid UTF-8/);
    for (const [url, field] of [
      ['/api/products?q=%FF', /^querystring\/q is not valid percent-encoded UTF-8/],
      ['/api/products?q=%ED%A0%80', /^querystring\/q is not valid percent-encoded UTF-8/],
      ['/api/products?limit=5&category=50%', /^querystring\/category /],
      ['/api/products?q=%C3', /^querystring\/q /],
    ] as const)
      assertNamed(await call(app.server, 'GET', url), field);
    assertProblem(await call(app.server, 'GET', '/api/products/%ED%A0%80'), 400);
    assert.equal(await stored(), before);
  });

  test('every other code point class is stored and read back exactly: emoji, RTL, combining marks, non-characters, controls', async () => {
    const name =
      'x\u0001\u001f\u007f\u0085 é e\u0301 שלום \u202eabc 🍕👩‍🍳 \ufffe\uffff \u{10ffff}';
    const created = await call(app.server, 'POST', '/api/products', {
      headers: app.auth.admin,
      body: { sku: 'CODEPOINTS', name, category: 'test', priceCents: 1 },
    });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.body.name, name);
    const read = await call(app.server, 'GET', `/api/products/${created.body.id}`);
    assert.equal(read.body.name, name);
    const found = await call(
      app.server,
      'GET',
      `/api/products?q=${encodeURIComponent('🍕👩‍🍳')}&category=test`,
    );
    assert.equal(found.status, 200, found.text);
    assert.deepEqual(
      found.body.items.map((p: { id: string }) => p.id),
      [created.body.id],
    );
  });
});

describe('cursors', () => {
  test('a cursor whose fields PostgreSQL would refuse is 400 invalid-cursor, never a 500', async () => {
    const { burger } = fixtures.products;
    const at = (t: string) => forge({ k: 'o', t, i: burger.id });
    const orderCursors = [
      at('0000-01-01T00:00:00.000000Z'),
      at('2026-02-30T00:00:00.000000Z'),
      at('2025-02-29T00:00:00.000000Z'),
      at('2026-04-31T12:00:00.000000Z'),
      at('2026-01-01T24:00:00.000000Z'),
      at('2026-01-01T23:60:00.000000Z'),
      at('2026-01-01T23:59:60.000000Z'),
      at('2026-13-01T00:00:00.000000Z'),
      forge({ k: 'o', t: '2026-01-01T00:00:00.000000Z', i: burger.id, extra: 1 }),
      forge({ k: 'o', t: '2026-01-01T00:00:00.000000Z', i: 2147483648 }),
    ];
    for (const cursor of orderCursors) {
      const r = await call(app.server, 'GET', `/api/orders?cursor=${cursor}`, {
        headers: app.auth.admin,
      });
      assertNamed(r, /cursor/, /invalid-cursor/);
    }
    const productCursors = [
      forge({ k: 'p', n: 'a\u0000', i: burger.id }),
      forge({ k: 'p', n: '\ud800', i: burger.id }),
      Buffer.from(`{"k":"p","n":"a","i":"${burger.id}","__proto__":{}}`).toString('base64url'),
      Buffer.concat([
        Buffer.from('{"k":"p","n":"'),
        Buffer.from([0xc3, 0x28]),
        Buffer.from(`","i":"${burger.id}"}`),
      ]).toString('base64url'),
      forge({ k: 'p', n: 'a', i: burger.id, more: true }),
      forge({ k: 'p', n: 2147483648, i: burger.id }),
    ];
    for (const cursor of productCursors)
      assertNamed(
        await call(app.server, 'GET', `/api/products?cursor=${cursor}`),
        /cursor/,
        /invalid-cursor/,
      );
    // The last real day of February is a position like any other.
    const leap = await call(
      app.server,
      'GET',
      `/api/orders?cursor=${at('2028-02-29T23:59:59.999999Z')}`,
      {
        headers: app.auth.admin,
      },
    );
    assert.equal(leap.status, 200, leap.text);
  });
});

describe('orders naming a product twice', () => {
  test('lines of the same product (any letter case) are merged; the merged quantity is held to the limit', async () => {
    const { burger, soda } = fixtures.products;
    const placed = await call(app.server, 'POST', '/api/orders', {
      headers: app.auth.alice,
      body: {
        items: [
          { productId: burger.id, quantity: 600 },
          { productId: soda.id, quantity: 1 },
          { productId: burger.id.toUpperCase(), quantity: 400 },
        ],
      },
    });
    assert.equal(placed.status, 201, placed.text);
    assert.deepEqual(placed.body.items, [
      { productId: burger.id, quantity: 1000, unitPriceCents: burger.priceCents },
      { productId: soda.id, quantity: 1, unitPriceCents: soda.priceCents },
    ]);
    assert.equal(placed.body.totalCents, 1000 * burger.priceCents + soda.priceCents);

    const before = await stored();
    const over = await call(app.server, 'POST', '/api/orders', {
      headers: { ...app.auth.alice, 'idempotency-key': 'merged-over-limit' },
      body: {
        items: [
          { productId: burger.id, quantity: 1000 },
          { productId: burger.id.toUpperCase(), quantity: 1 },
        ],
      },
    });
    assertNamed(over, /^body\/items: lines 0, 1 name product .*1001 in all, at most 1000/);
    assert.deepEqual(over.body.errors, [
      {
        in: 'body',
        path: '/items/1/quantity',
        message: `lines 0, 1 name product ${burger.id}: 1001 in all, at most 1000 per product`,
      },
    ]);
    assert.equal(await stored(), before);
  });

  test('the OpenAPI document says so', async () => {
    const doc = (await call(app.server, 'GET', '/openapi.json')).body;
    assert.match(doc.paths['/api/orders'].post.description, /merged into one line/);
  });
});

describe('headers that must come once', () => {
  test('two Authorization or two Idempotency-Key headers are 400, nothing stored', async () => {
    const before = await stored();
    const order = JSON.stringify({
      items: [{ productId: fixtures.products.burger.id, quantity: 1 }],
    });
    // Light-my-request sends an array as one header line per value.
    const repeated: Record<string, string | string[]>[] = [
      { authorization: [app.auth.alice.authorization, app.auth.admin.authorization] },
      { ...app.auth.alice, 'idempotency-key': ['one', 'two'] },
      { ...app.auth.alice, 'idempotency-key': ['same', 'same'] },
    ];
    for (const headers of repeated) {
      const r = await app.server.inject({
        method: 'POST',
        url: '/api/orders',
        headers: {
          ...headers,
          'content-type': 'application/json',
        } as unknown as OutgoingHttpHeaders,
        payload: order,
      });
      assert.equal(r.statusCode, 400, r.body);
      assert.match(
        r.json().detail,
        /the (Authorization|Idempotency-Key) header may be sent only once/,
      );
    }
    const read = await app.server.inject({
      method: 'GET',
      url: '/api/users/me',
      headers: {
        authorization: [app.auth.alice.authorization, app.auth.bob.authorization],
      } as unknown as OutgoingHttpHeaders,
    });
    assert.equal(read.statusCode, 400, read.body);
    // Over HTTP, with the names in two spellings: Node's parser would keep only the first.
    const address = await app.server.listen({ host: '127.0.0.1', port: 0 });
    const { port } = new URL(address);
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1');
      let answer = '';
      socket.on('data', (chunk) => {
        answer += chunk.toString();
      });
      socket.on('end', () => resolve(answer));
      socket.on('error', reject);
      socket.end(
        `POST /api/orders HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: ${app.auth.alice.authorization}\r\nContent-Type: application/json\r\nauthorization: ${app.auth.admin.authorization}\r\nContent-Length: ${Buffer.byteLength(order)}\r\n\r\n${order}`,
      );
    });
    assert.match(raw, /^HTTP\/1\.1 400 /);
    assert.match(raw, /the Authorization header may be sent only once/);
    assert.equal(await stored(), before);
  });
});

describe('bodies that are not JSON objects', () => {
  test('a JSON text sent as text/plain is 415; __proto__ and constructor.prototype are named as such', async () => {
    const before = await stored();
    const plain = await call(app.server, 'POST', '/api/users', {
      headers: { ...app.auth.admin, 'content-type': 'text/plain' },
      payload: '{"email":"plain@example.com","name":"Plain"}',
    });
    assertProblem(plain, 415);
    assert.match(plain.body.detail, /application\/json .*text\/plain/);
    for (const [payload, named] of [
      [
        '{"__proto__":{"role":"admin"},"email":"p@example.com","name":"P"}',
        /"__proto__" property at \//,
      ],
      [
        '{"email":"p@example.com","name":"P","x":[{"\\u005f_proto__":{}}]}',
        /"__proto__" property at \/x\/0/,
      ],
      [
        '{"constructor":{"prototype":{"role":"admin"}},"email":"p@example.com","name":"P"}',
        /"constructor.prototype"/,
      ],
    ] as const) {
      const r = await call(app.server, 'POST', '/api/users', {
        headers: { ...app.auth.admin, 'content-type': 'application/json' },
        payload,
      });
      assertNamed(r, named, /prototype-poisoning/);
      assert.doesNotMatch(r.body.detail, /not valid JSON/);
    }
    // The checks walk without recursion: any depth JSON.parse takes is a 400, not a 500.
    for (const payload of [
      `${'['.repeat(10_000)}"\\u0041"${']'.repeat(10_000)}`,
      `{"email":"d@example.com","name":"D","x":${'{"a":'.repeat(10_000)}"\\u0000"${'}'.repeat(10_000)}}`,
    ])
      assertProblem(
        await call(app.server, 'POST', '/api/users', {
          headers: { ...app.auth.admin, 'content-type': 'application/json' },
          payload,
        }),
        400,
      );
    const broken = await call(app.server, 'POST', '/api/users', {
      headers: { ...app.auth.admin, 'content-type': 'application/json' },
      payload: '{"email":',
    });
    assertNamed(broken, /not valid JSON/, /invalid-json/);
    assert.equal(await stored(), before);
  });
});
