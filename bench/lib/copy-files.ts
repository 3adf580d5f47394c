import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import {
  createReadStream,
  createWriteStream,
  existsSync,
  readFileSync,
  type WriteStream,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { columnOf, columnsOf, productFields, userFields } from '@order-food/platform/model';
import type { TSchema } from 'typebox';

/**
 * The rows a data set puts into the four tables, written as COPY text files with their ids
 * resolved, for the psql \copy baseline: the least work that gets the same rows into the same
 * tables (same indexes, constraints and foreign keys), with no natural-key lookups left to do.
 */
export const copyTables = [
  {
    table: 'products',
    file: 'products.copy',
    columns: `id, ${columnsOf(productFields).join(', ')}`,
  },
  { table: 'users', file: 'users.copy', columns: `id, ${columnsOf(userFields).join(', ')}` },
  {
    table: 'orders',
    file: 'orders.copy',
    columns: 'id, user_id, status, total_cents, external_ref, created_at, updated_at',
  },
  {
    table: 'order_items',
    file: 'order_items.copy',
    columns: 'order_id, line_no, product_id, quantity, unit_price_cents',
  },
];

/** One value in COPY's text format. */
export function copyValue(v: string | number | boolean | null): string {
  if (v === null) return '\\N';
  if (typeof v === 'boolean') return v ? 't' : 'f';
  if (typeof v === 'number') return String(v);
  return v.replace(/[\\\n\r\t]/g, (c) =>
    c === '\\' ? '\\\\' : c === '\n' ? '\\n' : c === '\r' ? '\\r' : '\\t',
  );
}

class Writer {
  #stream: WriteStream;
  #buffer = '';
  rows = 0;
  constructor(path: string) {
    this.#stream = createWriteStream(path);
  }
  async row(values: (string | number | boolean | null)[]): Promise<void> {
    this.#buffer += `${values.map(copyValue).join('\t')}\n`;
    this.rows++;
    if (this.#buffer.length >= 1 << 20) await this.flush();
  }
  async flush(): Promise<void> {
    if (this.#buffer === '') return;
    const ok = this.#stream.write(this.#buffer);
    this.#buffer = '';
    if (!ok) await once(this.#stream, 'drain');
  }
  async close(): Promise<void> {
    await this.flush();
    await new Promise<void>((resolve, reject) =>
      this.#stream.end((err?: Error | null) => (err ? reject(err) : resolve())),
    );
  }
}

async function* lines<T>(path: string): AsyncGenerator<T> {
  const rl = createInterface({
    input: createReadStream(path),
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  for await (const line of rl) if (line.trim() !== '') yield JSON.parse(line) as T;
}

type Line = Record<string, string | number | boolean | null>;

/** A record's values in the order of its columns, each left-out field at the model's default. */
function valuesOf(fields: Record<string, TSchema>, record: Line): (string | number | boolean)[] {
  return Object.entries(fields).map(
    ([key, schema]) => record[columnOf(key)] ?? (schema as { default: string | boolean }).default,
  );
}

interface OrderLine {
  external_ref: string;
  user_email: string;
  status: string;
  created_at: string | null;
  items: { sku: string; quantity: number }[];
}

/** Writes the COPY files of the data set in dir into out (once: kept next to the data set). */
export async function writeCopyFiles(
  dir: string,
  out: string,
): Promise<{ rows: Record<string, number> }> {
  const marker = join(out, '.copy-files');
  if (existsSync(marker)) return JSON.parse(readFileSync(marker, 'utf8'));
  const products = new Map<string, { id: string; price: number }>();
  const w = new Writer(join(out, 'products.copy'));
  for await (const p of lines<Line>(join(dir, 'products.jsonl'))) {
    const id = randomUUID();
    products.set(p.sku as string, { id, price: p.price_cents as number });
    await w.row([id, ...valuesOf(productFields, p)]);
  }
  await w.close();
  const users = new Map<string, string>();
  const u = new Writer(join(out, 'users.copy'));
  for await (const r of lines<Line>(join(dir, 'users.jsonl'))) {
    const id = randomUUID();
    users.set(r.email as string, id);
    await u.row([id, ...valuesOf(userFields, r)]);
  }
  await u.close();
  const o = new Writer(join(out, 'orders.copy'));
  const i = new Writer(join(out, 'order_items.copy'));
  for await (const r of lines<OrderLine>(join(dir, 'orders.jsonl'))) {
    const id = randomUUID();
    let total = 0;
    let line = 0;
    for (const item of r.items) {
      const p = products.get(item.sku)!;
      total += p.price * item.quantity;
      await i.row([id, ++line, p.id, item.quantity, p.price]);
    }
    const at = r.created_at ?? new Date().toISOString();
    await o.row([id, users.get(r.user_email)!, r.status, total, r.external_ref, at, at]);
  }
  await o.close();
  await i.close();
  const result = {
    rows: { products: w.rows, users: u.rows, orders: o.rows, order_items: i.rows },
  };
  writeFileSync(marker, JSON.stringify(result));
  return result;
}

/** psql's arguments: every table's \copy in one transaction, in foreign-key order. */
export function psqlCopyArgs(url: string, dir: string): string[] {
  const args = ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '--single-transaction', '-d', url];
  for (const t of copyTables)
    args.push('-c', `\\copy ${t.table} (${t.columns}) FROM '${join(dir, t.file)}'`);
  return args;
}
