import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { parseDatabaseTarget } from '../src/config.js';
import { createDatabase, type Database } from '../src/database.js';
import { checkTimestamp } from '../src/iso-timestamp.js';
import { createLogger } from '../src/logger.js';
import { findTextFault, textProblem } from '../src/text.js';
import { createTestDatabase, type TestDatabase } from '../testing/test-database.js';

let testDb: TestDatabase;
let db: Database;

before(async () => {
  testDb = await createTestDatabase('platform_text');
  db = await createDatabase(parseDatabaseTarget({ DATABASE_URL: testDb.url }), {
    logger: createLogger('test', 'silent'),
    applicationName: 'platform-test',
    max: 2,
  });
});

after(async () => {
  await db?.close();
  await testDb?.drop();
});

/** Any UTF-16 string: units drawn from the whole range, so lone surrogates and NUL come up. */
const anyText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc
    .array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 12 })
    .map((units) => String.fromCharCode(...units)),
);

test('text the check accepts is stored and read back unchanged; what it refuses PostgreSQL refuses or alters', async () => {
  let refused = 0;
  await fc.assert(
    fc.asyncProperty(anyText, async (text) => {
      const problem = textProblem(text);
      let stored: string | undefined;
      try {
        stored = (await db.query<{ t: string }>('SELECT $1::text AS t', [text])).rows[0]?.t;
      } catch {
        stored = undefined;
      }
      if (problem === undefined) assert.equal(stored, text);
      else {
        refused++;
        assert.notEqual(stored, text, `refused (${problem}) but PostgreSQL keeps it`);
      }
    }),
    { numRuns: 300 },
  );
  assert.ok(refused > 0, 'the property met refused text');
});

test('the check names NUL and lone surrogates; pairs, non-characters and controls pass', () => {
  assert.match(textProblem('a\u0000b') ?? '', /U\+0000 \(NUL\) at character 1/);
  assert.match(textProblem('ab\ud800') ?? '', /lone surrogate U\+D800 at character 2/);
  assert.match(textProblem('\udc00\ud83c\udf55') ?? '', /lone surrogate U\+DC00 at character 0/);
  for (const fine of [
    '',
    '🍕',
    '\u0001\u007f\u0085',
    '\ufffe\uffff\u{10ffff}',
    'e\u0301',
    '\u202e',
  ])
    assert.equal(textProblem(fine), undefined, JSON.stringify(fine));
  assert.deepEqual(findTextFault({ a: [1, { 'b/c': 'x\u0000' }] }), {
    path: '/a/1/b~1c',
    problem: 'contains U+0000 (NUL) at character 1, which text cannot hold',
  });
  assert.match(findTextFault({ 'k\ud800': 1 })?.problem ?? '', /property name .*lone surrogate/);
  assert.equal(findTextFault({ n: 1, b: true, z: null, s: 'ok', a: ['🍕'] }), undefined);
});

test('a timestamp the check accepts is the instant PostgreSQL reads; days that do not exist are refused', async () => {
  const refused = [
    '2026-02-30T00:00:00Z',
    '2025-02-29T00:00:00Z',
    '2100-02-29T00:00:00Z',
    '2026-04-31T00:00:00Z',
    '2026-00-01T00:00:00Z',
    '2026-13-01T00:00:00Z',
    '2026-01-01T24:00:00Z',
    '2026-01-01T23:60:00Z',
    '2026-01-01T23:59:60Z',
    '0000-01-01T00:00:00Z',
    '0001-01-01T00:30:00+01:00',
    '9999-12-31T23:30:00-01:00',
    '2026-01-01T00:00:00+16:00',
    '2026-01-01T00:00:00',
    '2026-01-01 00:00:00Z',
  ];
  for (const text of refused) assert.ok('problem' in checkTimestamp(text), text);
  const accepted = fc.tuple(
    fc.integer({ min: 1, max: 9999 }),
    fc.integer({ min: 1, max: 12 }),
    fc.integer({ min: 1, max: 31 }),
    fc.integer({ min: 0, max: 23 }),
    fc.integer({ min: 0, max: 59 }),
    fc.integer({ min: 0, max: 59 }),
    fc.integer({ min: 0, max: 999 }),
    fc.constantFrom('Z', '+00:00', '+05:30', '-08:00', '+1400', '-15:59'),
  );
  await fc.assert(
    fc.asyncProperty(accepted, async ([y, mo, d, h, mi, s, ms, zone]) => {
      const p = (n: number, w = 2) => String(n).padStart(w, '0');
      const text = `${p(y, 4)}-${p(mo)}-${p(d)}T${p(h)}:${p(mi)}:${p(s)}.${p(ms, 3)}${zone}`;
      const checked = checkTimestamp(text);
      if ('problem' in checked) {
        // Only days past the month's end or instants outside years 1 to 9999 UTC.
        assert.match(checked.problem, /does not exist|outside the years/, text);
        return;
      }
      const { rows } = await db.query<{ ms: string }>(
        `SELECT (extract(epoch FROM $1::timestamptz) * 1000)::bigint::text AS ms`,
        [text],
      );
      assert.equal(Number(rows[0]?.ms), checked.ms, text);
    }),
    { numRuns: 300 },
  );
});
