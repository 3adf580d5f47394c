import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import pg from 'pg';

const execFileAsync = promisify(execFile);

/** The PostgreSQL the suite runs against (the same as the unit tests'). */
export const adminUrl =
  process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** The URL of database name on the server of base. */
export function urlFor(name: string, base: string = adminUrl): string {
  const url = new URL(base);
  url.pathname = `/${name}`;
  return url.toString();
}

/** The same URL through another host and port (a proxy in front of the server). */
export function viaPort(url: string, port: number, host = '127.0.0.1'): string {
  const u = new URL(url);
  u.hostname = host;
  u.port = String(port);
  return u.toString();
}

export function databaseName(url: string): string {
  return decodeURIComponent(new URL(url).pathname.slice(1));
}

export async function query<T = Record<string, unknown>>(
  url: string,
  text: string,
  params: unknown[] = [],
): Promise<T[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return (await client.query(text, params)).rows as T[];
  } finally {
    await client.end().catch(() => undefined);
  }
}

export interface Database {
  name: string;
  url: string;
  drop(): Promise<void>;
}

let counter = 0;

/** A database of its own, optionally a copy of template (CREATE DATABASE … TEMPLATE). */
export async function createDatabase(
  prefix: string,
  { template, base = adminUrl }: { template?: string; base?: string } = {},
): Promise<Database> {
  const name = `rel_${prefix}_${process.pid}_${Date.now().toString(36)}_${counter++}`
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, '_');
  const maintenance = urlFor('postgres', base);
  await query(maintenance, `CREATE DATABASE "${name}"${template ? ` TEMPLATE "${template}"` : ''}`);
  return {
    name,
    url: urlFor(name, base),
    async drop() {
      await query(maintenance, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    },
  };
}

/** Fails with a clear line when the suite's PostgreSQL does not answer: no embedded fallback here. */
export async function requirePostgres(): Promise<void> {
  try {
    await query(adminUrl, 'SELECT 1');
  } catch (err) {
    throw new Error(
      `the reliability suite needs PostgreSQL at ${adminUrl.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@')}: ${(err as Error).message}`,
    );
  }
}

/**
 * pg_dump --schema-only, normalized: comments, SET lines, \restrict keys and blank lines dropped,
 * so two dumps of the same schema compare equal.
 */
export async function schemaDump(url: string, excludeTables: string[] = []): Promise<string> {
  const args = ['--schema-only', '--no-owner', '--no-privileges', '--no-comments'];
  for (const t of excludeTables) args.push(`--exclude-table=${t}`);
  args.push(url);
  const { stdout } = await execFileAsync('pg_dump', args, { maxBuffer: 64 * 1024 * 1024 });
  return stdout
    .split('\n')
    .filter(
      (line) =>
        line.trim() !== '' &&
        !line.startsWith('--') &&
        !line.startsWith('SET ') &&
        !line.startsWith('SELECT pg_catalog.set_config') &&
        !line.startsWith('\\restrict') &&
        !line.startsWith('\\unrestrict'),
    )
    .join('\n');
}

/** Advisory locks held in this database right now (by anyone). */
export async function advisoryLocks(url: string): Promise<number> {
  const rows = await query<{ n: number }>(
    url,
    `SELECT count(*)::int AS n FROM pg_locks
      WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
  );
  return rows[0]?.n ?? 0;
}

export interface Backend {
  pid: number;
  application_name: string;
  state: string | null;
  query: string;
}

/** Other sessions connected to this database. */
export async function backends(url: string): Promise<Backend[]> {
  return query<Backend>(
    url,
    `SELECT pid, application_name, state, query FROM pg_stat_activity
      WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'`,
  );
}

/** The API's sessions connected to this database (its application_name starts with order-food). */
export async function apiBackends(url: string): Promise<Backend[]> {
  return (await backends(url)).filter((b) => b.application_name.startsWith('order-food'));
}

/** pg_terminate_backend for every other session of this database; returns how many. */
export async function terminateBackends(url: string): Promise<number> {
  const rows = await query<{ n: number }>(
    url,
    `SELECT count(*)::int AS n FROM (
       SELECT pg_terminate_backend(pid) FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'
     ) t`,
  );
  return rows[0]?.n ?? 0;
}

/** Row counts of tables (a missing table counts as -1). */
export async function tableCounts(
  url: string,
  tables: readonly string[],
): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => undefined);
  await client.connect();
  try {
    for (const t of tables) {
      const exists = await client.query('SELECT to_regclass($1) IS NOT NULL AS e', [t]);
      if (!exists.rows[0].e) {
        out[t] = -1;
        continue;
      }
      const r = await client.query(`SELECT count(*)::bigint AS n FROM "${t}"`);
      out[t] = Number(r.rows[0].n);
    }
  } finally {
    await client.end().catch(() => undefined);
  }
  return out;
}

/** md5 of every row of a table in a stable order: equal digests mean equal contents. */
export async function tableDigest(url: string, table: string, orderBy: string): Promise<string> {
  const rows = await query<{ d: string | null }>(
    url,
    `SELECT md5(string_agg(t::text, '|' ORDER BY ${orderBy})) AS d FROM "${table}" t`,
  );
  return rows[0]?.d ?? '';
}
