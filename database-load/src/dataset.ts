import { isUtf8 } from 'node:buffer';
import type { Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { checkTimestamp } from '@order-food/platform/iso-timestamp';
import {
  type DataFile,
  DataSetError,
  dataFiles,
  type FileStat,
  newDataSetHash,
  statDataSet,
} from './data-files.js';
import {
  checkOrder,
  checkProduct,
  checkUser,
  type Fail,
  type OrderRecord,
  type ProductRecord,
  type UserRecord,
} from './records.js';

export {
  type DataFile,
  DataSetError,
  dataFiles,
  type FileStat,
  fileOrder,
  hashDataSet,
  manifestOf,
  nowNs,
  statDataSet,
} from './data-files.js';
export type { OrderRecord, ProductRecord, UserRecord } from './records.js';

type Json = Record<string, unknown>;

function show(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

export function parseProduct(obj: Json, fail: Fail): ProductRecord {
  return checkProduct(obj, fail);
}

export function parseUser(obj: Json, fail: Fail): UserRecord {
  const user = checkUser(obj, fail);
  // The database keeps one spelling of an address; the API lowers what clients send.
  if (user.email !== user.email.toLowerCase())
    fail('email', `must be lower case, got ${show(user.email)}`);
  return user;
}

export function parseOrder(obj: Json, fail: Fail): OrderRecord {
  const { created_at: createdRaw, status, ...order } = checkOrder(obj, fail);
  let created_at: string | null = null;
  if (createdRaw !== undefined && createdRaw !== '') {
    const checked = checkTimestamp(createdRaw);
    if ('problem' in checked) fail('created_at', `${checked.problem}, got ${show(createdRaw)}`);
    created_at = new Date(checked.ms).toISOString();
  }
  return { ...order, status: status ?? 'pending', created_at };
}

const parsers = { products: parseProduct, users: parseUser, orders: parseOrder } as const;

export interface ParsedRecord<K extends DataFile> {
  line: number;
  record: K extends 'products' ? ProductRecord : K extends 'users' ? UserRecord : OrderRecord;
}

function labelOf(kind: DataFile, obj: Json): string | undefined {
  const key = kind === 'products' ? 'sku' : kind === 'users' ? 'email' : 'external_ref';
  const v = obj[key];
  return typeof v === 'string'
    ? `${kind === 'orders' ? 'order' : key} ${JSON.stringify(v)}`
    : undefined;
}

/** How far the reading of the current file has got, for progress lines. */
export interface ReadPosition {
  bytes: number;
}

/** The number of the first line of a file that is not UTF-8 (only read once decoding failed). */
async function firstLineNotUtf8(path: string): Promise<number> {
  let line = 1;
  let carry = Buffer.alloc(0);
  for await (const chunk of createReadStream(path)) {
    const data = carry.length > 0 ? Buffer.concat([carry, chunk as Buffer]) : (chunk as Buffer);
    let start = 0;
    for (let i = data.indexOf(10); i !== -1; i = data.indexOf(10, start)) {
      if (!isUtf8(data.subarray(start, i))) return line;
      line++;
      start = i + 1;
    }
    carry = Buffer.from(data.subarray(start));
  }
  return line;
}

/**
 * The lines of a file with their numbers, blank lines skipped, in batches (the complete lines of
 * each chunk read): one await per chunk, not per line. Every chunk also goes to hash. trim() also
 * drops the byte order mark some editors write before the first line. Bytes that are not UTF-8
 * stop the load naming their line: decoding them as U+FFFD would load other text than the file's.
 */
async function* lineBatches(
  path: string,
  hash: Hash,
  position: ReadPosition,
): AsyncGenerator<{ numbers: number[]; texts: string[] }> {
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  /** The text of the next chunk (all that is left without one), undefined where it is not UTF-8. */
  const decode = (chunk?: Buffer): string | undefined => {
    try {
      return chunk === undefined ? decoder.decode() : decoder.decode(chunk, { stream: true });
    } catch {
      return undefined;
    }
  };
  const notUtf8 = async () =>
    new DataSetError(
      path,
      await firstLineNotUtf8(path),
      undefined,
      undefined,
      'is not valid UTF-8 text',
    );
  let rest = '';
  let n = 0;
  position.bytes = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 32 * 1024 })) {
    hash.update(chunk as Buffer);
    position.bytes += (chunk as Buffer).length;
    const text = decode(chunk as Buffer);
    if (text === undefined) throw await notUtf8();
    rest += text;
    const numbers: number[] = [];
    const texts: string[] = [];
    let start = 0;
    for (let i = rest.indexOf('\n'); i !== -1; i = rest.indexOf('\n', start)) {
      n++;
      const line = rest.slice(start, i).trim();
      start = i + 1;
      if (line !== '') {
        numbers.push(n);
        texts.push(line);
      }
    }
    rest = rest.slice(start);
    if (texts.length > 0) yield { numbers, texts };
  }
  const last = decode();
  if (last === undefined) throw await notUtf8();
  rest += last;
  n++;
  if (rest.trim() !== '') yield { numbers: [n], texts: [rest.trim()] };
}

/** Reads one file of a data set in batches, parsing and checking each record's own fields. */
async function* readRecords<K extends DataFile>(
  dir: string,
  kind: K,
  hash: Hash,
  position: ReadPosition,
): AsyncGenerator<ParsedRecord<K>[]> {
  const path = join(dir, dataFiles[kind]);
  const parse = parsers[kind] as (o: Json, f: Fail) => ParsedRecord<K>['record'];
  for await (const { numbers, texts } of lineBatches(path, hash, position)) {
    const batch: ParsedRecord<K>[] = [];
    for (let i = 0; i < texts.length; i++) {
      const line = numbers[i]!;
      let obj: unknown;
      try {
        obj = JSON.parse(texts[i]!);
      } catch (err) {
        throw new DataSetError(
          path,
          line,
          undefined,
          undefined,
          `is not valid JSON: ${(err as Error).message}`,
        );
      }
      if (typeof obj !== 'object' || obj === null || Array.isArray(obj))
        throw new DataSetError(
          path,
          line,
          undefined,
          undefined,
          'must be one JSON object per line',
        );
      const json = obj as Json;
      const fail: Fail = (field, detail) => {
        throw new DataSetError(path, line, labelOf(kind, json), field, detail);
      };
      batch.push({ line, record: parse(json, fail) });
    }
    yield batch;
  }
}

export interface DataSetCounts {
  products: number;
  users: number;
  orders: number;
  order_items: number;
}

/** An order line priced from the data set's own products. */
export interface PricedItem {
  sku: string;
  quantity: number;
  unit_price_cents: number;
}

export interface CheckedOrder {
  line: number;
  record: OrderRecord;
  items: PricedItem[];
  total_cents: number;
}

/**
 * Notes the line a sku or email first appears on; one that appeared before is a DataSetError
 * naming that line.
 */
function rememberLine(
  seen: Map<string, number>,
  path: string,
  line: number,
  field: 'sku' | 'email',
  value: string,
): void {
  const first = seen.get(value);
  if (first !== undefined)
    throw new DataSetError(
      path,
      line,
      `${field} ${JSON.stringify(value)}`,
      field,
      `repeats the ${field} of line ${first}`,
    );
  seen.set(value, line);
}

/**
 * Reads a data set file by file (products, users, then orders, each once, as a stream), checking
 * every record and every reference between files, and hashing every byte. What it keeps grows
 * with the number of products and users, never with the number of orders: duplicate order
 * references are left to the caller (the loader finds them in its staging table).
 */
export class DataSetReader {
  readonly counts: DataSetCounts = { products: 0, users: 0, orders: 0, order_items: 0 };
  /** sku → price in cents: order lines are priced from the data set, not from the database. */
  readonly prices = new Map<string, number>();
  /** Where the file being read is, in bytes. */
  readonly position: ReadPosition = { bytes: 0 };
  readonly #emails = new Map<string, number>();
  readonly #hash: Hash;

  constructor(
    readonly dir: string,
    readonly files: readonly FileStat[],
  ) {
    this.#hash = newDataSetHash(files);
  }

  path(kind: DataFile): string {
    return join(this.dir, dataFiles[kind]);
  }

  /** The size of a file when the data set was opened. */
  size(kind: DataFile): number {
    return this.files.find((f) => f.file === dataFiles[kind])?.size ?? 0;
  }

  async *products(): AsyncGenerator<ParsedRecord<'products'>[]> {
    const path = this.path('products');
    const skuLines = new Map<string, number>();
    for await (const batch of readRecords(this.dir, 'products', this.#hash, this.position)) {
      for (const { line, record } of batch) {
        rememberLine(skuLines, path, line, 'sku', record.sku);
        this.prices.set(record.sku, record.price_cents);
      }
      this.counts.products += batch.length;
      yield batch;
    }
  }

  /** Whether this file is part of what is loaded (the menu alone leaves out users and orders). */
  has(kind: DataFile): boolean {
    return this.files.some((f) => f.file === dataFiles[kind]);
  }

  async *users(): AsyncGenerator<ParsedRecord<'users'>[]> {
    if (!this.has('users')) return;
    const path = this.path('users');
    for await (const batch of readRecords(this.dir, 'users', this.#hash, this.position)) {
      for (const { line, record } of batch)
        rememberLine(this.#emails, path, line, 'email', record.email);
      this.counts.users += batch.length;
      yield batch;
    }
  }

  /** The orders, each line priced; products and users must have been read first. */
  async *orders(): AsyncGenerator<CheckedOrder[]> {
    if (!this.has('orders')) return;
    const path = this.path('orders');
    for await (const batch of readRecords(this.dir, 'orders', this.#hash, this.position)) {
      const checked: CheckedOrder[] = [];
      for (const { line, record } of batch) {
        if (!this.#emails.has(record.user_email))
          throw new DataSetError(
            path,
            line,
            `order ${JSON.stringify(record.external_ref)}`,
            'user_email',
            `names unknown user ${JSON.stringify(record.user_email)} (not in ${dataFiles.users})`,
          );
        let total = 0;
        const items = record.items.map((item, i): PricedItem => {
          const price = this.prices.get(item.sku);
          if (price === undefined)
            throw new DataSetError(
              path,
              line,
              `order ${JSON.stringify(record.external_ref)}`,
              `items[${i}].sku`,
              `names unknown product ${JSON.stringify(item.sku)} (not in ${dataFiles.products})`,
            );
          total += price * item.quantity;
          return { sku: item.sku, quantity: item.quantity, unit_price_cents: price };
        });
        this.counts.order_items += items.length;
        checked.push({ line, record, items, total_cents: total });
      }
      this.counts.orders += checked.length;
      yield checked;
    }
  }

  /** The content hash of everything read; call once, after all three files. */
  digest(): string {
    return this.#hash.digest('hex');
  }
}

export interface DataSetSummary {
  hash: string;
  counts: DataSetCounts;
  prices: Map<string, number>;
}

/**
 * Reads the whole data set once without a database, checking every record and every reference
 * between files except repeated order references (see DataSetReader), and computes its hash.
 */
export async function scanDataSet(
  dir: string,
  parts?: readonly DataFile[],
): Promise<DataSetSummary> {
  const reader = new DataSetReader(dir, await statDataSet(dir, parts));
  for await (const _ of reader.products());
  for await (const _ of reader.users());
  for await (const _ of reader.orders());
  return { hash: reader.digest(), counts: reader.counts, prices: reader.prices };
}
