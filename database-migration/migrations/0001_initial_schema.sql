-- The v1 schema of order-food: users, the menu, orders with their lines, and the idempotency
-- keys that make POST /api/orders safe to retry. Money is integer cents.

CREATE TABLE users (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  email       text NOT NULL,
  name        text NOT NULL,
  role        text NOT NULL DEFAULT 'customer',
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT users_email_format CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 254 AND position('@' IN email) > 1),
  CONSTRAINT users_name_length CHECK (length(name) BETWEEN 1 AND 200),
  CONSTRAINT users_role_valid CHECK (role IN ('customer', 'admin'))
);
CREATE UNIQUE INDEX users_email_key ON users (email);

CREATE TABLE products (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  sku          text NOT NULL,
  name         text NOT NULL,
  description  text NOT NULL DEFAULT '',
  category     text NOT NULL,
  price_cents  integer NOT NULL,
  available    boolean NOT NULL DEFAULT true,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT products_sku_format CHECK (sku ~ '^[A-Z0-9][A-Z0-9_-]{0,63}$'),
  CONSTRAINT products_name_length CHECK (length(name) BETWEEN 1 AND 200),
  CONSTRAINT products_description_length CHECK (length(description) <= 2000),
  CONSTRAINT products_category_length CHECK (length(category) BETWEEN 1 AND 100),
  CONSTRAINT products_price_nonnegative CHECK (price_cents >= 0)
);
CREATE UNIQUE INDEX products_sku_key ON products (sku);
-- The menu pages by (name, id); a category filter pages by the same key within the category.
CREATE INDEX products_name_id_idx ON products (name, id);
CREATE INDEX products_category_name_id_idx ON products (category, name, id);

CREATE TABLE orders (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id       uuid NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
  status        text NOT NULL DEFAULT 'pending',
  total_cents   bigint NOT NULL,
  -- The natural key of an order that came from a data set (database-load); NULL for API orders.
  external_ref  text,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT orders_status_valid CHECK (status IN ('pending', 'confirmed', 'preparing', 'out_for_delivery', 'delivered', 'cancelled')),
  CONSTRAINT orders_total_nonnegative CHECK (total_cents >= 0)
);
CREATE UNIQUE INDEX orders_external_ref_key ON orders (external_ref) WHERE external_ref IS NOT NULL;
-- Keyset pagination, newest first: a customer's own orders, and all orders for admins.
CREATE INDEX orders_user_created_idx ON orders (user_id, created_at DESC, id DESC);
CREATE INDEX orders_created_idx ON orders (created_at DESC, id DESC);
CREATE INDEX orders_status_created_idx ON orders (status, created_at DESC, id DESC);

CREATE TABLE order_items (
  order_id          uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
  line_no           integer NOT NULL,
  product_id        uuid NOT NULL REFERENCES products (id) ON DELETE RESTRICT,
  quantity          integer NOT NULL,
  unit_price_cents  integer NOT NULL,
  PRIMARY KEY (order_id, line_no),
  CONSTRAINT order_items_line_positive CHECK (line_no > 0),
  CONSTRAINT order_items_quantity_positive CHECK (quantity > 0 AND quantity <= 1000),
  CONSTRAINT order_items_price_nonnegative CHECK (unit_price_cents >= 0)
);
CREATE INDEX order_items_product_idx ON order_items (product_id);

-- POST /api/orders with an Idempotency-Key: one row per (user, key). request_hash tells a replay
-- from a different body; the stored response is replayed; in_flight rows past locked_until belong
-- to a request that died and may be taken over.
CREATE TABLE idempotency_keys (
  user_id          uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  key              text NOT NULL,
  request_hash     text NOT NULL,
  state            text NOT NULL DEFAULT 'in_flight',
  response_status  integer,
  response_body    jsonb,
  order_id         uuid REFERENCES orders (id) ON DELETE SET NULL,
  locked_until     timestamptz NOT NULL DEFAULT now() + interval '30 seconds',
  created_at       timestamptz NOT NULL DEFAULT now(),
  completed_at     timestamptz,
  PRIMARY KEY (user_id, key),
  CONSTRAINT idempotency_keys_key_length CHECK (length(key) BETWEEN 1 AND 255),
  CONSTRAINT idempotency_keys_state_valid CHECK (state IN ('in_flight', 'completed'))
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
