import { after, before } from 'node:test';
import { Api, tokenFor } from './api.js';
import { createDatabase, type Database, requirePostgres } from './pg.js';
import { load, migrate, users } from './programs.js';

/** A database of its own, migrated and loaded with the default data set. */
export async function preparedDatabase(prefix: string, base?: string): Promise<Database> {
  const db = await createDatabase(prefix, base ? { base } : {});
  try {
    await migrate(db.url);
    await load(db.url);
  } catch (err) {
    await db.drop();
    throw err;
  }
  return db;
}

/**
 * The database a test file's scenarios share: registers the file's before hook (PostgreSQL answers,
 * then a prepared database of its own) and after hook (the database dropped). Read url inside tests.
 */
export function fileDatabase(prefix: string): { readonly url: string } {
  let db: Database | undefined;
  before(async () => {
    await requirePostgres();
    db = await preparedDatabase(prefix);
  });
  after(async () => {
    await db?.drop();
  });
  return {
    get url(): string {
      if (!db) throw new Error(`the ${prefix} database is not prepared (read it inside a test)`);
      return db.url;
    },
  };
}

export interface Tokens {
  alice: string;
  bob: string;
  admin: string;
}

export async function tokens(databaseUrl: string): Promise<Tokens> {
  const [alice, bob, admin] = await Promise.all([
    tokenFor(databaseUrl, users.alice),
    tokenFor(databaseUrl, users.bob),
    tokenFor(databaseUrl, users.admin),
  ]);
  return { alice, bob, admin };
}

export interface Product {
  id: string;
  priceCents: number;
  available: boolean;
}

/** Every available product on the menu (walks the pages). */
export async function menu(api: Api): Promise<Product[]> {
  const out: Product[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 100; page++) {
    const path: string = `/api/products?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const res = await api.request({ method: 'GET', path });
    if (res.status !== 200) throw new Error(`GET ${path} answered ${res.status}: ${res.body}`);
    const body = JSON.parse(res.body) as { items: Product[]; nextCursor: string | null };
    out.push(...body.items.filter((p) => p.available));
    cursor = body.nextCursor;
    if (!cursor) break;
  }
  return out;
}

/** Waits for the API's /ready 200, then gets the users' tokens and the menu (in that order). */
export async function readyWithData(
  api: Api,
  databaseUrl: string,
): Promise<{ t: Tokens; products: Product[] }> {
  await api.waitReady();
  const t = await tokens(databaseUrl);
  const products = await menu(api);
  return { t, products };
}

export function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

export { Api };
