import swagger from '@fastify/swagger';
import scalar from '@scalar/fastify-api-reference';
import fp from 'fastify-plugin';

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

/** GET /openapi.json and the reference page at /docs; register after the routes. */
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
    await app.register(scalar, {
      routePrefix: '/docs',
      configuration: { url: '/openapi.json', title: 'order-food API' },
      logLevel: 'warn',
    });
  },
  { name: 'docs', fastify: '5.x', dependencies: ['openapi'] },
);
