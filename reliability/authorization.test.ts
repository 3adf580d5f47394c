import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { Api, bearer, fileDatabase, type Product, readyWithData } from './lib/fixture.js';
import type { HttpResponse, RequestSpec } from './lib/http.js';
import { Scenario } from './lib/report.js';

type Principal = 'anonymous' | 'customer A' | 'customer B' | 'admin';
const principals: Principal[] = ['anonymous', 'customer A', 'customer B', 'admin'];

interface Case {
  /** What to send; called once per principal, so each gets fresh resources. */
  request: (who: Principal) => Promise<RequestSpec>;
  expect: Record<Principal, number[]>;
  /** After a refused attempt: the resource it aimed at is unchanged. */
  unchanged?: (spec: RequestSpec) => Promise<void>;
}

const all = (s: number): Record<Principal, number[]> => ({
  anonymous: [s],
  'customer A': [s],
  'customer B': [s],
  admin: [s],
});

const scenario = new Scenario('authorization', 'Authorization: every route × four callers');
const db = fileDatabase('authz');

test('every route answers each of anonymous, customer A, customer B and admin as the rules say', async () => {
  await scenario.run(async () => {
    const api = await Api.start({ databaseUrl: db.url });
    try {
      const { t, products } = await readyWithData(api, db.url);
      const auth: Record<Principal, Record<string, string>> = {
        anonymous: {},
        'customer A': bearer(t.alice),
        'customer B': bearer(t.bob),
        admin: bearer(t.admin),
      };
      const call = async (spec: RequestSpec): Promise<HttpResponse> => api.request(spec);
      const json = <T>(r: HttpResponse): T => JSON.parse(r.body) as T;
      const product = products[0] as Product;
      const me = json<{ id: string }>(
        await call({ method: 'GET', path: '/api/users/me', headers: auth['customer A'] }),
      );
      const placeAliceOrder = async (): Promise<string> => {
        const r = await call({
          method: 'POST',
          path: '/api/orders',
          headers: { ...auth['customer A'], 'idempotency-key': randomUUID() },
          body: { items: [{ productId: product.id, quantity: 1 }] },
        });
        assert.equal(r.status, 201, r.body);
        return json<{ id: string }>(r).id;
      };
      const newProduct = async (): Promise<string> => {
        const r = await call({
          method: 'POST',
          path: '/api/products',
          headers: auth.admin,
          body: {
            sku: `AUTHZ-${randomUUID().slice(0, 8).toUpperCase()}`,
            name: 'Authz dish',
            category: 'test',
            priceCents: 1234,
          },
        });
        assert.equal(r.status, 201, r.body);
        return json<{ id: string }>(r).id;
      };
      const orderUnchanged = async (spec: RequestSpec) => {
        const id = spec.path.split('/')[3] as string;
        const r = await call({ method: 'GET', path: `/api/orders/${id}`, headers: auth.admin });
        assert.equal(
          json<{ status: string }>(r).status,
          'pending',
          `order ${id} unchanged after a refused ${spec.method} ${spec.path}`,
        );
      };
      const productUnchanged = async (spec: RequestSpec) => {
        const id = spec.path.split('/')[3] as string;
        const p = json<{ priceCents: number; available: boolean }>(
          await call({ method: 'GET', path: `/api/products/${id}` }),
        );
        assert.deepEqual(
          [p.priceCents, p.available],
          [1234, true],
          `product ${id} unchanged after a refused ${spec.method}`,
        );
      };
      const aliceOrder = await placeAliceOrder();
      const get = (path: string) => async (): Promise<RequestSpec> => ({ method: 'GET', path });

      const cases: Record<string, Case> = {
        'GET /health': {
          request: get('/health'),
          expect: all(200),
        },
        'GET /ready': {
          request: get('/ready'),
          expect: all(200),
        },
        'GET /metrics': {
          request: get('/metrics'),
          expect: all(200),
        },
        'GET /api/products': {
          request: get('/api/products'),
          expect: all(200),
        },
        'GET /api/product': {
          request: get('/api/product'),
          expect: all(200),
        },
        'GET /api/products/{id}': {
          request: get(`/api/products/${product.id}`),
          expect: all(200),
        },
        'POST /api/products': {
          request: async () => ({
            method: 'POST',
            path: '/api/products',
            body: {
              sku: `AUTHZ-${randomUUID().slice(0, 8).toUpperCase()}`,
              name: 'Authz',
              category: 'test',
              priceCents: 100,
            },
          }),
          expect: { anonymous: [401], 'customer A': [403], 'customer B': [403], admin: [201] },
        },
        'PATCH /api/products/{id}': {
          request: async () => ({
            method: 'PATCH',
            path: `/api/products/${await newProduct()}`,
            body: { priceCents: 999 },
          }),
          expect: { anonymous: [401], 'customer A': [403], 'customer B': [403], admin: [200] },
          unchanged: productUnchanged,
        },
        'DELETE /api/products/{id}': {
          request: async () => ({ method: 'DELETE', path: `/api/products/${await newProduct()}` }),
          expect: { anonymous: [401], 'customer A': [403], 'customer B': [403], admin: [204] },
          unchanged: productUnchanged,
        },
        'GET /api/users/me': {
          request: get('/api/users/me'),
          expect: { anonymous: [401], 'customer A': [200], 'customer B': [200], admin: [200] },
        },
        'GET /api/users/{id}': {
          request: get(`/api/users/${me.id}`),
          expect: { anonymous: [401], 'customer A': [200], 'customer B': [403, 404], admin: [200] },
        },
        'POST /api/users': {
          request: async () => ({
            method: 'POST',
            path: '/api/users',
            body: { email: `authz-${randomUUID().slice(0, 8)}@example.com`, name: 'Authz' },
          }),
          expect: { anonymous: [401], 'customer A': [403], 'customer B': [403], admin: [201] },
        },
        'POST /api/orders': {
          request: async () => ({
            method: 'POST',
            path: '/api/orders',
            headers: { 'idempotency-key': randomUUID() },
            body: { items: [{ productId: product.id, quantity: 1 }] },
          }),
          expect: { anonymous: [401], 'customer A': [201], 'customer B': [201], admin: [201] },
        },
        'GET /api/orders': {
          request: get('/api/orders?limit=100'),
          expect: { anonymous: [401], 'customer A': [200], 'customer B': [200], admin: [200] },
        },
        'GET /api/orders/{id}': {
          request: get(`/api/orders/${aliceOrder}`),
          expect: { anonymous: [401], 'customer A': [200], 'customer B': [403, 404], admin: [200] },
        },
        'POST /api/orders/{id}/cancel': {
          request: async () => ({
            method: 'POST',
            path: `/api/orders/${await placeAliceOrder()}/cancel`,
          }),
          expect: { anonymous: [401], 'customer A': [200], 'customer B': [403, 404], admin: [200] },
          unchanged: orderUnchanged,
        },
        'PATCH /api/orders/{id}/status': {
          request: async () => ({
            method: 'PATCH',
            path: `/api/orders/${await placeAliceOrder()}/status`,
            body: { status: 'confirmed' },
          }),
          expect: { anonymous: [401], 'customer A': [403], 'customer B': [403, 404], admin: [200] },
          unchanged: orderUnchanged,
        },
      };

      // Every operation of the OpenAPI document has a row, so a new route cannot slip past.
      const doc = json<{ paths: Record<string, Record<string, unknown>> }>(
        await call({ method: 'GET', path: '/openapi.json' }),
      );
      const documented = Object.entries(doc.paths).flatMap(([path, ops]) =>
        Object.keys(ops)
          .filter((m) => ['get', 'post', 'put', 'patch', 'delete'].includes(m))
          .map((m) => `${m.toUpperCase()} ${path}`),
      );
      assert.deepEqual(
        documented.filter((op) => !cases[op]),
        [],
        'every documented operation has authorization expectations',
      );

      const rows: string[] = [];
      const wrong: string[] = [];
      let requests = 0;
      for (const [op, c] of Object.entries(cases)) {
        const cells: string[] = [];
        for (const who of principals) {
          const spec = await c.request(who);
          spec.headers = { ...(spec.headers ?? {}), ...auth[who] };
          const r = await call(spec);
          requests++;
          const okStatus = c.expect[who].includes(r.status);
          if (!okStatus)
            wrong.push(
              `${op} as ${who}: ${r.status} (expected ${c.expect[who].join(' or ')}) ${r.body.slice(0, 200)}`,
            );
          if (r.status >= 400 && c.unchanged) await c.unchanged(spec);
          if (r.status >= 500) wrong.push(`${op} as ${who}: ${r.status}`);
          cells.push(
            okStatus ? `${r.status}` : `**${r.status}** (expected ${c.expect[who].join('/')})`,
          );
        }
        rows.push(`| ${op} | ${cells.join(' | ')} |`);
      }

      // Lists show only what the caller may see.
      const list = async (who: Principal) =>
        json<{ items: { id: string; userId: string }[] }>(
          await call({ method: 'GET', path: '/api/orders?limit=100', headers: auth[who] }),
        ).items;
      const [aList, bList, adminList] = await Promise.all([
        list('customer A'),
        list('customer B'),
        list('admin'),
      ]);
      const bobId = json<{ id: string }>(
        await call({ method: 'GET', path: '/api/users/me', headers: auth['customer B'] }),
      ).id;
      assert.ok(
        aList.length > 0 && aList.every((o) => o.userId === me.id),
        "customer A's list holds only A's orders",
      );
      assert.ok(
        bList.every((o) => o.userId === bobId) && !bList.some((o) => o.id === aliceOrder),
        "customer B's list holds none of A's orders",
      );
      assert.ok(
        new Set(adminList.map((o) => o.userId)).size > 1,
        "the admin's list holds several customers' orders",
      );

      scenario.trials = rows.length;
      scenario.requests = requests;
      scenario.errors = wrong.length;
      scenario.note(
        `${rows.length} operations (every one in /openapi.json) × 4 callers; customer A is alice@example.com, customer B bob@example.com, admin admin@example.com; the object routes aim at customer A's order and user record`,
      );
      scenario.note(
        "refused writes leave their target unchanged (checked after each); order lists show only the caller's own orders to customers",
      );
      scenario.detail(
        [
          '| operation | anonymous | customer A | customer B | admin |',
          '|---|---|---|---|---|',
          ...rows,
        ].join('\n'),
      );
      assert.deepEqual(wrong, [], 'every route answers every caller as expected');
    } finally {
      await api.stop();
    }
  });
});
