import { cpSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDatabase, type Queryable } from '@order-food/platform/database';
import { createLogger } from '@order-food/platform/logger';
import { type ProgramResult, repoRoot, runProgram } from '@order-food/platform/testing/run-program';
import type { TestDatabase } from '@order-food/platform/testing/test-database';

export const migrationsDir = join(repoRoot, 'database-migration', 'migrations');

/** The real migration files, in version order. */
export function realMigrationFiles(): string[] {
  return readdirSync(migrationsDir)
    .filter((f) => /^\d+_.*\.sql$/.test(f))
    .sort();
}

/** A temporary copy of the real migrations plus extra files (name → content). */
export function migrationsCopy(extra: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'migrations-'));
  cpSync(migrationsDir, dir, { recursive: true });
  for (const [name, content] of Object.entries(extra)) writeFileSync(join(dir, name), content);
  return dir;
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Runs the migration CLI as a real process against db. */
export function runMigration(
  db: TestDatabase | string,
  args: string[] = [],
  env: Record<string, string | undefined> = {},
  timeoutMs = 300_000,
): Promise<ProgramResult> {
  return runProgram('database-migration', args, {
    env: { DATABASE_URL: typeof db === 'string' ? db : db.url, DB_WAIT_TIMEOUT: '20', ...env },
    timeoutMs,
  });
}

/**
 * Runs fn on one connection to the test database: pg for PostgreSQL, an in-process PGlite on the
 * data directory otherwise (only while no program has it open).
 */
export async function withDatabase<T>(
  db: TestDatabase | string,
  fn: (q: Queryable) => Promise<T>,
): Promise<T> {
  const url = typeof db === 'string' ? db : db.url;
  if (url.startsWith('pglite:')) {
    const database = await createDatabase(
      { kind: 'pglite', dataDir: url.slice('pglite:'.length), display: url },
      { logger: createLogger('test', 'silent'), applicationName: 'test' },
    );
    try {
      return await fn(database);
    } finally {
      await database.close();
    }
  }
  if (typeof db === 'string')
    throw new Error('a PostgreSQL test database is passed as TestDatabase');
  const client = db.admin();
  await client.connect();
  try {
    return await fn({
      async query<R>(text: string, params?: readonly unknown[]) {
        const r = await client.query(text, params as unknown[] | undefined);
        return { rows: r.rows as R[], rowCount: r.rowCount ?? 0 };
      },
      async exec(sql: string) {
        await client.query(sql);
      },
    });
  } finally {
    await client.end();
  }
}

export async function rows<T = Record<string, unknown>>(
  db: TestDatabase | string,
  text: string,
  params: unknown[] = [],
): Promise<T[]> {
  return withDatabase(db, async (q) => (await q.query<T>(text, params)).rows);
}

/** The JSON log lines a program wrote. */
export function logLines(output: string): Record<string, unknown>[] {
  return output
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** A short failure report: exit code and output, for assertion messages. */
export function explain(r: ProgramResult): string {
  return `exit ${r.code} (${r.signal ?? 'no signal'})\nstdout:\n${r.stdout.slice(-3000)}\nstderr:\n${r.stderr.slice(-3000)}`;
}
