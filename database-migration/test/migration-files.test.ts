import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checksum } from '../src/checksum.js';
import { parseMigration } from '../src/migration-files.js';
import { splitStatements } from '../src/sql-statements.js';

test('statements split at top-level semicolons only', () => {
  const script = `-- a comment; not a split
CREATE TABLE t (a text DEFAULT 'x;y', "b;c" int); /* block; comment /* nested; */ still */
CREATE FUNCTION f() RETURNS text LANGUAGE sql AS $body$ SELECT 'a;b' $body$;
SELECT E'it\\'s; fine', $$;$$;
INSERT INTO t VALUES ('it''s; fine')
`;
  assert.deepEqual(splitStatements(script), [
    `-- a comment; not a split
CREATE TABLE t (a text DEFAULT 'x;y', "b;c" int)`,
    `/* block; comment /* nested; */ still */
CREATE FUNCTION f() RETURNS text LANGUAGE sql AS $body$ SELECT 'a;b' $body$`,
    `SELECT E'it\\'s; fine', $$;$$`,
    `INSERT INTO t VALUES ('it''s; fine')`,
  ]);
  assert.deepEqual(splitStatements('-- only a comment\n;\n  ;'), []);
});

test('a file is transactional unless its header says migrate:no-transaction', () => {
  const plain = parseMigration(
    '0003_add_note.sql',
    '/m/0003_add_note.sql',
    Buffer.from('ALTER TABLE orders ADD note text;\n'),
  );
  assert.equal(plain.version, 3);
  assert.equal(plain.name, 'add_note');
  assert.equal(plain.transactional, true);
  assert.equal(plain.checksum, checksum(Buffer.from('ALTER TABLE orders ADD note text;\n')));

  const header = parseMigration(
    '0004_idx.sql',
    '/m/0004_idx.sql',
    Buffer.from(
      '-- Why: orders by ref.\n--   migrate:no-transaction\n\nCREATE INDEX CONCURRENTLY IF NOT EXISTS public.orders_ref_idx ON orders (external_ref);\n',
    ),
  );
  assert.equal(header.transactional, false);
  assert.deepEqual(header.indexes, ['public.orders_ref_idx']);
  assert.equal(header.statements.length, 1);

  // After the first statement a directive is just a comment.
  const late = parseMigration(
    '0005_x.sql',
    '/m/0005_x.sql',
    Buffer.from('SELECT 1;\n-- migrate:no-transaction\n'),
  );
  assert.equal(late.transactional, true);
});

test('malformed names and versions are refused, naming the file', () => {
  assert.throws(
    () => parseMigration('5-x.sql', '/m/5-x.sql', Buffer.from('SELECT 1;')),
    /5-x\.sql .* is not named NNNN_name\.sql/,
  );
  assert.throws(
    () => parseMigration('0000_zero.sql', '/m/0000_zero.sql', Buffer.from('SELECT 1;')),
    /0000_zero\.sql: the version must be between 1/,
  );
  assert.throws(
    () => parseMigration('0001_blank.sql', '/m/0001_blank.sql', Buffer.from('\n/* later */\n')),
    /0001_blank\.sql has no SQL statements/,
  );
});
