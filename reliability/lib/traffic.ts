import { randomUUID } from 'node:crypto';
import { bearer, type Product, type Tokens } from './fixture.js';
import type { RequestSpec, Sample } from './http.js';
import { query } from './pg.js';

/**
 * A mix of what users do: menu pages and single products (public), a customer's own order list,
 * and order placement with an Idempotency-Key (writes). orderShare is the share of writes.
 */
export function mixedTraffic(
  tokens: Tokens,
  products: readonly Product[],
  { orderShare = 0.2 }: { orderShare?: number } = {},
): (n: number) => RequestSpec {
  if (products.length === 0) throw new Error('no available products to order');
  const customers = [tokens.alice, tokens.bob];
  return (n) => {
    const r = (n * 0.6180339887) % 1;
    const token = customers[n % 2] as string;
    if (r < orderShare) {
      const lines = 1 + (n % 3);
      const items = Array.from({ length: lines }, (_, i) => ({
        productId: (products[(n * 7 + i * 13) % products.length] as Product).id,
        quantity: 1 + ((n + i) % 3),
      }));
      return {
        kind: 'order',
        method: 'POST',
        path: '/api/orders',
        headers: { ...bearer(token), 'idempotency-key': randomUUID() },
        body: { items },
      };
    }
    if (r < orderShare + 0.25)
      return {
        kind: 'my orders',
        method: 'GET',
        path: '/api/orders?limit=20',
        headers: bearer(token),
      };
    if (r < orderShare + 0.4) {
      const p = products[n % products.length] as Product;
      return { kind: 'product', method: 'GET', path: `/api/products/${p.id}` };
    }
    return { kind: 'menu', method: 'GET', path: '/api/products?limit=20' };
  };
}

/** Ids of the orders the API acknowledged with 201. */
export function acknowledgedOrders(samples: readonly Sample[]): string[] {
  const ids: string[] = [];
  for (const s of samples) {
    if (s.kind === 'order' && s.status === 201 && s.body) {
      ids.push((JSON.parse(s.body) as { id: string }).id);
    }
  }
  return ids;
}

/** How many of the acknowledged orders are in the database (each with its lines). */
export async function ordersStored(databaseUrl: string, ids: readonly string[]): Promise<number> {
  if (ids.length === 0) return 0;
  const rows = await query<{ n: number }>(
    databaseUrl,
    `SELECT count(*)::int AS n FROM orders o
      WHERE o.id = ANY($1::uuid[]) AND EXISTS (SELECT 1 FROM order_items i WHERE i.order_id = o.id)`,
    [ids],
  );
  return rows[0]?.n ?? 0;
}

/** A compact "status: count" line. */
export function statusLine(byStatus: Record<string, number>): string {
  return Object.entries(byStatus)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ');
}
