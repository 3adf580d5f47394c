/**
 * The mixed load of the bench's memory figure (bench/figures/rss.ts), shared with the reliability
 * suite's rolling update so both measure the same traffic: one customer's reads of both lists, a
 * filtered menu page, a filtered orders page, and an order placed.
 */
import { randomUUID } from 'node:crypto';

export interface MixedRequest {
  /** A label for grouping results. */
  kind: string;
  method: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

export interface MixedLoadData {
  /** A customer's bearer token. */
  token: string;
  /** Available products to order (at least one). */
  productIds: readonly string[];
}

/** POST /api/orders: three lines from productIds, a fresh Idempotency-Key each time. */
export function orderRequest(data: MixedLoadData): () => MixedRequest {
  let n = 0;
  const ids = data.productIds;
  if (ids.length === 0) throw new Error('no products to order');
  return () => {
    n++;
    const items = [0, 1, 2].map((k) => ({
      productId: ids[(n * 3 + k) % ids.length] as string,
      quantity: 1 + ((n + k) % 3),
    }));
    return {
      kind: 'order',
      method: 'POST',
      path: '/api/orders',
      headers: {
        authorization: `Bearer ${data.token}`,
        'content-type': 'application/json',
        'idempotency-key': randomUUID(),
      },
      body: JSON.stringify({ items }),
    };
  };
}

/** The mix, in the order each connection cycles through it. */
export function mixedLoad(data: MixedLoadData): (() => MixedRequest)[] {
  const auth = { authorization: `Bearer ${data.token}` };
  const get = (kind: string, path: string, headers?: Record<string, string>) => () => ({
    kind,
    method: 'GET' as const,
    path,
    ...(headers ? { headers } : {}),
  });
  return [
    get('orders page', '/api/orders?limit=20', auth),
    get('menu page', '/api/products'),
    get('menu filtered', '/api/products?category=pizza&limit=50'),
    get('orders filtered', '/api/orders?limit=5&status=delivered', auth),
    orderRequest(data),
  ];
}

/** The n-th request of the mix sent as one stream (open-loop generators). */
export function mixedRequest(data: MixedLoadData): (n: number) => MixedRequest {
  const steps = mixedLoad(data);
  return (n) => (steps[n % steps.length] as () => MixedRequest)();
}
