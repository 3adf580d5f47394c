/**
 * The bad inputs of the bad-input scenarios that do not come from a schema (those are in
 * schema-arbitraries.ts): identifiers, cursors, raw bodies, Authorization headers, idempotency
 * keys and values just outside what PostgreSQL stores.
 */
import fc from 'fast-check';
import type { Tokens } from './fixture.js';
import type { Operation } from './fuzz.js';
import { deepNesting, invalidValue, type Resolve } from './schema-arbitraries.js';

/** Path parameters: wrong types, long and unicode strings, null bytes, traversal. */
export const badIds: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 300, unit: 'grapheme' }).filter((s) => s.length > 0),
  fc.string({ minLength: 1, maxLength: 40, unit: 'binary' }),
  fc.constantFrom(
    '0',
    '-1',
    '1e309',
    '99999999999999999999999',
    'null',
    '..',
    '%2e%2e',
    '00000000-0000-0000-0000-000000000000',
    'x'.repeat(5000),
  ),
  fc.uuid().map((u) => `${u}\u0000`),
);

/** Cursors forged by hand, bent from a real one, or random (JSON) text in base64url. */
export function forgedCursors(realCursor: string): fc.Arbitrary<string> {
  return fc.oneof(
    fc.constantFrom(
      Buffer.from('{"name":"x","id":"not-a-uuid"}').toString('base64url'),
      Buffer.from('{"createdAt":"yesterday","id":1}').toString('base64url'),
      Buffer.from('[]').toString('base64url'),
      Buffer.from('null').toString('base64url'),
      Buffer.from('{"__proto__":{"admin":true}}').toString('base64url'),
      Buffer.from(`{"name":"${'a'.repeat(400)}"}`).toString('base64url'),
      `${realCursor}x`,
      realCursor.slice(0, -3),
      realCursor.split('').reverse().join(''),
      '!!!',
      '%00',
    ),
    fc.string({ minLength: 1, maxLength: 600 }).map((s) => Buffer.from(s).toString('base64url')),
    fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v) ?? 'null').toString('base64url')),
  );
}

/**
 * Query parameters of an operation: each one invalid for its schema or any text (cursors forged),
 * plus an unknown one; any of them may be left out.
 */
export function badQuery(
  op: Operation,
  resolve: Resolve,
  realCursor: string,
): fc.Arbitrary<Partial<Record<string, unknown>>> {
  const model: Record<string, fc.Arbitrary<unknown>> = {};
  for (const p of op.parameters.filter((p) => p.in === 'query'))
    model[p.name] =
      p.name === 'cursor'
        ? forgedCursors(realCursor)
        : fc.oneof(
            invalidValue(p.schema, resolve),
            fc.string({ unit: 'grapheme', maxLength: 200 }),
          );
  model.unknownParameter = fc.string({ maxLength: 20 });
  return fc.record(model, { requiredKeys: [] });
}

/** Bodies that are not JSON objects of a sane size: broken, deep, huge, mislabelled. */
export const rawBodies: { what: string; body: string | Buffer; type?: string }[] = [
  { what: 'broken JSON', body: '{"items": [' },
  { what: 'trailing garbage', body: '{"status":"confirmed"} x' },
  { what: 'single quotes', body: "{'status':'confirmed'}" },
  { what: 'not UTF-8', body: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]) },
  { what: 'a bare string', body: '"hello"' },
  { what: 'a bare number', body: '1e999' },
  { what: 'null', body: 'null' },
  { what: 'an array', body: '[]' },
  { what: 'empty body', body: '' },
  { what: 'nested arrays 10000 deep', body: deepNesting(10_000, 'array') },
  { what: 'nested objects 5000 deep', body: deepNesting(5000, 'object') },
  { what: 'body over the 64 KiB limit', body: JSON.stringify({ name: 'x'.repeat(70_000) }) },
  { what: '8 MiB body', body: Buffer.alloc(8 * 1024 * 1024, 0x20) },
  {
    what: '__proto__ poisoning',
    body: '{"__proto__":{"role":"admin"},"status":"confirmed"}',
  },
  { what: 'constructor poisoning', body: '{"constructor":{"prototype":{"role":"admin"}}}' },
  { what: 'duplicate keys', body: '{"status":"confirmed","status":"nonsense"}' },
  { what: 'null bytes', body: '{"name":"\\u0000","status":"\\u0000"}' },
  {
    what: 'form encoded',
    body: 'status=confirmed',
    type: 'application/x-www-form-urlencoded',
  },
  { what: 'text/plain', body: '{"status":"confirmed"}', type: 'text/plain' },
  { what: 'XML', body: '<status>confirmed</status>', type: 'application/xml' },
];

/** Authorization headers that name no valid bearer token (printable ASCII, as HTTP allows). */
export function badAuthorization(t: Tokens): fc.Arbitrary<string> {
  return fc
    .oneof(
      fc.string({ maxLength: 300 }).map((s) => `Bearer ${s}`),
      fc.constantFrom(
        'Bearer',
        'Bearer ',
        'bearer x.y.z',
        'Basic YWRtaW46YWRtaW4=',
        `Token ${t.alice}`,
        `Bearer ${t.alice} ${t.admin}`,
        `Bearer  ${t.alice}x`,
      ),
      fc.string({ maxLength: 100 }),
    )
    .filter((h) => /^[\t\x20-\x7e]*$/.test(h));
}

/** Idempotency keys past the 255-character limit, otherwise valid header values. */
export const longIdempotencyKeys: fc.Arbitrary<string> = fc
  .string({ minLength: 256, maxLength: 4000 })
  .filter((s) => /^[\x21-\x7e][\x20-\x7e]*[\x21-\x7e]$/.test(s));

/** Timestamps around what PostgreSQL's timestamptz takes, each with whether it must be refused. */
export const boundTimestamps: [string, boolean][] = [
  ['0000-01-01T00:00:00.000000Z', true],
  ['0001-01-01T00:00:00.000000Z', false],
  ['9999-12-31T23:59:59.999999Z', false],
  ['10000-01-01T00:00:00.000000Z', true],
  ['2026-02-29T00:00:00.000000Z', true],
  ['2028-02-29T00:00:00.000000Z', false],
  ['2026-02-30T00:00:00.000000Z', true],
  ['2026-04-31T00:00:00.000000Z', true],
  ['2026-00-10T00:00:00.000000Z', true],
  ['2026-13-01T00:00:00.000000Z', true],
  ['2026-01-01T24:00:00.000000Z', true],
  ['2026-01-01T23:60:00.000000Z', true],
  ['2026-01-01T23:59:60.000000Z', true],
  ['2026-01-01T00:00:00.0000000Z', true],
  ['-000001-01-01T00:00:00.000000Z', true],
  ['294277-01-01T00:00:00.000000Z', true],
];

/** Numbers past int4, bigint and 2^53, and fractions where integers go: all to be refused. */
export const boundIntegers = [
  2 ** 31,
  -(2 ** 31) - 1,
  2 ** 53 + 1,
  2 ** 63,
  1e21,
  1.5,
  1e-7,
  10_000_000.5,
];
