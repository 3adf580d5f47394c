import swagger from '@fastify/swagger';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { notFound } from '../problem.js';

export interface DocsOptions {
  version: string;
}

/**
 * The OpenAPI 3.1 document, generated from the route schemas (so it cannot drift from what the
 * routes validate), and an API reference page rendering it. Register before the routes: the
 * document is collected as routes are added.
 */
export const openapi = fp<DocsOptions>(
  async (app, options) => {
    await app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: {
          title: 'order-food',
          version: options.version,
          description:
            'A food-ordering API. Money is in integer cents. Lists answer {items, nextCursor}; pass nextCursor as cursor for the next page. Errors are RFC 9457 problems (application/problem+json). Every response carries x-request-id.',
        },
        components: {
          securitySchemes: {
            bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
          },
        },
        tags: [
          { name: 'menu', description: 'Products: public reads, admin writes' },
          { name: 'users', description: 'Users' },
          { name: 'orders', description: 'Orders and their status' },
          { name: 'operations', description: 'Probes and metrics' },
        ],
      },
    });
  },
  { name: 'openapi', fastify: '5.x' },
);

/**
 * GET /openapi.json and the reference page at /docs; register after the routes. The page's
 * package carries a 4 MB bundle that takes seconds to load, so it is loaded on the first visit to
 * /docs, on an inner Fastify instance, instead of at every start.
 */
export const docs = fp(
  async (app) => {
    app.get(
      '/openapi.json',
      {
        schema: {
          hide: true,
          response: { 200: { type: 'object', additionalProperties: true } },
        },
      },
      async () => app.swagger(),
    );

    let reference: Promise<FastifyInstance> | undefined;
    const load = async (): Promise<FastifyInstance> => {
      const { default: scalar } = await import('@scalar/fastify-api-reference');
      const inner = Fastify({ logger: false });
      await inner.register(scalar, {
        routePrefix: '/docs',
        configuration: { url: '/openapi.json', title: 'order-food API' },
      });
      await inner.ready();
      return inner;
    };
    app.addHook('onClose', async () => {
      if (reference) await (await reference).close();
    });
    const serve = async (request: FastifyRequest, reply: FastifyReply) => {
      reference ??= load().catch((err: unknown) => {
        reference = undefined;
        throw err;
      });
      const answer = await (await reference).inject({
        method: 'GET',
        url: request.url,
        headers: { accept: request.headers.accept ?? '*/*' },
      });
      if (answer.statusCode === 404) throw notFound(`no page ${request.url.split('?')[0]}`);
      for (const name of ['content-type', 'location', 'cache-control', 'etag']) {
        const value = answer.headers[name];
        if (value !== undefined) reply.header(name, value);
      }
      return reply.code(answer.statusCode).send(answer.rawPayload);
    };
    app.get('/docs', { schema: { hide: true } }, serve);
    app.get('/docs/*', { schema: { hide: true } }, serve);
  },
  { name: 'docs', fastify: '5.x', dependencies: ['openapi'] },
);
