import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Product } from './fixture.js';
import type { HttpResponse, RequestSpec } from './http.js';

export type Principal = 'anonymous' | 'customer A' | 'customer B' | 'admin';
export const principals: Principal[] = ['anonymous', 'customer A', 'customer B', 'admin'];

export interface Case {
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

export const json = <T>(r: HttpResponse): T => JSON.parse(r.body) as T;

export interface Routes {
  /** The expectations of each operation, keyed `METHOD /path` as in /openapi.json. */
  cases: Record<string, Case>;
  /** Customer A's user record and order, which the object routes aim at. */
  me: { id: string };
  aliceOrder: string;
}

/**
 * Every route with the statuses each caller must get; the writes aim at fresh orders and products
 * made here, so each caller's attempt finds its target as it was made.
 */
export async function routeCases(
  call: (spec: RequestSpec) => Promise<HttpResponse>,
  auth: Record<Principal, Record<string, string>>,
  product: Product,
): Promise<Routes> {
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
  return { cases, me, aliceOrder };
}
