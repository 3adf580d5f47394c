import fp from 'fastify-plugin';
import { MenuCache, type MenuCacheOptions } from '../menu-cache.js';

declare module 'fastify' {
  interface FastifyInstance {
    menuCache: MenuCache;
  }
}

/** The menu's in-memory cache, read by routes/products.ts; its listener stops when the server closes. */
export default fp<MenuCacheOptions>(
  async (app, options) => {
    const cache = new MenuCache(app.db, app.log, options);
    app.decorate('menuCache', cache);
    app.addHook('onClose', () => cache.close());
  },
  { name: 'menu-cache', fastify: '5.x', dependencies: ['database'] },
);
