import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Database } from '@order-food/platform/database';
import type { FastifyReply } from 'fastify';
import { Type } from 'typebox';
import { decodeProductCursor } from '../cursor.js';
import { notFound } from '../problem.js';
import { createProduct, getProduct, listProducts, updateProduct } from '../product-repository.js';
import {
  Category,
  Cursor,
  IdParams,
  json,
  jsonType,
  Limit,
  Page,
  Product,
  ProductCreate,
  ProductPatch,
  problems,
} from '../schemas.js';

export interface ProductRoutesOptions {
  db: Database;
}

const ListQuery = Type.Object(
  {
    category: Type.Optional(Category),
    available: Type.Optional(Type.Boolean()),
    q: Type.Optional(
      Type.String({ minLength: 1, maxLength: 100, description: 'Part of the name' }),
    ),
    limit: Type.Optional(Limit),
    cursor: Type.Optional(Cursor),
  },
  { additionalProperties: false },
);

const bearer = [{ bearerAuth: [] }];

/** The menu: public reads served from the in-memory cache, admin writes that invalidate it. */
const productRoutes: FastifyPluginAsyncTypebox<ProductRoutesOptions> = async (app, { db }) => {
  const cache = app.menuCache;

  const listSchema = (
    operationId: string,
    summary: string,
    description: string,
    deprecated = false,
  ) => ({
    operationId,
    summary,
    description,
    tags: ['menu'],
    security: [],
    ...(deprecated ? { deprecated: true } : {}),
    querystring: ListQuery,
    response: {
      200: json(Page(Product), 'One page of the menu, ordered by name'),
      ...problems(400),
    },
  });

  const list = async (
    request: {
      query: {
        category?: string;
        available?: boolean;
        q?: string;
        limit?: number;
        cursor?: string;
      };
    },
    reply: FastifyReply,
  ) => {
    const { category, available, q, cursor } = request.query;
    const limit = request.query.limit ?? 20;
    const filter = `list\u0000${category ?? ''}\u0000${available ?? ''}\u0000${q ?? ''}\u0000${limit}\u0000`;
    const key = filter + (cursor ?? '');
    const body =
      cache.get(key) ??
      (await cache.fill(
        key,
        () =>
          listProducts(db, {
            category,
            available,
            q,
            after: cursor === undefined ? undefined : decodeProductCursor(cursor),
            limit,
          }),
        {
          // Searches and cursors are free text: only first pages and the chain they link to.
          admit: q === undefined && (cursor === undefined || cache.admissible(key)),
          next: (page) => (page.nextCursor === null ? undefined : filter + page.nextCursor),
        },
      ));
    return reply.type(jsonType).send(body);
  };

  const listDescription =
    'Public. Filters: category, available, q (part of the name, any letter case). Pages of limit products (at most 100) ordered by name; pass nextCursor as cursor for the next page. Answers come from an in-memory cache that every change of the menu empties.';
  app.get(
    '/api/products',
    { schema: listSchema('listProducts', 'List the menu', listDescription) },
    list,
  );
  app.get(
    '/api/product',
    {
      schema: listSchema(
        'listProductsLegacyPath',
        'List the menu (the same as GET /api/products, kept for older clients)',
        `Deprecated: use GET /api/products, which answers the same. ${listDescription}`,
        true,
      ),
    },
    list,
  );

  app.get(
    '/api/products/:id',
    {
      schema: {
        operationId: 'getProduct',
        summary: 'One product',
        description:
          'Public. Withdrawn products (available false) are still found, as past orders name them.',
        tags: ['menu'],
        security: [],
        params: IdParams,
        response: { 200: json(Product, 'The product'), ...problems(400, 404) },
      },
    },
    async (request, reply) => {
      const key = `id\u0000${request.params.id}`;
      const body =
        cache.get(key) ??
        (await cache.fill(
          key,
          async () => {
            const product = await getProduct(db, request.params.id);
            if (!product) throw notFound(`product ${request.params.id} does not exist`);
            return product;
          },
          // Only products that exist are kept: as many as the menu has.
          { admit: true },
        ));
      return (reply as FastifyReply).type(jsonType).send(body);
    },
  );

  app.post(
    '/api/products',
    {
      onRequest: app.requireAdmin,
      schema: {
        operationId: 'createProduct',
        summary: 'Add a product (admin)',
        description:
          'Admins only. The sku is unique (409 if taken); description defaults to empty and available to true.',
        tags: ['menu'],
        security: bearer,
        body: ProductCreate,
        response: {
          201: json(Product, 'The product created'),
          ...problems(400, 401, 403, 409, 413, 415),
        },
      },
    },
    async (request, reply) => {
      const product = await db.transaction((tx) => createProduct(tx, request.body));
      cache.invalidate();
      return reply.code(201).header('location', `/api/products/${product.id}`).send(product);
    },
  );

  app.patch(
    '/api/products/:id',
    {
      onRequest: app.requireAdmin,
      schema: {
        operationId: 'updateProduct',
        summary: 'Change a product (admin)',
        description:
          'Admins only. Names only the fields to change; a new price applies to orders placed from now on, not to past ones.',
        tags: ['menu'],
        security: bearer,
        params: IdParams,
        body: ProductPatch,
        response: {
          200: json(Product, 'The product changed'),
          ...problems(400, 401, 403, 404, 409, 413, 415),
        },
      },
    },
    async (request) => {
      const product = await db.transaction((tx) =>
        updateProduct(tx, request.params.id, request.body),
      );
      cache.invalidate();
      return product;
    },
  );

  app.delete(
    '/api/products/:id',
    {
      onRequest: app.requireAdmin,
      schema: {
        operationId: 'withdrawProduct',
        summary:
          'Withdraw a product from the menu (admin): marks it unavailable, past orders keep it',
        description:
          'Admins only. Nothing is deleted: the product stays readable with available false, and orders can no longer name it.',
        tags: ['menu'],
        security: bearer,
        params: IdParams,
        response: {
          204: { description: 'Marked unavailable', type: 'null' },
          ...problems(400, 401, 403, 404),
        },
      },
    },
    async (request, reply) => {
      await db.transaction((tx) => updateProduct(tx, request.params.id, { available: false }));
      cache.invalidate();
      return (reply as FastifyReply).code(204).send();
    },
  );
};

export default productRoutes;
