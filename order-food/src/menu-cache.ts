import type { Database } from '@order-food/platform/database';
import type { FastifyBaseLogger } from 'fastify';
import { productsChannel } from './product-repository.js';

/**
 * The menu, as serialized response bodies, kept in memory: reading the menu is the hot path and
 * changes rarely. Bodies are kept as UTF-8 bytes, so a hit is written to the socket as it is,
 * without encoding the same string again for every request. Every product change is announced
 * with pg_notify in its own transaction, so a change made through any replica empties the cache
 * of every replica. The cache serves only while the notification connection is up; after a
 * reconnect (notifications may have been missed) it starts empty.
 */
export class MenuCache {
  readonly #db: Database;
  readonly #logger: Pick<FastifyBaseLogger, 'info' | 'warn'>;
  readonly #maxEntries: number;
  readonly #entries = new Map<string, Buffer>();
  #generation = 0;
  #listening = false;
  #stop: (() => Promise<void>) | undefined;
  #retry: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(db: Database, logger: Pick<FastifyBaseLogger, 'info' | 'warn'>, maxEntries = 1000) {
    this.#db = db;
    this.#logger = logger;
    this.#maxEntries = maxEntries;
  }

  get listening(): boolean {
    return this.#listening;
  }

  get(key: string): Buffer | undefined {
    return this.#listening ? this.#entries.get(key) : undefined;
  }

  /**
   * What produce() returns, serialized and kept under key: unless the cache was emptied while
   * produce() ran (a product changed meanwhile, so the body may be stale), or is not listening.
   */
  async fill(key: string, produce: () => Promise<unknown>): Promise<Buffer> {
    const generation = this.#generation;
    const body = Buffer.from(JSON.stringify(await produce()));
    if (!this.#listening || generation !== this.#generation) return body;
    // Query strings vary freely: bound the memory by forgetting the oldest entry.
    if (this.#entries.size >= this.#maxEntries) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    this.#entries.set(key, body);
    return body;
  }

  invalidate(): void {
    this.#generation++;
    this.#entries.clear();
  }

  /** Starts listening for product changes; retries in the background until it succeeds. */
  async start(): Promise<void> {
    if (this.#stop || this.#closed) return;
    let delay = 500;
    const attempt = async (): Promise<void> => {
      this.#retry = undefined;
      if (this.#closed) return;
      try {
        const stop = await this.#db.listen(productsChannel, () => this.invalidate());
        if (this.#closed) {
          await stop();
          return;
        }
        this.#stop = stop;
        this.invalidate();
        this.#listening = true;
        this.#logger.info({ channel: productsChannel }, 'menu cache listening for product changes');
      } catch (err) {
        this.#logger.warn(
          { err: { message: (err as Error).message }, retryInMs: delay },
          'menu cache cannot listen for product changes yet; serving the menu uncached',
        );
        this.#retry = setTimeout(() => void attempt(), delay);
        this.#retry.unref();
        delay = Math.min(delay * 2, 10_000);
      }
    };
    await attempt();
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#listening = false;
    if (this.#retry) clearTimeout(this.#retry);
    this.#entries.clear();
    await this.#stop?.().catch(() => undefined);
    this.#stop = undefined;
  }
}
