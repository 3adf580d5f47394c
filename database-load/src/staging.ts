import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { DbClient } from '@order-food/platform/database';
import { from as copyFrom } from 'pg-copy-streams';

export type StageValue = string | number | boolean | null;

export interface StageTable {
  name: string;
  columns: readonly string[];
}

/**
 * Temporary tables the files are streamed into; set-based statements take it from there. Order
 * lines travel as JSON text in one column, so one file is one COPY.
 */
export const stageTables = {
  products: {
    name: 'stage_products',
    columns: ['sku', 'name', 'description', 'category', 'price_cents', 'available'],
  },
  users: { name: 'stage_users', columns: ['email', 'name', 'role'] },
  orders: {
    name: 'stage_orders',
    columns: ['external_ref', 'user_email', 'status', 'created_at', 'total_cents', 'items'],
  },
} as const satisfies Record<string, StageTable>;

export const createStageTables = `
CREATE TEMPORARY TABLE stage_products (
  sku text NOT NULL, name text NOT NULL, description text NOT NULL, category text NOT NULL,
  price_cents integer NOT NULL, available boolean NOT NULL
) ON COMMIT DROP;
CREATE TEMPORARY TABLE stage_users (
  email text NOT NULL, name text NOT NULL, role text NOT NULL
) ON COMMIT DROP;
CREATE TEMPORARY TABLE stage_orders (
  external_ref text NOT NULL, user_email text NOT NULL, status text NOT NULL,
  created_at timestamptz, total_cents bigint NOT NULL, items text NOT NULL
) ON COMMIT DROP;
CREATE TEMPORARY TABLE stage_new_orders (id uuid NOT NULL, external_ref text NOT NULL) ON COMMIT DROP;
`;

/** One value in COPY's text format. */
function copyText(v: StageValue): string {
  if (v === null) return '\\N';
  if (typeof v === 'boolean') return v ? 't' : 'f';
  if (typeof v === 'number') return String(v);
  return v.replace(/[\\\n\r\t]/g, (c) =>
    c === '\\' ? '\\\\' : c === '\n' ? '\\n' : c === '\r' ? '\\r' : '\\t',
  );
}

async function* copyChunks(rows: AsyncIterable<StageValue[]>): AsyncGenerator<string> {
  let chunk = '';
  for await (const row of rows) {
    chunk += `${row.map(copyText).join('\t')}\n`;
    if (chunk.length >= 256 * 1024) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk !== '') yield chunk;
}

/**
 * Streams rows into a staging table: COPY FROM STDIN on PostgreSQL, batched multi-row INSERTs on
 * PGlite (one connection in this process, where COPY FROM STDIN is not offered).
 */
export async function stageRows(
  client: DbClient,
  table: StageTable,
  rows: AsyncIterable<StageValue[]>,
): Promise<void> {
  const columns = table.columns.join(', ');
  if (client.raw.kind === 'postgres') {
    const stream = client.raw.client.query(copyFrom(`COPY ${table.name} (${columns}) FROM STDIN`));
    await pipeline(Readable.from(copyChunks(rows)), stream);
    return;
  }
  const width = table.columns.length;
  const batchRows = Math.max(1, Math.floor(5000 / width));
  let params: StageValue[] = [];
  const flush = async () => {
    if (params.length === 0) return;
    const n = params.length / width;
    const tuples: string[] = [];
    for (let r = 0; r < n; r++) {
      const base = r * width;
      tuples.push(`(${table.columns.map((_, c) => `$${base + c + 1}`).join(', ')})`);
    }
    await client.query(
      `INSERT INTO ${table.name} (${columns}) VALUES ${tuples.join(', ')}`,
      params,
    );
    params = [];
  };
  for await (const row of rows) {
    params.push(...row);
    if (params.length >= batchRows * width) await flush();
  }
  await flush();
}
