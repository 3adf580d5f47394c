import {
  Delivery,
  maxOrderLines,
  maxQuantity,
  productFields,
  Quantity,
  Status,
  Uuid,
  userFields,
} from '@order-food/platform/model';
import { type Static, type TSchema, Type } from 'typebox';

// The routes' schemas of the data model itself come from the model; the rest is the API's own.
export {
  Delivery,
  type DeliveryT,
  Order,
  type OrderT,
  Product,
  ProductCreate,
  ProductPatch,
  Status,
  User,
  Uuid,
} from '@order-food/platform/model';

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
    $id: 'Problem',
    additionalProperties: true,
    description: 'An RFC 9457 problem; some kinds add fields such as errors or products',
    examples: [
      {
        type: 'about:blank',
        title: 'Not Found',
        status: 404,
        detail: 'product 0b4e7a52-8d1f-4c3a-9f5e-2a6c1d3b7e90 does not exist',
        instance: '/api/products/0b4e7a52-8d1f-4c3a-9f5e-2a6c1d3b7e90',
      },
    ],
  },
);

const problemDescriptions: Record<number, string> = {
  400: 'Malformed request: body, query, parameters, cursor, or a header sent twice',
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

/** A page of a list; named after its item, which must have an $id (ProductPage, OrderPage). */
export const Page = <T extends TSchema>(item: T) => {
  const name = (item as { $id?: string }).$id;
  if (name === undefined) throw new Error('Page(item): the item schema needs an $id');
  return Type.Object(
    {
      items: Type.Array(item),
      // A type list, not an anyOf (see Status).
      nextCursor: Type.Unsafe<string | null>({
        type: ['string', 'null'],
        description: 'Pass as cursor for the next page; null on the last page',
      }),
    },
    { $id: `${name}Page`, additionalProperties: false, description: `A page of ${name} items` },
  );
};

export const Category = productFields.category;

export const UserCreate = Type.Object(userFields, {
  $id: 'UserCreate',
  additionalProperties: false,
  description: 'A new user; role defaults to customer',
  examples: [{ email: 'carol@example.com', name: 'Carol Diaz' }],
});

/** What POST /api/orders does with a product named on several lines; the OpenAPI says it. */
export const repeatedProductRule = `Lines naming the same product (its id in any letter case) are merged into one line, at the place of the first, with their quantities added; the merged quantity is held to the same limit of ${maxQuantity} (400 beyond it, naming the lines).`;

export const OrderCreate = Type.Object(
  {
    items: Type.Array(
      Type.Object(
        {
          productId: Uuid,
          quantity: Quantity,
        },
        { $id: 'OrderLine', additionalProperties: false, description: 'A product and how many' },
      ),
      { minItems: 1, maxItems: maxOrderLines, description: repeatedProductRule },
    ),
    delivery: Type.Optional(Delivery),
  },
  {
    $id: 'OrderCreate',
    additionalProperties: false,
    description: 'A new order: the lines; prices come from the menu',
    examples: [{ items: [{ productId: '0b4e7a52-8d1f-4c3a-9f5e-2a6c1d3b7e90', quantity: 2 }] }],
  },
);
export type OrderCreateT = Static<typeof OrderCreate>;

export const StatusChange = Type.Object(
  { status: Status },
  {
    $id: 'StatusChange',
    additionalProperties: false,
    description: 'The status to move an order to',
    examples: [{ status: 'confirmed' }],
  },
);

export const IdParams = Type.Object({ id: Uuid }, { additionalProperties: false });
