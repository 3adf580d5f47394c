import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import { problems } from '../schemas.js';

/** The scrape endpoint: the registry of the metrics plugin, in Prometheus's text format. */
const metricsRoutes: FastifyPluginAsync = async (app) => {
  const { metrics } = app;
  app.get(
    '/metrics',
    {
      schema: {
        operationId: 'metrics',
        summary: 'Prometheus metrics',
        description:
          'Request, database pool, order and process metrics in the Prometheus text format, for scraping.',
        tags: ['operations'],
        security: [],
        response: {
          200: {
            description: 'Prometheus text exposition format',
            content: { 'text/plain': { schema: Type.String() } },
          },
          ...problems(400),
        },
      },
    },
    async (_request, reply) => {
      const body = await metrics.registry.metrics();
      return reply.type(metrics.registry.contentType).send(body);
    },
  );
};

export default metricsRoutes;
