import fp from 'fastify-plugin';
import type { Metrics } from '../metrics.js';

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Metrics;
  }
}

export interface MetricsPluginOptions {
  metrics: Metrics;
}

/** The process's Prometheus registry (routes/metrics.ts serves it), with the pool's figures. */
export default fp<MetricsPluginOptions>(
  async (app, { metrics }) => {
    app.decorate('metrics', metrics);
    metrics.watchPool(() => app.db.stats());
  },
  { name: 'metrics', fastify: '5.x', dependencies: ['database'] },
);
