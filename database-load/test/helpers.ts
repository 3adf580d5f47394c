import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type ProgramResult, runProgram } from '@order-food/platform/testing/run-program';
import { sql, type TestDatabase } from '@order-food/platform/testing/test-database';

export const defaultDataDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'data');

export function explain(r: ProgramResult): string {
  return `exit ${r.code}${r.signal ? ` (${r.signal})` : ''}\n--- stdout\n${r.stdout.slice(-4000)}\n--- stderr\n${r.stderr.slice(-4000)}`;
}

export function runLoad(
  url: string,
  args: string[] = [],
  env: Record<string, string | undefined> = {},
  timeoutMs = 120_000,
): Promise<ProgramResult> {
  return runProgram('database-load', args, {
    env: { DATABASE_URL: url, DB_WAIT_TIMEOUT: '10', ...env },
    timeoutMs,
  });
}

const clockAhead = join(dirname(fileURLToPath(import.meta.url)), 'clock-ahead.ts');

/**
 * runLoad with the program's clock aheadMs ahead of the machine's: files written just now are
 * past the data set's settle window without waiting for it.
 */
export function runLoadLater(url: string, args: string[], aheadMs: number): Promise<ProgramResult> {
  return runProgram('database-load', args, {
    env: { DATABASE_URL: url, DB_WAIT_TIMEOUT: '10', CLOCK_AHEAD_MS: String(aheadMs) },
    imports: [pathToFileURL(clockAhead).href],
    timeoutMs: 120_000,
  });
}

export async function migrate(url: string): Promise<void> {
  const r = await runProgram('database-migration', [], {
    env: { DATABASE_URL: url },
    timeoutMs: 120_000,
  });
  assert.equal(r.code, 0, `database-migration failed: ${explain(r)}`);
}

/** A copy of the default data set that a test may edit. */
export function copyDataSet(): string {
  const dir = mkdtempSync(join(tmpdir(), 'dataset-'));
  cpSync(defaultDataDir, dir, { recursive: true });
  return dir;
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export type Json = Record<string, unknown>;

export function readJsonl(path: string): Json[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Json);
}

export interface TableCounts {
  users: number;
  products: number;
  orders: number;
  order_items: number;
}

export async function tableCounts(db: TestDatabase): Promise<TableCounts> {
  const [row] = await sql<TableCounts>(
    db,
    `SELECT (SELECT count(*)::int FROM users) AS users, (SELECT count(*)::int FROM products) AS products,
            (SELECT count(*)::int FROM orders) AS orders, (SELECT count(*)::int FROM order_items) AS order_items`,
  );
  return row!;
}

/** What the data set in dir holds, and the order totals priced from its own products. */
export function expectedFromFiles(dir: string): {
  counts: TableCounts;
  totals: Map<string, number>;
} {
  const products = readJsonl(join(dir, 'products.jsonl'));
  const users = readJsonl(join(dir, 'users.jsonl'));
  const orders = readJsonl(join(dir, 'orders.jsonl'));
  const price = new Map(products.map((p) => [p.sku as string, p.price_cents as number]));
  const totals = new Map<string, number>();
  let items = 0;
  for (const o of orders) {
    const lines = o.items as { sku: string; quantity: number }[];
    items += lines.length;
    totals.set(
      o.external_ref as string,
      lines.reduce((sum, l) => sum + price.get(l.sku)! * l.quantity, 0),
    );
  }
  return {
    counts: {
      users: users.length,
      products: products.length,
      orders: orders.length,
      order_items: items,
    },
    totals,
  };
}

export interface HistoryRow {
  outcome: string;
  mode: string;
  dataset_hash: string;
  table_counts: Record<string, { inserted: number; skipped: number; updated: number }>;
  rows_inserted: number;
  error: string | null;
  trace_id: string | null;
}

export function history(db: TestDatabase): Promise<HistoryRow[]> {
  return sql<HistoryRow>(
    db,
    `SELECT outcome, mode, dataset_hash, table_counts, rows_inserted::int AS rows_inserted, error, trace_id
       FROM data_load_history ORDER BY id`,
  );
}
