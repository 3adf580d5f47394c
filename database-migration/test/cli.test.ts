import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parseMigration } from '../src/migration-files.js';
import { explain, removeDir, runMigration } from './helpers.js';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'migrations-create-'));
  dirs.push(dir);
  return dir;
}
after(() => {
  for (const dir of dirs) removeDir(dir);
});

// No database is reached in these cases: usage is checked first.
const nowhere = 'postgres://postgres@127.0.0.1:9/none';

test('bad usage or configuration exits 2 with one line naming the problem', async () => {
  const cases: [string[], Record<string, string>, RegExp][] = [
    [['frobnicate'], {}, /unknown command "frobnicate"/],
    [['--bogus'], {}, /unknown option --bogus/],
    [['create'], {}, /create needs exactly one NAME/],
    [['migrate', 'extra'], {}, /migrate takes no arguments/],
    [['validate', '--json'], {}, /--json goes with the status and plan commands/],
    [['plan', 'now'], {}, /plan takes no arguments, got "now"/],
    [['--dir'], {}, /--dir needs a value/],
    [[], { MIGRATION_LOCK_TIMEOUT: 'soon' }, /MIGRATION_LOCK_TIMEOUT must be a number of seconds/],
    [[], { MIGRATION_LOCK_RETRIES: '-1' }, /MIGRATION_LOCK_RETRIES must be/],
    [[], { DB_WAIT_TIMEOUT: 'x' }, /DB_WAIT_TIMEOUT/],
    [[], { DATABASE_URL: 'mysql://localhost/x' }, /DATABASE_URL must start with postgres:\/\//],
    [
      ['status', '--dir', '/nonexistent/migrations'],
      {},
      /migrations directory \/nonexistent\/migrations cannot be read/,
    ],
  ];
  const results = await Promise.all(
    cases.map(([args, env]) => runMigration(nowhere, args, env, 300_000)),
  );
  for (const [i, [args, , message]] of cases.entries()) {
    const r = results[i]!;
    assert.equal(r.code, 2, `${args.join(' ')}: ${explain(r)}`);
    // One line, and nothing else: no usage text, no stack (beside the same error as a JSON log
    // line once the program has its logger).
    const lines = r.stderr.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('{'));
    assert.equal(lines.length, 1, explain(r));
    assert.ok(lines[0]!.startsWith('database-migration: error: '), explain(r));
    assert.match(lines[0]!, message);
  }
});

test('--help prints the usage and exits 0', async () => {
  const r = await runMigration(nowhere, ['--help']);
  assert.equal(r.code, 0, explain(r));
  assert.match(r.stdout, /usage: database-migration/);
  assert.match(r.stdout, /status \[--json\]/);
});

test('create NAME writes the next numbered file from the template', async () => {
  const dir = tempDir();
  writeFileSync(join(dir, '0001_initial.sql'), 'SELECT 1;\n');
  writeFileSync(join(dir, '0007_later.sql'), 'SELECT 1;\n');
  writeFileSync(join(dir, 'README.md'), 'not a migration\n');

  const r = await runMigration(nowhere, ['create', 'Add order notes!', '--dir', dir]);
  assert.equal(r.code, 0, explain(r));
  const path = join(dir, '0008_add_order_notes.sql');
  assert.equal(r.stdout.trim(), path);
  const text = readFileSync(path, 'utf8');
  assert.match(text, /^-- 0008_add_order_notes\.sql: /);
  assert.match(text, /-- migrate:no-transaction/);
  // The template alone is not a migration yet (only comments), and does not opt out.
  assert.throws(
    () => parseMigration('0008_add_order_notes.sql', path, Buffer.from(text)),
    /no SQL statements/,
  );
  const filled = parseMigration(
    '0008_add_order_notes.sql',
    path,
    Buffer.from(`${text}ALTER TABLE orders ADD COLUMN note text;\n`),
  );
  assert.equal(filled.transactional, true);

  const second = await runMigration(nowhere, ['create', 'another', '--dir', dir], {});
  assert.equal(second.code, 0, explain(second));
  assert.ok(readdirSync(dir).includes('0009_another.sql'));

  const fromEnv = tempDir();
  const third = await runMigration(nowhere, ['create', 'first'], { MIGRATIONS_DIR: fromEnv });
  assert.equal(third.code, 0, explain(third));
  assert.deepEqual(readdirSync(fromEnv), ['0001_first.sql']);

  const bad = await runMigration(nowhere, ['create', '!!!', '--dir', dir]);
  assert.equal(bad.code, 2, explain(bad));
  assert.match(bad.stderr, /create needs a NAME made of letters or digits/);
});
