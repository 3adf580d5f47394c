import { type Static, type TSchema, Type } from 'typebox';

export const Uuid = Type.String({ format: 'uuid' });

export const Problem = Type.Object(
  {
    type: Type.String({ description: 'A URI reference naming the kind of problem' }),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    instance: Type.String({
      description: 'The request path; the x-request-id header names the occurrence',
    }),
  },
  {
    additionalProperties: true,
    description: 'An RFC 9457 problem; some kinds add fields such as errors or products',
  },
);

const problemDescriptions: Record<number, string> = {
  400: 'Malformed request: body, query, parameters or cursor',
  401: 'Missing or invalid bearer token',
  403: 'Authenticated but not allowed',
  404: 'Not found (or not visible to the caller)',
  409: 'Conflict with the current state',
  413: 'Body too large',
  415: 'Unsupported content type',
  422: 'Well-formed but cannot be processed',
  500: 'Unexpected error (no internals are shown; quote the x-request-id)',
  503: 'Service unavailable (database down, shutting down)',
};

/** Response entries for the problems a route can answer. */
export function problems(...codes: number[]): Record<number, unknown> {
  const out: Record<number, unknown> = {};
  for (const code of [...codes, 500, 503]) {
    out[code] = {
      description: problemDescriptions[code] ?? 'Error',
      content: { 'application/problem+json': { schema: Problem } },
    };
  }
  return out;
}

/** The content type of bodies a route writes itself (the menu's cached pages, the orders page). */
export const jsonType = 'application/json; charset=utf-8';

/** A JSON response entry with a description, for the OpenAPI document. */
export function json<T extends TSchema>(schema: T, description: string) {
  return { description, content: { 'application/json': { schema } } };
}

export const Limit = Type.Integer({
  minimum: 1,
  maximum: 100,
  default: 20,
  description: 'Page size (at most 100)',
});
export const Cursor = Type.String({
  minLength: 1,
  maxLength: 512,
  description: 'The nextCursor of the previous page',
});

export const Page = <T extends TSchema>(item: T) =>
  Type.Object(
    {
      items: Type.Array(item),
      // A type list, not an anyOf (see Status).
      nextCursor: Type.Unsafe<string | null>({
        type: ['string', 'null'],
        description: 'Pass as cursor for the next page; null on the last page',
      }),
    },
    { additionalProperties: false },
  );

export const Sku = Type.String({ pattern: '^[A-Z0-9][A-Z0-9_-]{0,63}$' });
export const ProductName = Type.String({ minLength: 1, maxLength: 200 });
export const Description = Type.String({ maxLength: 2000 });
export const Category = Type.String({ minLength: 1, maxLength: 100 });
export const PriceCents = Type.Integer({ minimum: 0, maximum: 10_000_000 });

export const Product = Type.Object(
  {
    id: Uuid,
    sku: Type.String(),
    name: Type.String(),
    description: Type.String(),
    category: Type.String(),
    priceCents: Type.Integer(),
    available: Type.Boolean(),
    createdAt: Type.String({ format: 'date-time' }),
    updatedAt: Type.String({ format: 'date-time' }),
  },
  { additionalProperties: false },
);
export type ProductT = Static<typeof Product>;

export const ProductCreate = Type.Object(
  {
    sku: Sku,
    name: ProductName,
    description: Type.Optional(Description),
    category: Category,
    priceCents: PriceCents,
    available: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

export const ProductPatch = Type.Object(
  {
    sku: Type.Optional(Sku),
    name: Type.Optional(ProductName),
    description: Type.Optional(Description),
    category: Type.Optional(Category),
    priceCents: Type.Optional(PriceCents),
    available: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const Role = Type.Enum(['customer', 'admin'], { type: 'string' });
export type RoleT = Static<typeof Role>;

export const User = Type.Object(
  {
    id: Uuid,
    email: Type.String(),
    name: Type.String(),
    role: Role,
    createdAt: Type.String({ format: 'date-time' }),
  },
  { additionalProperties: false },
);
export type UserT = Static<typeof User>;

export const UserCreate = Type.Object(
  {
    email: Type.String({ format: 'email', minLength: 3, maxLength: 254 }),
    name: Type.String({ minLength: 1, maxLength: 200 }),
    role: Type.Optional(Role),
  },
  { additionalProperties: false },
);

export const orderStatuses = [
  'pending',
  'confirmed',
  'preparing',
  'out_for_delivery',
  'delivered',
  'cancelled',
] as const;
export type OrderStatus = (typeof orderStatuses)[number];
// Closed sets of strings are enums, not unions of literals: a union is an anyOf, for which the
// response serializer (fast-json-stringify) runs a schema validator per branch on every value it
// writes (up to six per order on a page), and its errors name each branch instead of the set.
export const Status = Type.Enum(orderStatuses, { type: 'string' });

export const OrderItem = Type.Object(
  {
    productId: Uuid,
    quantity: Type.Integer(),
    unitPriceCents: Type.Integer(),
  },
  { additionalProperties: false },
);

export const Order = Type.Object(
  {
    id: Uuid,
    userId: Uuid,
    status: Status,
    totalCents: Type.Integer(),
    items: Type.Array(OrderItem),
    createdAt: Type.String({ format: 'date-time' }),
    updatedAt: Type.String({ format: 'date-time' }),
  },
  { additionalProperties: false },
);
export type OrderT = Static<typeof Order>;

/** The most of one product one order may hold (order_items enforces it too). */
export const maxQuantity = 1000;

/** What POST /api/orders does with a product named on several lines; the OpenAPI says it. */
export const repeatedProductRule = `Lines naming the same product (its id in any letter case) are merged into one line, at the place of the first, with their quantities added; the merged quantity is held to the same limit of ${maxQuantity} (400 beyond it, naming the lines).`;

export const OrderCreate = Type.Object(
  {
    items: Type.Array(
      Type.Object(
        {
          productId: Uuid,
          quantity: Type.Integer({ minimum: 1, maximum: maxQuantity }),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: 100, description: repeatedProductRule },
    ),
  },
  { additionalProperties: false },
);
export type OrderCreateT = Static<typeof OrderCreate>;

export const StatusChange = Type.Object({ status: Status }, { additionalProperties: false });

export const IdParams = Type.Object({ id: Uuid }, { additionalProperties: false });
