import type { Database } from '@order-food/platform/database';
import fp from 'fastify-plugin';

declare module 'fastify' {
  interface FastifyInstance {
    db: Database;
  }
}

export interface DatabasePluginOptions {
  db: Database;
}

/**
 * The API's database pool, shared by the plugins that need it. Whoever opened it closes it: the
 * server after its graceful close, a test after its cases.
 */
export default fp<DatabasePluginOptions>(
  async (app, { db }) => {
    app.decorate('db', db);
  },
  { name: 'database', fastify: '5.x' },
);
