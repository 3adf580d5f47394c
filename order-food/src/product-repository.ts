import type { Queryable } from '@order-food/platform/database';
import {
  columnOf,
  columnsOf,
  type ProductChanges,
  type ProductInput,
  type ProductT,
  productFields,
  productFromRow,
  productRowColumns,
} from '@order-food/platform/model';
import { encodeProductCursor, type ProductPosition } from './cursor.js';
import { conflict, notFound } from './problem.js';

/** Channel on which every product change is announced, so each replica drops its menu cache. */
export const productsChannel = 'order_food_products_changed';

/** created_at and updated_at arrive as ISO strings (isoTimestampColumn); the rest by column. */
type ProductRow = Record<string, unknown> & { id: string; name: string };

const columns = productRowColumns;
const toProduct = productFromRow;

export interface ProductFilter {
  category?: string | undefined;
  available?: boolean | undefined;
  q?: string | undefined;
  after?: ProductPosition | undefined;
  limit: number;
}

export async function listProducts(
  db: Queryable,
  filter: ProductFilter,
): Promise<{ items: ProductT[]; nextCursor: string | null }> {
  const where: string[] = [];
  const params: unknown[] = [];
  const param = (v: unknown) => {
    params.push(v);
    return `$${params.length}`;
  };
  if (filter.category !== undefined) where.push(`category = ${param(filter.category)}`);
  if (filter.available !== undefined) where.push(`available = ${param(filter.available)}`);
  if (filter.q !== undefined)
    where.push(`name ILIKE ${param(`%${filter.q.replace(/[\\%_]/g, '\\$&')}%`)}`);
  if (filter.after)
    where.push(`(name, id) > (${param(filter.after.name)}, ${param(filter.after.id)}::uuid)`);
  const sql = `SELECT ${columns} FROM products${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY name, id LIMIT ${param(filter.limit + 1)}`;
  const { rows } = await db.query<ProductRow>(sql, params);
  const more = rows.length > filter.limit;
  const page = more ? rows.slice(0, filter.limit) : rows;
  const last = page[page.length - 1];
  return {
    items: page.map(toProduct),
    nextCursor: more && last ? encodeProductCursor({ name: last.name, id: last.id }) : null,
  };
}

export async function getProduct(db: Queryable, id: string): Promise<ProductT | undefined> {
  const { rows } = await db.query<ProductRow>(`SELECT ${columns} FROM products WHERE id = $1`, [
    id,
  ]);
  return rows[0] ? toProduct(rows[0]) : undefined;
}

async function announce(tx: Queryable, id: string): Promise<void> {
  await tx.query('SELECT pg_notify($1, $2)', [productsChannel, id]);
}

function skuTaken(err: unknown, sku: string | undefined): never {
  if ((err as { code?: string }).code === '23505')
    throw conflict(`a product with sku ${sku ?? ''} already exists`, 'duplicate-sku');
  throw err;
}

const fields = Object.keys(productFields) as (keyof typeof productFields)[];
const insertColumns = columnsOf(productFields).join(', ');
const insertParams = fields.map((_, i) => `$${i + 1}`).join(', ');

/** tx must be a transaction: the notification is delivered only if the change commits. */
export async function createProduct(tx: Queryable, input: ProductInput): Promise<ProductT> {
  try {
    const { rows } = await tx.query<ProductRow>(
      `INSERT INTO products (${insertColumns}) VALUES (${insertParams}) RETURNING ${columns}`,
      // The validator filled in the defaults; a caller inside the API may leave them out.
      fields.map((f) => input[f] ?? (productFields[f] as { default?: unknown }).default),
    );
    const row = rows[0]!;
    await announce(tx, row.id);
    return toProduct(row);
  } catch (err) {
    skuTaken(err, input.sku);
  }
}

export async function updateProduct(
  tx: Queryable,
  id: string,
  changes: ProductChanges,
): Promise<ProductT> {
  const sets: string[] = [];
  const params: unknown[] = [id];
  for (const field of fields) {
    const value = changes[field];
    if (value === undefined) continue;
    params.push(value);
    sets.push(`${columnOf(field)} = $${params.length}`);
  }
  sets.push('updated_at = now()');
  try {
    const { rows } = await tx.query<ProductRow>(
      `UPDATE products SET ${sets.join(', ')} WHERE id = $1 RETURNING ${columns}`,
      params,
    );
    const row = rows[0];
    if (!row) throw notFound(`product ${id} does not exist`);
    await announce(tx, id);
    return toProduct(row);
  } catch (err) {
    skuTaken(err, changes.sku);
  }
}
