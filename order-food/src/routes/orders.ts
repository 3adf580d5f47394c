import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { trace } from '@opentelemetry/api';
import type { Database } from '@order-food/platform/database';
import { inSpan } from '@order-food/platform/span';
import type { FastifyReply } from 'fastify';
import { Type } from 'typebox';
import { decodeOrderCursor } from '../cursor.js';
import { claimKey, completeKey, releaseKey, requestHash } from '../idempotency.js';
import type { Metrics } from '../metrics.js';
import { changeStatus, getOrder, listOrders, mergeLines, placeOrder } from '../order-repository.js';
import { callerOf } from '../plugins/auth.js';
import { notFound } from '../problem.js';
import {
  Cursor,
  IdParams,
  json,
  jsonType,
  Limit,
  Order,
  OrderCreate,
  type OrderT,
  Page,
  problems,
  repeatedProductRule,
  Status,
  StatusChange,
} from '../schemas.js';

export interface OrderRoutesOptions {
  db: Database;
  metrics: Metrics;
}

const tracer = trace.getTracer('order-food/orders');
const bearer = [{ bearerAuth: [] }];

const CreateHeaders = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 255,
      description:
        'Makes the request safe to retry: the same key and body replay the first response; another body is refused (422); a repeat while the first runs is refused (409)',
    }),
  ),
});

const ListQuery = Type.Object(
  { status: Type.Optional(Status), limit: Type.Optional(Limit), cursor: Type.Optional(Cursor) },
  { additionalProperties: false },
);

/** Orders: customers place and see their own; admins see all and move them through the status machine. */
const orderRoutes: FastifyPluginAsyncTypebox<OrderRoutesOptions> = async (app, { db, metrics }) => {
  const recordPlaced = (order: OrderT) => {
    metrics.ordersCreated.inc();
    metrics.orderValue.observe(order.totalCents);
  };

  app.post(
    '/api/orders',
    {
      onRequest: app.authenticate,
      schema: {
        operationId: 'placeOrder',
        summary: 'Place an order for the caller; prices come from the menu at order time',
        description: repeatedProductRule,
        tags: ['orders'],
        security: bearer,
        headers: CreateHeaders,
        body: OrderCreate,
        response: {
          201: json(
            Order,
            'The order placed (or, for a repeated Idempotency-Key, the stored response)',
          ),
          ...problems(400, 401, 409, 413, 415, 422),
        },
      },
    },
    async (request, reply) => {
      const caller = callerOf(request);
      const items = mergeLines(request.body.items);
      const { delivery } = request.body;
      const key = request.headers['idempotency-key'];
      return inSpan(
        tracer,
        'order.place',
        {},
        async (span) => {
          span.setAttributes({
            'order.item_count': items.reduce((n, i) => n + i.quantity, 0),
            'order.line_count': request.body.items.length,
            'order.idempotency_key': key !== undefined,
          });
          if (key === undefined) {
            const order = await db.transaction((tx) =>
              placeOrder(tx, caller.userId, items, delivery),
            );
            recordPlaced(order);
            span.setAttributes({ 'order.id': order.id, 'order.total_cents': order.totalCents });
            return reply.code(201).header('location', `/api/orders/${order.id}`).send(order);
          }
          // Without a delivery the hash is the one 1.0.0 computes: a retry of the same body
          // meets the same answer whichever release's replica takes it.
          const lines = items.map((i) => [i.productId, i.quantity]);
          const hash = requestHash(
            'POST /api/orders',
            delivery === undefined ? lines : { lines, delivery: [delivery.address, delivery.note] },
          );
          const claim = await claimKey(db, caller.userId, key, hash);
          if (claim.kind === 'replay') {
            metrics.idempotentReplays.inc();
            span.setAttribute('order.idempotent_replay', true);
            // The stored body went through the same serializer when it was first sent.
            return (reply as FastifyReply)
              .code(claim.status)
              .header('idempotent-replayed', 'true')
              .send(claim.body);
          }
          let order: OrderT;
          try {
            order = await db.transaction(async (tx) => {
              const placed = await placeOrder(tx, caller.userId, items, delivery);
              await completeKey(tx, caller.userId, key, claim.fence, 201, placed, placed.id);
              return placed;
            });
          } catch (err) {
            await releaseKey(db, caller.userId, key, claim.fence).catch((releaseErr: Error) =>
              request.log.warn(
                { err: { message: releaseErr.message } },
                'could not release an Idempotency-Key; it frees itself when its lock expires',
              ),
            );
            throw err;
          }
          recordPlaced(order);
          span.setAttributes({ 'order.id': order.id, 'order.total_cents': order.totalCents });
          return reply.code(201).header('location', `/api/orders/${order.id}`).send(order);
        },
        // A refused order (4xx) is the caller's, not a failure of the service.
        { failed: (err) => ((err as { statusCode?: number }).statusCode ?? 500) >= 500 },
      );
    },
  );

  app.get(
    '/api/orders',
    {
      onRequest: app.authenticate,
      schema: {
        operationId: 'listOrders',
        summary: "The caller's orders, newest first (admins: all orders)",
        description:
          'Filter by status; pages of limit orders (at most 100); pass nextCursor as cursor for the next page.',
        tags: ['orders'],
        security: bearer,
        querystring: ListQuery,
        response: { 200: json(Page(Order), 'One page of orders'), ...problems(400, 401) },
      },
    },
    async (request, reply) => {
      const caller = callerOf(request);
      const { status, cursor } = request.query;
      const page = await listOrders(db, {
        userId: caller.role === 'admin' ? undefined : caller.userId,
        status,
        after: cursor === undefined ? undefined : decodeOrderCursor(cursor),
        limit: request.query.limit ?? 20,
      });
      // JSON.stringify writes one flat string; the schema's serializer joins hundreds of pieces
      // that must be flattened again to be measured (3-4 % of the page, bench/findings.md). toOrder
      // builds the schema's fields in its order: api-orders-page.test.ts holds both to one text.
      return (reply as FastifyReply).type(jsonType).serializer(JSON.stringify).send(page);
    },
  );

  app.get(
    '/api/orders/:id',
    {
      onRequest: app.authenticate,
      schema: {
        operationId: 'getOrder',
        summary: 'One order (its owner or an admin)',
        description: "Someone else's order answers 404, as a missing one does.",
        tags: ['orders'],
        security: bearer,
        params: IdParams,
        response: { 200: json(Order, 'The order'), ...problems(400, 401, 404) },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      const order = await getOrder(db, request.params.id);
      // Someone else's order answers exactly like a missing one.
      if (!order || (caller.role !== 'admin' && order.userId !== caller.userId))
        throw notFound(`order ${request.params.id} does not exist`);
      return order;
    },
  );

  app.post(
    '/api/orders/:id/cancel',
    {
      onRequest: app.authenticate,
      schema: {
        operationId: 'cancelOrder',
        summary: 'Cancel an order while it is pending or confirmed (its owner or an admin)',
        description:
          "Once it is preparing or later, or already cancelled or delivered, the answer is 409. Someone else's order answers 404.",
        tags: ['orders'],
        security: bearer,
        params: IdParams,
        response: { 200: json(Order, 'The order, now cancelled'), ...problems(400, 401, 404, 409) },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      const { order, from } = await db.transaction((tx) =>
        changeStatus(
          tx,
          request.params.id,
          'cancelled',
          caller.role === 'admin' ? undefined : caller.userId,
        ),
      );
      metrics.orderStatusTransitions.inc({ from, to: 'cancelled' });
      return order;
    },
  );

  app.patch(
    '/api/orders/:id/status',
    {
      onRequest: app.requireAdmin,
      schema: {
        operationId: 'changeOrderStatus',
        summary:
          'Move an order on (admin): pending → confirmed → preparing → out_for_delivery → delivered; cancelled from pending or confirmed',
        description:
          'Admins only. Any other move answers 409, naming the moves allowed from the current status.',
        tags: ['orders'],
        security: bearer,
        params: IdParams,
        body: StatusChange,
        response: {
          200: json(Order, 'The order with its new status'),
          ...problems(400, 401, 403, 404, 409, 413, 415),
        },
      },
    },
    async (request) => {
      const { order, from } = await db.transaction((tx) =>
        changeStatus(tx, request.params.id, request.body.status),
      );
      metrics.orderStatusTransitions.inc({ from, to: request.body.status });
      return order;
    },
  );
};

export default orderRoutes;
