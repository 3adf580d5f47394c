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

/** Cursors come from clients: anything that is not one we made is a 400, never a 500. */
function decode(cursor: string): Record<string, unknown> {
  const invalid = () =>
    badRequest('cursor is not valid; use the nextCursor of a previous page', 'invalid-cursor');
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw invalid();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw invalid();
  return parsed as Record<string, unknown>;
}

export function encodeProductCursor(p: ProductPosition): string {
  return encode({ k: 'p', n: p.name, i: p.id });
}

export function decodeProductCursor(cursor: string): ProductPosition {
  const c = decode(cursor);
  if (
    c.k !== 'p' ||
    typeof c.n !== 'string' ||
    c.n.length > 200 ||
    typeof c.i !== 'string' ||
    !uuid.test(c.i)
  ) {
    throw badRequest('cursor is not valid for this list', 'invalid-cursor');
  }
  return { name: c.n, id: c.i };
}

/** Rejects dates such as Feb 30 that Date would roll over but PostgreSQL refuses. */
function sameInstant(t: string): boolean {
  const ms = Date.parse(t);
  return !Number.isNaN(ms) && new Date(ms).toISOString().slice(0, 23) === t.slice(0, 23);
}

export function encodeOrderCursor(p: OrderPosition): string {
  return encode({ k: 'o', t: p.createdAt, i: p.id });
}

export function decodeOrderCursor(cursor: string): OrderPosition {
  const c = decode(cursor);
  if (
    c.k !== 'o' ||
    typeof c.t !== 'string' ||
    !timestamp.test(c.t) ||
    !sameInstant(c.t) ||
    typeof c.i !== 'string' ||
    !uuid.test(c.i)
  ) {
    throw badRequest('cursor is not valid for this list', 'invalid-cursor');
  }
  return { createdAt: c.t, id: c.i };
}
