import type { Database } from '@order-food/platform/database';
import { behindPooler } from '@order-food/platform/pooler';
import type { FastifyBaseLogger } from 'fastify';
import { productsChannel } from './product-repository.js';

export interface MenuCacheOptions {
  /** Bound on the bytes of the cached bodies; when full, new pages are served uncached. */
  maxBytes?: number;
  /** How long a check of the menu's generation vouches for the cached pages. */
  maxStalenessMs?: number;
  /**
   * Where to LISTEN for product changes: a direct connection (DATABASE_DIRECT_URL) when the pool
   * goes through a transaction pooler, which never delivers notifications.
   */
  notifications?: Database | undefined;
}

export interface FillOptions<T> {
  /** Whether the page may be kept: only pages the cache can reach by itself (see admissible). */
  admit: boolean;
  /** The key of the page this one links to (its next page), which becomes admissible. */
  next?: (value: T) => string | undefined;
}

/**
 * The menu's response bodies as UTF-8 bytes (the hot path; changes rarely). A page is served only
 * while a generation read (bumped by a trigger with every product change, migration 0004) started
 * < maxStalenessMs ago found it unchanged; a failed read serves from the database. Only first pages
 * and their nextCursor chains are admitted, bytes are bounded, and a full cache admits nothing new.
 */
export class MenuCache {
  readonly #db: Database;
  readonly #logger: Pick<FastifyBaseLogger, 'info' | 'warn'>;
  readonly #maxBytes: number;
  readonly #maxStalenessMs: number;
  readonly #notifications: Database | undefined;
  readonly #entries = new Map<string, Buffer>();
  readonly #admissible = new Set<string>();
  #bytes = 0;
  /** The generation the entries belong to. */
  #generation: number | undefined;
  /** When the last successful generation read started (performance.now()). */
  #checkedAt = Number.NEGATIVE_INFINITY;
  #checking: Promise<boolean> | undefined;
  /** Bumped by every local invalidation: a page produced across one is not kept. */
  #epoch = 0;
  #checkFailing = false;
  #listening = false;
  #stop: (() => Promise<void>) | undefined;
  #retry: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(
    db: Database,
    logger: Pick<FastifyBaseLogger, 'info' | 'warn'>,
    options: MenuCacheOptions = {},
  ) {
    this.#db = db;
    this.#logger = logger;
    this.#maxBytes = options.maxBytes ?? 16 * 1024 * 1024;
    this.#maxStalenessMs = options.maxStalenessMs ?? 500;
    this.#notifications = options.notifications;
  }

  /** Whether notifications arrive (they only speed invalidation up). */
  get listening(): boolean {
    return this.#listening;
  }

  /** Bytes of the bodies kept now. */
  get bytes(): number {
    return this.#bytes;
  }

  /** A cached body, only while a recent generation check vouches for it. */
  get(key: string): Buffer | undefined {
    if (performance.now() - this.#checkedAt >= this.#maxStalenessMs) return undefined;
    return this.#entries.get(key);
  }

  /** Whether key is a page a cached page links to. */
  admissible(key: string): boolean {
    return this.#admissible.has(key);
  }

  /**
   * The body for key: from the cache once the generation is checked, else what produce() returns,
   * serialized, and kept when admitted, the check succeeded, nothing was invalidated meanwhile
   * and it fits.
   */
  async fill<T>(key: string, produce: () => Promise<T>, options: FillOptions<T>): Promise<Buffer> {
    const current = await this.#refresh();
    if (current) {
      const hit = this.#entries.get(key);
      if (hit) return hit;
    }
    const epoch = this.#epoch;
    const value = await produce();
    const body = Buffer.from(JSON.stringify(value));
    if (!current || !options.admit || epoch !== this.#epoch || this.#entries.has(key)) return body;
    if (this.#bytes + body.length > this.#maxBytes) return body;
    this.#entries.set(key, body);
    this.#bytes += body.length;
    const next = options.next?.(value);
    if (next !== undefined) this.#admissible.add(next);
    return body;
  }

  /** Drops every page; the next request reads the generation again before using the cache. */
  invalidate(): void {
    this.#epoch++;
    this.#checkedAt = Number.NEGATIVE_INFINITY;
    this.#clear();
  }

  #clear(): void {
    this.#entries.clear();
    this.#admissible.clear();
    this.#bytes = 0;
  }

  /** true when the generation was read within maxStalenessMs (reading it if needed). */
  #refresh(): Promise<boolean> {
    if (performance.now() - this.#checkedAt < this.#maxStalenessMs) return Promise.resolve(true);
    this.#checking ??= this.#check().finally(() => {
      this.#checking = undefined;
    });
    return this.#checking;
  }

  async #check(): Promise<boolean> {
    const started = performance.now();
    const epoch = this.#epoch;
    try {
      const { rows } = await this.#db.query<{ generation: number }>(
        'SELECT generation FROM menu_generation',
      );
      const generation = rows[0]?.generation;
      if (generation === undefined) throw new Error('menu_generation has no row');
      if (generation !== this.#generation || epoch !== this.#epoch) {
        this.#clear();
        this.#generation = generation;
      }
      // A local invalidation during the read may be newer than what it saw.
      if (epoch === this.#epoch) this.#checkedAt = started;
      if (this.#checkFailing) {
        this.#checkFailing = false;
        this.#logger.info('menu generation readable again: the menu cache serves again');
      }
      return epoch === this.#epoch;
    } catch (err) {
      this.#clear();
      this.#checkedAt = Number.NEGATIVE_INFINITY;
      if (!this.#checkFailing) {
        this.#checkFailing = true;
        this.#logger.warn(
          { err: { message: (err as Error).message } },
          'cannot read the menu generation: serving the menu from the database, uncached',
        );
      }
      return false;
    }
  }

  /**
   * Listens for product changes where notifications can arrive: on the direct connection when
   * given, else on the pool's own server unless that is a transaction pooler. Retries in the
   * background until it succeeds.
   */
  async start(): Promise<void> {
    if (this.#stop || this.#closed) return;
    let source = this.#notifications;
    if (!source) {
      if (await behindPooler(this.#db).catch(() => true)) {
        this.#logger.info(
          'the database connection goes through a transaction pooler and DATABASE_DIRECT_URL is not set: the menu cache relies on its generation checks alone',
        );
        return;
      }
      source = this.#db;
    }
    const listenOn = source;
    let delay = 500;
    const attempt = async (): Promise<void> => {
      this.#retry = undefined;
      if (this.#closed) return;
      try {
        const stop = await listenOn.listen(productsChannel, () => this.invalidate());
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
          'menu cache cannot listen for product changes yet; generation checks alone bound its staleness',
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
    this.#clear();
    await this.#stop?.().catch(() => undefined);
    this.#stop = undefined;
    await this.#notifications?.close().catch(() => undefined);
  }
}
