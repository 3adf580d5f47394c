import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { parseDatabaseTarget } from '../src/config.js';
import { createDatabase, type Database } from '../src/database.js';
import { createLogger } from '../src/logger.js';
import { parseTimestamptz, parseTimestamptzText } from '../src/pg-timestamp.js';
import { createTestDatabase, type TestDatabase } from '../testing/test-database.js';

// pg's own timestamptz parser (postgres-date): the reference the fast path must equal.
const stock = pg.types.getTypeParser(1184, 'text') as (text: string) => Date | number | null;

const pad = (value: number, width: number) => String(value).padStart(width, '0');

// Offsets as PostgreSQL writes them: hours only, with minutes, and with seconds (local mean time
// zones before 1900, e.g. Amsterdam's +00:19:32).
const offsets = [
  '+00',
  '-05',
  '+05:30',
  '+05:45',
  '-09:30',
  '+14',
  '-12',
  '+00:19:32',
  '-00:01:15',
];

test('the fast path gives the Date pg would give, for every shape PostgreSQL writes', () => {
  // 20 000 values spread over every field by strides coprime with each field's range, so the
  // cases are the same in every run and a failure can be run again.
  for (let i = 0; i < 20_000; i++) {
    const fractionDigits = i % 7; // none, or 1 to 6 digits
    const fraction =
      fractionDigits === 0 ? '' : `.${pad((i * 7_919) % 10 ** fractionDigits, fractionDigits)}`;
    const date = `${pad(100 + ((i * 7_717) % 9_900), 4)}-${pad(1 + ((i * 5) % 12), 2)}-${pad(1 + ((i * 7) % 31), 2)}`;
    const time = `${pad((i * 5) % 24, 2)}:${pad((i * 7) % 60, 2)}:${pad((i * 11) % 60, 2)}`;
    const text = `${date} ${time}${fraction}${offsets[(i * 4) % offsets.length]}`;
    const fast = parseTimestamptz(text);
    assert.ok(fast instanceof Date, `${text}: not read by the fast path`);
    assert.equal(fast.getTime(), (stock(text) as Date).getTime(), text);
  }
});

test('fractions at the edges of a millisecond round as pg rounds them', () => {
  for (const fraction of [
    '.000001',
    '.000999',
    '.001',
    '.009',
    '.0099',
    '.999999',
    '.1',
    '.5',
    '.99',
  ]) {
    for (const text of [
      `2026-11-24 13:23:43${fraction}+00`,
      `1969-12-31 23:59:59${fraction}-03:30`,
    ]) {
      assert.equal(parseTimestamptz(text)?.getTime(), (stock(text) as Date).getTime(), text);
    }
  }
});

test('other shapes are left to pg: infinity, years before 100 or past 9999, BC, malformed text', () => {
  for (const text of [
    'infinity',
    '-infinity',
    '0099-01-01 00:00:00+00',
    '0001-01-01 00:00:00+00',
    '12345-01-01 00:00:00+00',
    '2000-01-01 00:00:00+00 BC',
    '2026-11-24 13:23:43.+00',
    '2026-11-24 13:23:43Z',
    '2026-11-24T13:23:43+00',
    '2026-11-24 13:23:4x+00',
    '2026-11-24 13:23:43+0',
    '2026-11-24 13:23:43+05:3',
    '2026-11-24 13:23:43+00 ',
  ]) {
    assert.equal(parseTimestamptz(text), undefined, text);
    const expected = stock(text);
    const actual = parseTimestamptzText(text);
    if (expected instanceof Date)
      assert.equal((actual as Date).getTime(), expected.getTime(), text);
    else assert.equal(actual, expected, text);
  }
});

let testDb: TestDatabase;
let db: Database;

before(async () => {
  testDb = await createTestDatabase('platform_timestamps');
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

test('timestamptz read through the adapter is the instant PostgreSQL stored, in any session time zone', async (t) => {
  if (db.kind !== 'postgres') {
    t.skip('needs a PostgreSQL server: PGlite parses timestamps itself, not through pg');
    return;
  }
  const literals = [
    '2026-11-24 13:23:43.123456+00',
    '2026-11-24 13:23:43.999999+00',
    '2026-03-29 01:59:59.5+00',
    '2000-02-29 00:00:00+00',
    '1969-12-31 23:59:59.000001+00',
    '1850-06-01 12:00:00 Europe/Amsterdam',
    '0050-06-01 12:00:00+00',
    '0044-03-15 12:00:00+00 BC',
  ];
  for (const zone of [
    'UTC',
    'Asia/Kolkata',
    'America/St_Johns',
    'Asia/Kathmandu',
    'Europe/Amsterdam',
  ]) {
    const rows = await db.transaction(async (tx) => {
      await tx.query(`SELECT set_config('TimeZone', $1, true)`, [zone]);
      const r = await tx.query<{ v: Date; text: string; ms: string }>(
        `SELECT v, v::text AS text, floor(extract(epoch FROM v) * 1000)::bigint::text AS ms
           FROM unnest($1::timestamptz[]) WITH ORDINALITY AS t(v, n) ORDER BY n`,
        [literals],
      );
      return r.rows;
    });
    assert.equal(rows.length, literals.length);
    for (const row of rows) {
      assert.ok(row.v instanceof Date, `${zone} ${row.text}`);
      assert.equal(row.v.getTime(), Number(row.ms), `${zone} ${row.text}`);
      // The text the server really wrote takes the fast path, save the shapes left to pg.
      const leftToPg = row.text.endsWith(' BC') || row.text.startsWith('00');
      assert.equal(parseTimestamptz(row.text) === undefined, leftToPg, `${zone} ${row.text}`);
    }
  }
  const infinite = await db.query<{ v: unknown }>(`SELECT 'infinity'::timestamptz AS v`);
  assert.equal(infinite.rows[0]?.v, Number.POSITIVE_INFINITY);
});
