// The SQL of the API's two read paths, copied verbatim from order-food/src (order-repository.ts
// listOrders + itemsOf, product-repository.ts listProducts) so the bare server does the same
// database work. bench/test/baseline.test.ts checks they still match the API's source.

export const orderColumns = `id, user_id, status, total_cents, created_at, updated_at,
  to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS position`;

/** A customer's orders, newest first: listOrders with userId and no cursor ($1 user, $2 limit+1). */
export const listOrdersSql = `SELECT ${orderColumns} FROM orders WHERE user_id = $1
     ORDER BY created_at DESC, id DESC LIMIT $2`;

/** The lines of a page of orders: itemsOf. */
export const orderItemsSql = `SELECT order_id, product_id, quantity, unit_price_cents FROM order_items
     WHERE order_id = ANY($1::uuid[]) ORDER BY order_id, line_no`;

export const productColumns =
  'id, sku, name, description, category, price_cents, available, created_at, updated_at';

/** The first page of the menu: listProducts with no filter ($1 limit+1). */
export const listProductsSql = `SELECT ${productColumns} FROM products ORDER BY name, id LIMIT $1`;
