import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { stripVTControlCharacters } from 'node:util';
import { repoRoot } from '@order-food/platform/testing/run-program';
import { migrationsCopy, realMigrationFiles, removeDir } from './helpers.js';

interface LintResult {
  code: number | null;
  /** stdout and stderr, without squawk's colours. */
  output: string;
}

/** `npm run lint:migrations`, the command `npm run lint` runs, with the real squawk binary. */
function lint(args: string[] = []): Promise<LintResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['run', '--silent', 'lint:migrations', '--', ...args], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => {
      output += d;
    });
    child.stderr.on('data', (d) => {
      output += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output: stripVTControlCharacters(output) }));
  });
}

/** The rules squawk reported, per file name: warning[rule] followed by the ╭▸ path:line:column. */
function findings(output: string): Map<string, string[]> {
  const byFile = new Map<string, string[]>();
  const pattern = /warning\[([a-z-]+)\][^\n]*\n\s*╭▸ [^\n]*?([^/\n]+\.sql):\d+:\d+/g;
  for (const [, rule, file] of output.matchAll(pattern))
    byFile.set(file!, [...(byFile.get(file!) ?? []), rule!].sort());
  return byFile;
}

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) removeDir(dir);
});

test("npm run lint includes the migration lint, and the project's migrations pass it", async () => {
  const scripts = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).scripts;
  assert.match(scripts.lint, /npm run lint:migrations/);
  const r = await lint();
  assert.equal(r.code, 0, r.output);
  assert.match(r.output, /lint-migrations: \d+ file\(s\) in database-migration\/migrations pass/);
});

test('.squawk.toml exempts only applied files that exist, and no rule but the timeouts', () => {
  const config = readFileSync(join(repoRoot, '.squawk.toml'), 'utf8');
  const list = (key: string) =>
    [
      ...(new RegExp(`^${key} = \\[([^\\]]*)\\]`, 'm').exec(config)?.[1] ?? '').matchAll(
        /"([^"]+)"/g,
      ),
    ].map((m) => m[1]!);
  // The runner sets both timeouts itself (runner.ts setTimeouts).
  assert.deepEqual(list('excluded_rules'), ['require-lock-timeout', 'require-statement-timeout']);
  const files = realMigrationFiles();
  for (const pattern of list('excluded_paths')) {
    assert.match(pattern, /^\*\d{4}_[a-z0-9_]+\.sql$/);
    assert.ok(files.includes(pattern.slice(1)), `${pattern} names no migration file`);
  }
  assert.match(config, /^pg_version = "15"$/m);
  assert.match(config, /^assume_in_transaction = true$/m);
});

test('lint refuses the classic rollout outages, naming file and rule', async () => {
  // Each on a table of the real schema, which the release still running reads and writes.
  const dir = migrationsCopy({
    '0901_required_column.sql': 'ALTER TABLE orders ADD COLUMN courier text NOT NULL;\n',
    '0902_blocking_index.sql': 'CREATE INDEX orders_updated_idx ON orders (updated_at);\n',
    '0903_type_change.sql': 'ALTER TABLE orders ALTER COLUMN total_cents TYPE numeric;\n',
    '0904_drop_column.sql': 'ALTER TABLE orders DROP COLUMN external_ref;\n',
    '0905_rename_column.sql': 'ALTER TABLE orders RENAME COLUMN total_cents TO amount_cents;\n',
    '0906_not_rerunnable.sql':
      '-- migrate:no-transaction\nCREATE INDEX CONCURRENTLY orders_updated_idx ON orders (updated_at);\n',
  });
  dirs.push(dir);
  const r = await lint(['--dir', dir]);
  assert.equal(r.code, 1, r.output);
  assert.deepEqual(
    Object.fromEntries(findings(r.output)),
    {
      '0901_required_column.sql': ['adding-required-field'],
      '0902_blocking_index.sql': ['require-concurrent-index-creation'],
      '0903_type_change.sql': ['changing-column-type'],
      '0904_drop_column.sql': ['ban-drop-column'],
      '0905_rename_column.sql': ['renaming-column'],
      // Outside a transaction a failure leaves the statements before it applied: IF NOT EXISTS.
      '0906_not_rerunnable.sql': ['prefer-robust-stmts'],
    },
    r.output,
  );
  assert.match(r.output, /lint-migrations: error: squawk found migrations that would block/);
});

test('the safe forms pass: nullable columns, CONCURRENTLY in a no-transaction file', async () => {
  const dir = migrationsCopy({
    '0901_delivery.sql':
      'ALTER TABLE orders ADD COLUMN delivery_address text;\nALTER TABLE orders ADD COLUMN delivery_note text;\n',
    '0902_with_default.sql': "ALTER TABLE orders ADD COLUMN channel text NOT NULL DEFAULT 'api';\n",
    '0903_index.sql':
      '-- migrate:no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS orders_updated_idx ON orders (updated_at);\n',
  });
  dirs.push(dir);
  const r = await lint(['--dir', dir]);
  assert.equal(r.code, 0, r.output);
  assert.match(r.output, /pass squawk \(1 outside a transaction\)/);
});

test('a transactional file with CONCURRENTLY and bad usage are refused in one line', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'migrations-lint-'));
  dirs.push(dir);
  writeFileSync(join(dir, '0001_index.sql'), 'CREATE INDEX CONCURRENTLY a_idx ON a (x);\n');
  const inTransaction = await lint(['--dir', dir]);
  assert.equal(inTransaction.code, 1, inTransaction.output);
  assert.match(
    inTransaction.output,
    /^lint-migrations: error: 0001_index\.sql:1: CREATE INDEX CONCURRENTLY cannot run inside the transaction/m,
  );
  const usage = await lint(['extra']);
  assert.equal(usage.code, 2, usage.output);
  assert.equal(
    usage.output.trim(),
    'lint-migrations: error: lint-migrations takes only --dir DIR, got "extra"',
  );
});
