import { Api, tokenFor } from './api.js';
import { createDatabase, type Database } from './pg.js';
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

export function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

export { Api };
