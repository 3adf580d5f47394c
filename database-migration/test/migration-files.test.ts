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

test('COMMIT or ROLLBACK in a transactional file is refused, naming file and line', () => {
  const parse = (sql: string, name = '0007_x.sql') =>
    parseMigration(name, `/m/${name}`, Buffer.from(sql));
  const refused: [string, string, number][] = [
    ['CREATE TABLE a (id int);\nCOMMIT;\nCREATE TABLE b (id int);\n', 'COMMIT', 2],
    ['CREATE TABLE a (id int);\n\n-- undo\n  rollback;\n', 'ROLLBACK', 4],
    ['SELECT 1;\nEND;\n', 'END', 2],
    ['SELECT 1; /* x */ Abort work;\n', 'ABORT', 1],
    ['COMMIT AND CHAIN;\n', 'COMMIT', 1],
  ];
  for (const [sql, keyword, line] of refused)
    assert.throws(
      () => parse(sql),
      new RegExp(`^OperationalError: 0007_x\\.sql:${line}: ${keyword} would end the transaction`),
      sql,
    );
  // Inside strings, comments, quoted identifiers and function bodies it is not a statement;
  // a savepoint rollback stays inside the transaction; a no-transaction file may commit.
  for (const sql of [
    "INSERT INTO t VALUES ('COMMIT;');\n-- ROLLBACK;\n/* COMMIT; */ SELECT 1;\n",
    'CREATE TABLE "commit" (id int);\n',
    'CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$ BEGIN COMMIT; END $$;\n',
    'SAVEPOINT s;\nSELECT 1;\nROLLBACK TO SAVEPOINT s;\n',
    'ROLLBACK TO s;\n',
  ])
    assert.doesNotThrow(() => parse(sql), sql);
  assert.equal(parse('-- migrate:no-transaction\nSELECT 1;\nCOMMIT;\n').transactional, false);
});

test('CONCURRENTLY in a transactional file is refused before PostgreSQL would, naming the line', () => {
  const parse = (sql: string) => parseMigration('0011_x.sql', '/m/0011_x.sql', Buffer.from(sql));
  const refused: [string, string, number][] = [
    ['SELECT 1;\nCREATE INDEX CONCURRENTLY a ON t (x);\n', 'CREATE INDEX', 2],
    ['create unique index\n  concurrently a ON t (x);\n', 'CREATE UNIQUE INDEX', 1],
    ['DROP INDEX CONCURRENTLY IF EXISTS a;\n', 'DROP INDEX', 1],
    ['REINDEX (VERBOSE) INDEX CONCURRENTLY a;\n', 'REINDEX (VERBOSE) INDEX', 1],
  ];
  for (const [sql, what, line] of refused)
    assert.throws(
      () => parse(sql),
      new RegExp(
        `^OperationalError: 0011_x\\.sql:${line}: ${what.replace(/[()]/g, '\\$&')} CONCURRENTLY cannot run inside the transaction`,
      ),
      sql,
    );
  assert.doesNotThrow(() => parse('CREATE INDEX a ON t (x);\n-- CREATE INDEX CONCURRENTLY\n'));
  assert.equal(
    parse('-- migrate:no-transaction\nCREATE INDEX CONCURRENTLY a ON t (x);\n').transactional,
    false,
  );
});

test('NUL bytes and text that is not UTF-8 are refused, naming file and line', () => {
  assert.throws(
    () =>
      parseMigration('0008_nul.sql', '/m/0008_nul.sql', Buffer.from('SELECT 1;\nSELECT 2\0;\n')),
    /^OperationalError: 0008_nul\.sql:2: contains a NUL byte/,
  );
  const utf16 = Buffer.from('\uFEFFSELECT 1;\n', 'utf16le');
  assert.throws(
    () => parseMigration('0009_utf16.sql', '/m/0009_utf16.sql', utf16),
    /^OperationalError: 0009_utf16\.sql:1: contains a NUL byte/,
  );
  assert.throws(
    () =>
      parseMigration(
        '0010_latin1.sql',
        '/m/0010_latin1.sql',
        Buffer.concat([Buffer.from('SELECT 1;\n-- caf'), Buffer.from([0xe9]), Buffer.from('\n')]),
      ),
    /^OperationalError: 0010_latin1\.sql:2: is not valid UTF-8/,
  );
});
