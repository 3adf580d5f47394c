import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import type { DbClient } from '@order-food/platform/database';
import {
  columnOf,
  columnsOf,
  productFields,
  sqlTypeOf,
  userFields,
} from '@order-food/platform/model';
import { from as copyFrom } from 'pg-copy-streams';
import type { TSchema } from 'typebox';

export type StageValue = string | number | boolean | null;

export interface StageTable {
  name: string;
  columns: readonly string[];
}

/**
 * Temporary tables the files are streamed into while they are checked; set-based statements take
 * it from there. An order's lines travel as three arrays (skus, quantities, prices) in its own
 * row, so one file is one COPY and the lines unnest without parsing JSON in the database. line is
 * the order's line in its file, for the report of a repeated external_ref.
 */
export const stageTables = {
  products: { name: 'stage_products', columns: columnsOf(productFields) },
  users: { name: 'stage_users', columns: columnsOf(userFields) },
  orders: {
    name: 'stage_orders',
    columns: [
      'line',
      'id',
      'external_ref',
      'user_email',
      'status',
      'created_at',
      'total_cents',
      'skus',
      'quantities',
      'prices',
      'delivery_address',
      'delivery_note',
    ],
  },
} as const satisfies Record<string, StageTable>;

/** The staging columns of a set of model fields: every one filled in (defaults applied). */
function stageColumns(fields: Record<string, TSchema>): string {
  return Object.entries(fields)
    .map(([key, schema]) => `${columnOf(key)} ${sqlTypeOf(schema)} NOT NULL`)
    .join(', ');
}

export const createStageTables = `
CREATE TEMPORARY TABLE stage_products (${stageColumns(productFields)}) ON COMMIT DROP;
CREATE TEMPORARY TABLE stage_users (${stageColumns(userFields)}) ON COMMIT DROP;
CREATE TEMPORARY TABLE stage_orders (
  line integer NOT NULL, id uuid NOT NULL, external_ref text NOT NULL, user_email text NOT NULL,
  status text NOT NULL, created_at timestamptz, total_cents bigint NOT NULL,
  skus text[] NOT NULL, quantities integer[] NOT NULL, prices integer[] NOT NULL,
  delivery_address text, delivery_note text
) ON COMMIT DROP;
`;

/** A PostgreSQL array literal of strings (always quoted: an unquoted NULL would be null) or numbers. */
export function arrayLiteral(values: readonly (string | number)[]): string {
  return `{${values
    .map((v) => (typeof v === 'number' ? numberText(v) : `"${v.replace(/["\\]/g, '\\$&')}"`))
    .join(',')}}`;
}

const needsEscape = /[\\\n\r\t]/;

const small = Array.from({ length: 10_000 }, (_, i) => String(i));
const fourDigits = small.map((d) => d.padStart(4, '0'));

/**
 * The decimal text of a number. Integers are put together from a table of 0 to 9999: V8 keeps
 * the text of converted numbers in a cache that outlives the young generation, so converting a
 * million distinct numbers (line numbers, totals) the usual way piles up old-generation garbage,
 * and the loader's memory then grows with the number of orders.
 */
export function numberText(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) return String(n);
  if (n < 10_000) return small[n]!;
  if (n < 100_000_000) return small[Math.floor(n / 10_000)]! + fourDigits[n % 10_000]!;
  return (
    numberText(Math.floor(n / 100_000_000)) +
    fourDigits[Math.floor(n / 10_000) % 10_000]! +
    fourDigits[n % 10_000]!
  );
}

/** One value in COPY's text format. */
function copyText(v: StageValue): string {
  if (v === null) return '\\N';
  if (typeof v === 'boolean') return v ? 't' : 'f';
  if (typeof v === 'number') return numberText(v);
  // Most values need no escape; test() first keeps replace() (and its garbage) for the rest.
  if (!needsEscape.test(v)) return v;
  return v.replace(/[\\\n\r\t]/g, (c) =>
    c === '\\' ? '\\\\' : c === '\n' ? '\\n' : c === '\r' ? '\\r' : '\\t',
  );
}

/** A batch of rows as one chunk of COPY's text format. */
export function copyChunk(rows: readonly StageValue[][]): string {
  const lines: string[] = new Array(rows.length + 1);
  for (let r = 0; r < rows.length; r++) lines[r] = rows[r]!.map(copyText).join('\t');
  lines[rows.length] = '';
  return lines.join('\n');
}

/**
 * Streams batches of rows into a staging table: COPY FROM STDIN on PostgreSQL (one CopyData
 * message per batch, the next batch read only once the socket took the last one), batched
 * multi-row INSERTs on PGlite (one connection in this process, where COPY FROM STDIN is not
 * offered).
 */
export async function stageRows(
  client: DbClient,
  table: StageTable,
  batches: AsyncIterable<StageValue[][]>,
): Promise<void> {
  const columns = table.columns.join(', ');
  if (client.raw.kind === 'postgres') {
    const stream = client.raw.client.query(copyFrom(`COPY ${table.name} (${columns}) FROM STDIN`));
    const done = finished(stream);
    // Awaited below; a failure meanwhile is no unhandled rejection.
    done.catch(() => undefined);
    try {
      for await (const rows of batches) {
        if (rows.length > 0 && !stream.write(copyChunk(rows)))
          await Promise.race([once(stream, 'drain'), done]);
      }
    } catch (err) {
      stream.destroy(err as Error);
      await done.catch(() => undefined);
      throw err;
    }
    stream.end();
    await done;
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
  for await (const rows of batches) {
    for (const row of rows) {
      params.push(...row);
      if (params.length >= batchRows * width) await flush();
    }
  }
  await flush();
}
