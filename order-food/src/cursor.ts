import { checkTimestamp } from '@order-food/platform/iso-timestamp';
import { textProblem } from '@order-food/platform/text';
import { badRequest } from './problem.js';

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const timestamp = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

/** Position after the last product of a page: the menu is ordered by (name, id). */
export interface ProductPosition {
  name: string;
  id: string;
}

/** Position after the last order of a page: newest first, by (created_at, id). */
export interface OrderPosition {
  /** created_at in full microsecond precision, so no two positions collapse. */
  createdAt: string;
  id: string;
}

function encode(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

const invalid = () =>
  badRequest('cursor is not valid; use the nextCursor of a previous page', 'invalid-cursor');
const notForThisList = () => badRequest('cursor is not valid for this list', 'invalid-cursor');

/**
 * Cursors come from clients: anything that is not one we made is a 400, never a 500. Every field
 * is checked here, before it reaches SQL, against what PostgreSQL accepts: UTF-8 bytes, text
 * without U+0000 or lone surrogates, real calendar dates in its range, exactly the keys we write.
 */
function decode(cursor: string, keys: readonly string[]): Record<string, unknown> {
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw invalid();
  let parsed: unknown;
  try {
    parsed = JSON.parse(utf8.decode(Buffer.from(cursor, 'base64url')));
  } catch {
    throw invalid();
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw invalid();
  const fields = Object.keys(parsed);
  if (fields.length !== keys.length || !keys.every((k) => Object.hasOwn(parsed, k)))
    throw notForThisList();
  return parsed as Record<string, unknown>;
}

export function encodeProductCursor(p: ProductPosition): string {
  return encode({ k: 'p', n: p.name, i: p.id });
}

export function decodeProductCursor(cursor: string): ProductPosition {
  const c = decode(cursor, ['k', 'n', 'i']);
  if (
    c.k !== 'p' ||
    typeof c.n !== 'string' ||
    c.n.length > 200 ||
    textProblem(c.n) !== undefined ||
    typeof c.i !== 'string' ||
    !uuid.test(c.i)
  ) {
    throw notForThisList();
  }
  return { name: c.n, id: c.i };
}

export function encodeOrderCursor(p: OrderPosition): string {
  return encode({ k: 'o', t: p.createdAt, i: p.id });
}

export function decodeOrderCursor(cursor: string): OrderPosition {
  const c = decode(cursor, ['k', 't', 'i']);
  if (
    c.k !== 'o' ||
    typeof c.t !== 'string' ||
    !timestamp.test(c.t) ||
    'problem' in checkTimestamp(c.t) ||
    typeof c.i !== 'string' ||
    !uuid.test(c.i)
  ) {
    throw notForThisList();
  }
  return { createdAt: c.t, id: c.i };
}
