import swagger from '@fastify/swagger';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { OpenAPIV3_1 } from 'openapi-types';
import { SchemaComponents } from '../openapi-components.js';
import { notFound } from '../problem.js';

export interface DocsOptions {
  version: string;
}

/** What a reader needs first: how to get a token, then the conventions of every route. */
const description = `A food-ordering API: a public menu, customers who place orders, admins who run them.

## Getting a token

Operations with a lock need a bearer token (a JWT) of a user who exists. In development
(\`ENVIRONMENT=development\`, which \`npm start\` and \`npm run token\` set):

- \`npm start\` prints, once the API is ready, tokens for the seeded customer \`alice@example.com\` and admin \`admin@example.com\`, with curl commands that use them;
- \`npm run token -- --email alice@example.com\` prints a token for any user on its last line (with the embedded database, run it while the API is stopped).

Paste the token into Authentication (Bearer) on this page; Test Request sends it.

## Conventions

Money is in integer cents (\`priceCents\`, \`unitPriceCents\`, \`totalCents\`: 1250 is 12.50). Lists answer \`{items, nextCursor}\`; pass \`nextCursor\` as \`cursor\` for the next page. Errors are RFC 9457 problems (\`application/problem+json\`). Every response carries \`x-request-id\`. \`POST /api/orders\` takes an \`Idempotency-Key\` header, which makes it safe to retry.`;

/** The response headers every route sets, declared once (components.headers). */
const headers = {
  RequestId: {
    description:
      'Names this request in the logs and traces: the x-request-id sent, if it is 1 to 128 of A-Z a-z 0-9 . _ : -, else a new UUID',
    schema: { type: 'string' as const, examples: ['9f1c2b7e-4a3d-4e8f-b6c5-0d2e1f3a4b5c'] },
  },
  Location: {
    description: 'The path of the resource created',
    schema: {
      type: 'string' as const,
      examples: ['/api/orders/c7d1a3e5-9b2f-4e6a-8d4c-1f3e5a7b9d20'],
    },
  },
  IdempotentReplayed: {
    description:
      'Present (true) when this is the stored response of an earlier request with the same Idempotency-Key',
    schema: { type: 'string' as const, enum: ['true'] },
  },
};

type Operation = {
  parameters?: { in: string; name: string }[];
  responses?: Record<string, { headers?: Record<string, unknown> }>;
};

/**
 * Adds the headers to every response of the document: x-request-id everywhere (the onRequest
 * hook in app.ts sets it), Location on each 201 (every create sets it), idempotent-replayed on
 * the 201 of each operation that takes an Idempotency-Key.
 */
function declareHeaders(document: { paths?: Record<string, Record<string, Operation>> }) {
  const ref = (name: keyof typeof headers) => ({ $ref: `#/components/headers/${name}` });
  for (const operations of Object.values(document.paths ?? {})) {
    for (const operation of Object.values(operations)) {
      const idempotent = operation.parameters?.some(
        (p) => p.in === 'header' && p.name === 'idempotency-key',
      );
      for (const [status, response] of Object.entries(operation.responses ?? {})) {
        response.headers = { 'x-request-id': ref('RequestId'), ...response.headers };
        if (status === '201') {
          response.headers.location = ref('Location');
          if (idempotent) response.headers['idempotent-replayed'] = ref('IdempotentReplayed');
        }
      }
    }
  }
  return document;
}

/**
 * The OpenAPI 3.1 document, generated from the route schemas (so it cannot drift from what the
 * routes validate), and an API reference page rendering it. Register before the routes: the
 * document is collected as routes are added. Each schema with an $id (the model's Product,
 * Order, User …) becomes a named component under that name.
 */
export const openapi = fp<DocsOptions>(
  async (app, options) => {
    const components = new SchemaComponents();
    await app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: {
          title: 'order-food',
          version: options.version,
          description,
          contact: { name: 'order-food maintainers' },
          license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
        },
        // Relative: the server that serves this document, wherever it is deployed.
        servers: [{ url: '/', description: 'This server' }],
        components: {
          securitySchemes: {
            bearerAuth: {
              type: 'http',
              scheme: 'bearer',
              bearerFormat: 'JWT',
              description: 'A token from npm run token (development); see the introduction',
            },
          },
          headers,
        },
        tags: [
          { name: 'menu', description: 'Products: public reads, admin writes' },
          { name: 'users', description: 'Users' },
          { name: 'orders', description: 'Orders and their status' },
          { name: 'operations', description: 'Probes and metrics' },
        ],
      },
      transform: ({ schema, url }) => ({ schema: components.reference(schema) as never, url }),
      transformObject: (document) => {
        const { openapiObject } = document as { openapiObject: OpenAPIV3_1.Document };
        openapiObject.components ??= {};
        openapiObject.components.schemas = {
          ...openapiObject.components.schemas,
          ...components.schemas,
        } as never;
        return declareHeaders(openapiObject as never) as typeof openapiObject;
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
        configuration: {
          url: '/openapi.json',
          title: 'order-food API',
          // Only what works on this server alone: no AI chat, MCP, deploy or share buttons, no
          // telemetry or web fonts, nothing that calls Scalar's services.
          agent: { disabled: true },
          mcp: { disabled: true },
          showDeveloperTools: 'never',
          hideClientButton: true,
          customCss: 'a[href^="https://www.scalar.com"] { display: none !important; }',
          telemetry: false,
          withDefaultFonts: false,
          authentication: { preferredSecurityScheme: 'bearerAuth' },
          defaultHttpClient: { targetKey: 'shell', clientKey: 'curl' },
        },
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
