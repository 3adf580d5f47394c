import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

const adminUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  /** A DATABASE_URL for the programs under test: postgres://… or pglite:DIR. */
  url: string;
  kind: 'postgres' | 'pglite';
  /** Runs SQL as the test's superuser connection to this database (postgres only). */
  admin(): pg.Client;
  drop(): Promise<void>;
}

let reachable: Promise<boolean> | undefined;

/** Whether the test PostgreSQL answers; with CI=true its absence is a failure, not a fallback. */
export function postgresAvailable(): Promise<boolean> {
  reachable ??= (async () => {
    // A server that is there answers at once even on a loaded machine; give it time rather than
    // silently switching a file to PGlite (or failing it under CI=true).
    const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 15_000 });
    try {
      await client.connect();
      await client.end();
      return true;
    } catch (err) {
      if (process.env.CI === 'true') {
        throw new Error(
          `CI=true and PostgreSQL does not answer at ${redact(adminUrl)}: ${(err as Error).message}`,
        );
      }
      process.stderr.write(
        `# PostgreSQL not reachable at ${redact(adminUrl)}: database tests run on embedded PGlite\n`,
      );
      return false;
    }
  })();
  return reachable;
}

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}

/** A database of its own for one test file, so files run in parallel. */
export async function createTestDatabase(prefix: string): Promise<TestDatabase> {
  if (!(await postgresAvailable())) {
    const dir = mkdtempSync(join(tmpdir(), `${prefix}-pglite-`));
    return {
      url: `pglite:${dir}`,
      kind: 'pglite',
      admin() {
        throw new Error('no admin connection on PGlite');
      },
      async drop() {
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const name = `${prefix.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${process.pid}_${Date.now().toString(36)}`;
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE "${name}"`);
  } finally {
    await client.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const clients: pg.Client[] = [];
  return {
    url: url.toString(),
    kind: 'postgres',
    admin() {
      const c = new pg.Client({ connectionString: url.toString() });
      clients.push(c);
      return c;
    },
    async drop() {
      await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** Runs one query against a test database and returns its rows (postgres only). */
export async function sql<T = Record<string, unknown>>(
  db: TestDatabase,
  text: string,
  params: unknown[] = [],
): Promise<T[]> {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    return (await client.query(text, params)).rows as T[];
  } finally {
    await client.end();
  }
}
