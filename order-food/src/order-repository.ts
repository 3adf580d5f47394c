import type { Queryable } from '@order-food/platform/database';
import {
  type DeliveryT,
  isoTimestampColumn,
  maxQuantity,
  type OrderStatus,
  type OrderT,
  transitions,
} from '@order-food/platform/model';
import { encodeOrderCursor, type OrderPosition } from './cursor.js';
import { conflict, HttpProblem, notFound, unauthorized } from './problem.js';

interface OrderRow {
  id: string;
  user_id: string;
  status: OrderStatus;
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

// position keeps created_at to the microsecond: a cursor built from a JS Date (milliseconds)
// would skip or repeat orders created within the same millisecond.
const columns = `id, user_id, status, total_cents, delivery_address, delivery_note, ${isoTimestampColumn('created_at')},
  ${isoTimestampColumn('updated_at')},
  to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS position`;

/** An order without a delivery leaves the field out, as the schema's serializer would. */
function deliveryOf(r: OrderRow): { delivery?: DeliveryT } {
  if (r.delivery_address === null) return {};
  return {
    delivery:
      r.delivery_note === null
        ? { address: r.delivery_address }
        : { address: r.delivery_address, note: r.delivery_note },
  };
}

function toOrder(r: OrderRow, items: ItemRow[]): OrderT {
  return {
    id: r.id,
    userId: r.user_id,
    status: r.status,
    totalCents: Number(r.total_cents),
    items: items.map((i) => ({
      productId: i.product_id,
      quantity: i.quantity,
      unitPriceCents: i.unit_price_cents,
    })),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    ...deliveryOf(r),
  };
}

async function itemsOf(db: Queryable, orderIds: string[]): Promise<Map<string, ItemRow[]>> {
  const byOrder = new Map<string, ItemRow[]>(orderIds.map((id) => [id, []]));
  if (orderIds.length === 0) return byOrder;
  const { rows } = await db.query<ItemRow>(
    `SELECT order_id, product_id, quantity, unit_price_cents FROM order_items
     WHERE order_id = ANY($1::uuid[]) ORDER BY order_id, line_no`,
    [orderIds],
  );
  for (const r of rows) byOrder.get(r.order_id)?.push(r);
  return byOrder;
}

export interface OrderLine {
  productId: string;
  quantity: number;
}

/**
 * The lines of an order with each product once: lines naming the same product (ids compared in
 * lower case) become one line at the place of the first, quantities added. Two lines of 1000
 * would otherwise pass the per-line limit twice. A merged quantity over the limit is a 400 naming
 * the lines.
 */
export function mergeLines(lines: readonly OrderLine[]): OrderLine[] {
  const merged: OrderLine[] = [];
  const at = new Map<string, number>();
  const sources: number[][] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as OrderLine;
    const productId = line.productId.toLowerCase();
    const index = at.get(productId);
    if (index === undefined) {
      at.set(productId, merged.length);
      merged.push({ productId, quantity: line.quantity });
      sources.push([i]);
    } else {
      (merged[index] as OrderLine).quantity += line.quantity;
      sources[index]?.push(i);
    }
  }
  for (let m = 0; m < merged.length; m++) {
    const line = merged[m] as OrderLine;
    if (line.quantity > maxQuantity) {
      const from = sources[m] as number[];
      const message = `lines ${from.join(', ')} name product ${line.productId}: ${line.quantity} in all, at most ${maxQuantity} per product`;
      throw new HttpProblem(400, `body/items: ${message}`, {
        type: 'validation',
        extensions: {
          errors: [{ in: 'body', path: `/items/${from[from.length - 1]}/quantity`, message }],
        },
      });
    }
  }
  return merged;
}

interface PlacedRow extends Partial<OrderRow> {
  /** The products asked for that exist, and those of them not available, by id. */
  found: string[] | null;
  unavailable: string[] | null;
  item_products: string[] | null;
  item_quantities: number[] | null;
  item_prices: number[] | null;
}

/**
 * The whole order in one statement (one round trip instead of three inside the transaction): the
 * products asked for are read and locked FOR SHARE (in id order: one order for every caller), the
 * order is inserted only when every one exists and is available, at the total of the stored
 * prices, and its lines with those prices. The products found and the unavailable ones come back
 * either way, so a refusal can name them.
 */
const placeOrderSql = `WITH priced AS MATERIALIZED (
    SELECT id, price_cents, available FROM products
    WHERE id = ANY($2::uuid[]) ORDER BY id FOR SHARE
  ), lines AS (
    SELECT t.line_no, t.product_id, t.quantity, p.price_cents
    FROM unnest($3::int[], $4::uuid[], $5::int[]) AS t(line_no, product_id, quantity)
    JOIN priced p ON p.id = t.product_id
  ), new_order AS (
    INSERT INTO orders (user_id, status, total_cents, delivery_address, delivery_note)
    SELECT $1, 'pending', (SELECT sum(price_cents::bigint * quantity) FROM lines), $6, $7
    WHERE (SELECT count(*) = cardinality($2::uuid[]) AND bool_and(available) FROM priced)
    RETURNING ${columns}
  ), new_items AS (
    INSERT INTO order_items (order_id, line_no, product_id, quantity, unit_price_cents)
    SELECT o.id, l.line_no, l.product_id, l.quantity, l.price_cents FROM new_order o CROSS JOIN lines l
    RETURNING line_no, product_id, quantity, unit_price_cents
  )
  SELECT o.*,
    (SELECT array_agg(id::text ORDER BY id) FROM priced) AS found,
    (SELECT array_agg(id::text ORDER BY id) FROM priced WHERE NOT available) AS unavailable,
    (SELECT array_agg(product_id::text ORDER BY line_no) FROM new_items) AS item_products,
    (SELECT array_agg(quantity ORDER BY line_no) FROM new_items) AS item_quantities,
    (SELECT array_agg(unit_price_cents ORDER BY line_no) FROM new_items) AS item_prices
  FROM (SELECT 1) AS one LEFT JOIN new_order o ON true`;

/**
 * Places an order for userId inside tx: prices are read from the database under FOR SHARE, so a
 * concurrent price change waits for this order (or this order sees the new price), and the
 * total is computed from exactly the prices stored with the lines. Client prices never count.
 */
export async function placeOrder(
  tx: Queryable,
  userId: string,
  lines: OrderLine[],
  delivery?: DeliveryT,
): Promise<OrderT> {
  const productIds = lines.map((l) => l.productId.toLowerCase());
  const ids = [...new Set(productIds)];
  let placed: PlacedRow;
  try {
    const { rows } = await tx.query<PlacedRow>(placeOrderSql, [
      userId,
      ids,
      lines.map((_, i) => i + 1),
      productIds,
      lines.map((l) => l.quantity),
      delivery?.address ?? null,
      delivery?.note ?? null,
    ]);
    placed = rows[0]!;
  } catch (err) {
    const e = err as { code?: string; table?: string };
    if (e.code === '23503' && e.table === 'orders')
      throw unauthorized('the user of this token no longer exists');
    throw err;
  }
  if (!placed.id) {
    const found = new Set(placed.found ?? []);
    const unknown = ids.filter((id) => !found.has(id));
    const unavailable = placed.unavailable ?? [];
    const parts = [];
    if (unknown.length > 0) parts.push(`unknown products: ${unknown.join(', ')}`);
    if (unavailable.length > 0) parts.push(`unavailable products: ${unavailable.join(', ')}`);
    throw new HttpProblem(422, `the order cannot be placed; ${parts.join('; ')}`, {
      type: 'products-not-orderable',
      extensions: { unknownProducts: unknown, unavailableProducts: unavailable },
    });
  }
  const order = placed as OrderRow & PlacedRow;
  const products = placed.item_products ?? [];
  const quantities = placed.item_quantities ?? [];
  const prices = placed.item_prices ?? [];
  return toOrder(
    order,
    products.map((productId, i) => ({
      order_id: order.id,
      product_id: productId,
      quantity: quantities[i]!,
      unit_price_cents: prices[i]!,
    })),
  );
}

export async function getOrder(db: Queryable, id: string): Promise<OrderT | undefined> {
  const { rows } = await db.query<OrderRow>(`SELECT ${columns} FROM orders WHERE id = $1`, [id]);
  const row = rows[0];
  if (!row) return undefined;
  return toOrder(row, (await itemsOf(db, [row.id])).get(row.id) ?? []);
}

export interface OrderFilter {
  /** Only this user's orders; undefined for all (admins). */
  userId?: string | undefined;
  status?: OrderStatus | undefined;
  after?: OrderPosition | undefined;
  limit: number;
}

/**
 * The page query for each shape of filter (which of user, status and cursor are given), built once:
 * the same text each time, so neither the driver nor the statement metrics see a new string per
 * request. Parameters follow in that order, then the limit.
 */
const listSqlByShape = new Map<number, string>();

function listSql(byUser: boolean, byStatus: boolean, after: boolean): string {
  const shape = (byUser ? 1 : 0) | (byStatus ? 2 : 0) | (after ? 4 : 0);
  let text = listSqlByShape.get(shape);
  if (text === undefined) {
    const where: string[] = [];
    let n = 0;
    if (byUser) where.push(`user_id = $${++n}`);
    if (byStatus) where.push(`status = $${++n}`);
    if (after) where.push(`(created_at, id) < ($${++n}::timestamptz, $${++n}::uuid)`);
    text = `SELECT ${columns} FROM orders${where.length ? ` WHERE ${where.join(' AND ')}` : ''}
     ORDER BY created_at DESC, id DESC LIMIT $${++n}`;
    listSqlByShape.set(shape, text);
  }
  return text;
}

export async function listOrders(
  db: Queryable,
  filter: OrderFilter,
): Promise<{ items: OrderT[]; nextCursor: string | null }> {
  const params: unknown[] = [];
  if (filter.userId !== undefined) params.push(filter.userId);
  if (filter.status !== undefined) params.push(filter.status);
  if (filter.after !== undefined) params.push(filter.after.createdAt, filter.after.id);
  params.push(filter.limit + 1);
  const { rows } = await db.query<OrderRow>(
    listSql(filter.userId !== undefined, filter.status !== undefined, filter.after !== undefined),
    params,
  );
  const more = rows.length > filter.limit;
  const page = more ? rows.slice(0, filter.limit) : rows;
  const items = await itemsOf(
    db,
    page.map((r) => r.id),
  );
  const last = page[page.length - 1];
  return {
    items: page.map((r) => toOrder(r, items.get(r.id) ?? [])),
    nextCursor: more && last ? encodeOrderCursor({ createdAt: last.position, id: last.id }) : null,
  };
}

/**
 * Moves an order to status `to` if the machine allows it from its current status, under a row
 * lock so two concurrent changes cannot both pass the check. visibleTo limits it to one user's
 * orders (others answer as missing).
 */
export async function changeStatus(
  tx: Queryable,
  id: string,
  to: OrderStatus,
  visibleTo?: string,
): Promise<{ order: OrderT; from: OrderStatus }> {
  const { rows } = await tx.query<{ status: OrderStatus; user_id: string }>(
    'SELECT status, user_id FROM orders WHERE id = $1 FOR UPDATE',
    [id],
  );
  const current = rows[0];
  if (!current || (visibleTo !== undefined && current.user_id !== visibleTo))
    throw notFound(`order ${id} does not exist`);
  if (!transitions[current.status].includes(to)) {
    throw conflict(
      `order ${id} is ${current.status}; it cannot become ${to}${transitions[current.status].length ? ` (allowed: ${transitions[current.status].join(', ')})` : ''}`,
      'invalid-status-transition',
    );
  }
  await tx.query('UPDATE orders SET status = $2, updated_at = now() WHERE id = $1', [id, to]);
  const order = await getOrder(tx, id);
  return { order: order!, from: current.status };
}
