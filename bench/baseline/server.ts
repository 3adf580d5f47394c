/**
 * The bare baseline: Fastify and a pg Pool only, the API's token check (same library, options) and
 * SQL, so the API's figures show what everything else costs. Env: DATABASE_URL, JWT_SECRET, PORT,
 * HOST. Erasable TypeScript only, so plain Node runs it without a loader, as the API runs dist/.
 */

import { productFromRow, productRowColumns } from '@order-food/platform/model';
import { createVerifier } from 'fast-jwt';
import Fastify from 'fastify';
import pg from 'pg';

// The SQL of the API's two read paths, copied verbatim from order-food/src (order-repository.ts
// listOrders + itemsOf, product-repository.ts listProducts) so the bare server does the same
// database work; a product's columns and its JSON come from the data model, as the API's do.
// bench/test/baseline.test.ts checks they still match the API's source.

export const orderColumns = `id, user_id, status, total_cents, delivery_address, delivery_note, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS created_at,
  to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS updated_at,
  to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS position`;

/** A customer's orders, newest first: listOrders with userId and no cursor ($1 user, $2 limit+1). */
export const listOrdersSql = `SELECT ${orderColumns} FROM orders WHERE user_id = $1
     ORDER BY created_at DESC, id DESC LIMIT $2`;

/** The lines of a page of orders: itemsOf. */
export const orderItemsSql = `SELECT order_id, product_id, quantity, unit_price_cents FROM order_items
     WHERE order_id = ANY($1::uuid[]) ORDER BY order_id, line_no`;

/** The caller's current role, read on every authenticated request: currentRole. */
export const currentRoleSql = 'SELECT role FROM users WHERE id = $1';

/** The first page of the menu: listProducts with no filter ($1 limit+1). */
export const listProductsSql = `SELECT ${productRowColumns} FROM products ORDER BY name, id LIMIT $1`;

interface OrderRow {
  id: string;
  user_id: string;
  status: string;
  total_cents: number;
  delivery_address: string | null;
  delivery_note: string | null;
  created_at: string;
  updated_at: string;
  position: string;
}
interface ItemRow {
  order_id: string;
  product_id: string;
  quantity: number;
  unit_price_cents: number;
}
const cursor = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const limitOf = (q: unknown) => {
  const n = Number((q as { limit?: string }).limit ?? 20);
  return Number.isInteger(n) && n >= 1 && n <= 100 ? n : 20;
};

async function main(): Promise<void> {
  const env = process.env;
  const secret = env.JWT_SECRET;
  if (!env.DATABASE_URL || !secret) {
    process.stderr.write('bare server: DATABASE_URL and JWT_SECRET are required\n');
    process.exit(2);
  }

  const pool = new pg.Pool({
    connectionString: env.DATABASE_URL,
    max: 10,
    types: {
      getTypeParser(oid: number, format?: 'text' | 'binary') {
        if (oid === 20 && format !== 'binary') return (value: string) => Number(value);
        return pg.types.getTypeParser(oid, format);
      },
    },
  });

  // The API's verifier options and lifetime cap (order-food/src/token.ts).
  const verify = createVerifier({
    key: secret,
    algorithms: ['HS256'],
    allowedIss: 'order-food',
    allowedAud: 'order-food',
    requiredClaims: ['sub', 'exp', 'iat', 'iss', 'aud'],
    checkTyp: 'jwt',
    cache: 1000,
  });
  const ttlSeconds = Number(env.JWT_TTL_SECONDS ?? 86_400);

  const app = Fastify({ logger: false });

  app.get('/health', async () => ({ status: 'ok' }));

  app.get('/api/orders', async (request, reply) => {
    const match = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '');
    let userId: string;
    try {
      const claims = verify(match?.[1] ?? '') as { sub: string; iat: number; exp: number };
      if (claims.exp - claims.iat > ttlSeconds) throw new Error('lifetime');
      userId = claims.sub;
    } catch {
      return reply.code(401).send({ title: 'Unauthorized' });
    }
    // The caller's existence from the database, as the API's authenticate hook reads it.
    const caller = await pool.query<{ role: string }>(currentRoleSql, [userId]);
    if (caller.rows.length === 0) return reply.code(401).send({ title: 'Unauthorized' });
    const limit = limitOf(request.query);
    const { rows } = await pool.query<OrderRow>(listOrdersSql, [userId, limit + 1]);
    const page = rows.slice(0, limit);
    const ids = page.map((r) => r.id);
    const items = new Map<string, ItemRow[]>(ids.map((id) => [id, []]));
    if (ids.length > 0) {
      const r = await pool.query<ItemRow>(orderItemsSql, [ids]);
      for (const row of r.rows) items.get(row.order_id)?.push(row);
    }
    const last = page[page.length - 1];
    return {
      items: page.map((r) => ({
        id: r.id,
        userId: r.user_id,
        status: r.status,
        totalCents: Number(r.total_cents),
        items: (items.get(r.id) ?? []).map((i) => ({
          productId: i.product_id,
          quantity: i.quantity,
          unitPriceCents: i.unit_price_cents,
        })),
        createdAt: r.created_at,
        updatedAt: r.updated_at,
        ...(r.delivery_address === null
          ? {}
          : {
              delivery:
                r.delivery_note === null
                  ? { address: r.delivery_address }
                  : { address: r.delivery_address, note: r.delivery_note },
            }),
      })),
      nextCursor:
        rows.length > limit && last ? cursor({ k: 'o', t: last.position, i: last.id }) : null,
    };
  });

  app.get('/api/products', async (request) => {
    const limit = limitOf(request.query);
    const { rows } = await pool.query<Record<string, unknown> & { id: string; name: string }>(
      listProductsSql,
      [limit + 1],
    );
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      items: page.map(productFromRow),
      nextCursor: rows.length > limit && last ? cursor({ k: 'p', n: last.name, i: last.id }) : null,
    };
  });

  const close = () => {
    app.close().then(
      () => pool.end().then(() => process.exit(0)),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', close);
  process.on('SIGINT', close);

  await app.listen({ port: Number(env.PORT ?? 8081), host: env.HOST ?? '127.0.0.1' });
}

if (import.meta.main) await main();
