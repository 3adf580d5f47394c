import { type Static, type TObject, type TSchema, Type } from 'typebox';

/**
 * The data model, written once: every field of a product, user, order and order line with its
 * limits, as JSON Schema (TypeBox). The API's route schemas, the loader's record checks, its
 * staging tables and merge lists, the generator and the bench baseline are derived from here; a
 * test holds the migrated database's columns and CHECK constraints to it. A field's column is its
 * name in snake_case.
 */

export const Uuid = Type.String({ format: 'uuid' });
export const Timestamp = Type.String({ format: 'date-time' });

/** The schema version (schema_migrations) each program needs, by the migration it relies on. */
export const requiredSchemaVersion = {
  /** 0005 adds orders.delivery_address and delivery_note, which the data set's orders may set. */
  'database-load': 5,
  /** 0005 adds orders.delivery_address and delivery_note, which the API writes and reads. */
  'order-food': 5,
} as const;

// Closed sets of strings are enums, not unions of literals: a union is an anyOf, for which the
// response serializer (fast-json-stringify) runs a schema validator per branch on every value it
// writes, and its errors name each branch instead of the set.
export const roles = ['customer', 'admin'] as const;
export const Role = Type.Enum(roles, { type: 'string' });
export type RoleT = Static<typeof Role>;

export const orderStatuses = [
  'pending',
  'confirmed',
  'preparing',
  'out_for_delivery',
  'delivered',
  'cancelled',
] as const;
export const Status = Type.Enum(orderStatuses, {
  type: 'string',
  $id: 'OrderStatus',
  description: 'Where an order is in its life; see PATCH /api/orders/{id}/status for the moves',
});
export type OrderStatus = (typeof orderStatuses)[number];

/** The status machine: where each status may go next. */
export const transitions: Record<OrderStatus, readonly OrderStatus[]> = {
  pending: ['confirmed', 'cancelled'],
  confirmed: ['preparing', 'cancelled'],
  preparing: ['out_for_delivery'],
  out_for_delivery: ['delivered'],
  delivered: [],
  cancelled: [],
};

/** The most of one product one order may hold, and the most lines an order may have. */
export const maxQuantity = 1000;
export const maxOrderLines = 100;

export const Sku = Type.String({
  pattern: '^[A-Z0-9][A-Z0-9_-]{0,63}$',
  description: 'upper case letters, digits, _ and -',
});
export const Email = Type.String({ format: 'email', minLength: 3, maxLength: 254 });
export const PersonName = Type.String({ minLength: 1, maxLength: 200 });
export const PriceCents = Type.Integer({
  minimum: 0,
  maximum: 10_000_000,
  description: 'A price in integer cents (1250 is 12.50)',
});
export const Quantity = Type.Integer({ minimum: 1, maximum: maxQuantity });
/** Sums of cents stay exact numbers in JavaScript. */
export const TotalCents = Type.Integer({
  minimum: 0,
  maximum: Number.MAX_SAFE_INTEGER,
  description: 'The sum of the lines (quantity × unitPriceCents), in integer cents',
});

/**
 * What a client or a data set gives for a product. Optional fields carry their default, which
 * the API's validator and the loader's both fill in.
 */
export const productFields = {
  sku: Sku,
  name: Type.String({ minLength: 1, maxLength: 200 }),
  description: Type.Optional(Type.String({ maxLength: 2000, default: '' })),
  category: Type.String({ minLength: 1, maxLength: 100 }),
  priceCents: PriceCents,
  available: Type.Optional(Type.Boolean({ default: true })),
};

/** What a client or a data set gives for a user; emails are stored in lower case. */
export const userFields = {
  email: Email,
  name: PersonName,
  role: Type.Optional(Type.Enum(roles, { type: 'string', default: 'customer' })),
};

/** The fields of the stored order and its lines that the database holds to limits. */
export const orderFields = { status: Status, totalCents: TotalCents };
export const orderItemFields = {
  lineNo: Type.Integer({ minimum: 1, maximum: maxOrderLines }),
  quantity: Quantity,
  unitPriceCents: PriceCents,
};

/** Where an order goes, and a word for the courier (since 1.1.0). */
export const DeliveryAddress = Type.String({ minLength: 1, maxLength: 500 });
export const DeliveryNote = Type.String({ maxLength: 500 });
export const Delivery = Type.Object(
  { address: DeliveryAddress, note: Type.Optional(DeliveryNote) },
  {
    additionalProperties: false,
    description: 'Where to deliver the order; left out of an order placed without one',
  },
);
export type DeliveryT = Static<typeof Delivery>;

/**
 * The delivery's columns. Optional without a default means a nullable column: 1.1.0 added them
 * as such (expand), so the API of 1.0.0, which never names them, keeps writing orders.
 */
export const orderDeliveryFields = {
  deliveryAddress: Type.Optional(DeliveryAddress),
  deliveryNote: Type.Optional(DeliveryNote),
};

/** Each table's model fields and its natural key (the loader merges on it). */
export const tables = {
  products: { fields: productFields, key: 'sku' },
  users: { fields: userFields, key: 'email' },
  orders: { fields: { ...orderFields, ...orderDeliveryFields }, key: undefined },
  order_items: { fields: orderItemFields, key: undefined },
} as const;

type Snake<S extends string> = S extends `${infer H}${infer T}`
  ? `${H extends Lowercase<H> ? H : `_${Lowercase<H>}`}${Snake<T>}`
  : S;

/** The column of a field: its name in snake_case. */
export function columnOf<K extends string>(field: K): Snake<K> {
  return field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`) as Snake<K>;
}

type Fields = Record<string, TSchema>;

/** The columns of a set of fields, in their order. */
export function columnsOf<F extends Fields>(fields: F): Snake<keyof F & string>[] {
  return Object.keys(fields).map((k) => columnOf(k)) as Snake<keyof F & string>[];
}

/** A record with a field per column, as the data set's files and the staging tables have it. */
export type ColumnRecord<F extends Fields> = {
  -readonly [K in keyof F & string as Snake<K>]-?: Static<F[K]>;
};

/** The closed object of a set of fields keyed by column, as a data set's file writes them. */
export function columnObject<F extends Fields>(fields: F): TObject {
  const properties: Record<string, TSchema> = {};
  for (const [key, schema] of Object.entries(fields)) properties[columnOf(key)] = schema;
  return Type.Object(properties, { additionalProperties: false });
}

/** The schema without its default: a change names only what it changes. */
function withoutDefault<T extends TSchema>(schema: T): T {
  const { default: _, ...rest } = schema as T & { default?: unknown };
  return rest as T;
}

/** Whether a field's column may be NULL: an optional field without a default. */
export function isNullable(schema: TSchema): boolean {
  return Type.IsOptional(schema) && (schema as { default?: unknown }).default === undefined;
}

/** The PostgreSQL type of a field's column. */
export function sqlTypeOf(schema: TSchema): string {
  const s = schema as { type?: string; format?: string; maximum?: number };
  if (s.format === 'uuid') return 'uuid';
  if (s.format === 'date-time') return 'timestamp with time zone';
  if (s.type === 'integer')
    return s.maximum !== undefined && s.maximum <= 2_147_483_647 ? 'integer' : 'bigint';
  if (s.type === 'boolean') return 'boolean';
  return 'text';
}

// The $id of an object names it in the OpenAPI document (components.schemas) and so in clients
// generated from it; each example is a valid instance (the document's linters check them).
const example = {
  productId: '0b4e7a52-8d1f-4c3a-9f5e-2a6c1d3b7e90',
  userId: '5f2c9e14-3b7a-4d8e-8c1f-6a9b2e4d7c30',
  orderId: 'c7d1a3e5-9b2f-4e6a-8d4c-1f3e5a7b9d20',
  at: '2026-01-15T12:30:00.000Z',
};
const burger = {
  sku: 'BURGER-CLASSIC',
  name: 'Classic Burger',
  description: 'Beef patty, cheddar, pickles',
  category: 'burgers',
  priceCents: 1250,
  available: true,
};

export const ProductCreate = Type.Object(productFields, {
  $id: 'ProductCreate',
  additionalProperties: false,
  description: 'A new product; description and available may be left out',
  examples: [{ sku: burger.sku, name: burger.name, category: burger.category, priceCents: 1250 }],
});
export type ProductInput = Static<typeof ProductCreate>;

export const ProductPatch = Type.Partial(
  Type.Object(
    Object.fromEntries(
      Object.entries(productFields).map(([k, s]) => [k, withoutDefault(s)]),
    ) as typeof productFields,
  ),
  {
    $id: 'ProductPatch',
    additionalProperties: false,
    minProperties: 1,
    description: 'The fields to change (at least one)',
    examples: [{ priceCents: 1350, available: false }],
  },
);
export type ProductChanges = Static<typeof ProductPatch>;

export const Product = Type.Object(
  {
    id: Uuid,
    ...Type.Required(ProductCreate).properties,
    createdAt: Timestamp,
    updatedAt: Timestamp,
  },
  {
    $id: 'Product',
    additionalProperties: false,
    description: 'A product of the menu',
    examples: [{ id: example.productId, ...burger, createdAt: example.at, updatedAt: example.at }],
  },
);
export type ProductT = Static<typeof Product>;

const productPairs = Object.keys(productFields).map((k) => [k, columnOf(k)] as const);

/**
 * A timestamptz column as the API answers it (ISO 8601 in UTC, milliseconds, what
 * Date.toISOString writes), formatted by PostgreSQL: the API only passes it on.
 */
export const isoTimestampColumn = (column: string): string =>
  `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS ${column}`;

/** The columns of a product row, as the API and the bench baseline select them. */
export const productRowColumns = `id, ${columnsOf(productFields).join(', ')}, ${isoTimestampColumn('created_at')}, ${isoTimestampColumn('updated_at')}`;

/** A product row (productRowColumns) as the API answers it. */
export function productFromRow(row: Record<string, unknown>): ProductT {
  const product: Record<string, unknown> = { id: row.id };
  for (const [key, column] of productPairs) product[key] = row[column];
  product.createdAt = row.created_at as string;
  product.updatedAt = row.updated_at as string;
  return product as ProductT;
}

export const User = Type.Object(
  {
    id: Uuid,
    ...Type.Required(Type.Object(userFields)).properties,
    createdAt: Timestamp,
  },
  {
    $id: 'User',
    additionalProperties: false,
    description: 'A customer or an admin; the role decides what the user may do',
    examples: [
      {
        id: example.userId,
        email: 'alice@example.com',
        name: 'Alice Martin',
        role: 'customer',
        createdAt: example.at,
      },
    ],
  },
);
export type UserT = Static<typeof User>;

export const OrderItem = Type.Object(
  {
    productId: Uuid,
    quantity: orderItemFields.quantity,
    unitPriceCents: orderItemFields.unitPriceCents,
  },
  {
    $id: 'OrderItem',
    additionalProperties: false,
    description: "A line of an order: the product's price when the order was placed",
    examples: [{ productId: example.productId, quantity: 2, unitPriceCents: 1250 }],
  },
);

export const Order = Type.Object(
  {
    id: Uuid,
    userId: Uuid,
    ...orderFields,
    items: Type.Array(OrderItem),
    createdAt: Timestamp,
    updatedAt: Timestamp,
    // Last: the schema's serializer writes optional properties after the required ones, and the
    // list of orders, written with JSON.stringify, writes the same bytes.
    delivery: Type.Optional(Delivery),
  },
  {
    $id: 'Order',
    additionalProperties: false,
    description: 'An order of one user, with its lines and status',
    examples: [
      {
        id: example.orderId,
        userId: example.userId,
        status: 'pending',
        totalCents: 2500,
        items: [{ productId: example.productId, quantity: 2, unitPriceCents: 1250 }],
        createdAt: example.at,
        updatedAt: example.at,
      },
    ],
  },
);
export type OrderT = Static<typeof Order>;
