import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createTestDatabase, type TestDatabase } from '@order-food/platform/testing/test-database';
import { explain, migrationsCopy, removeDir, rows, runMigration } from './helpers.js';

/**
 * Files the runner must refuse before running anything, each with a line that names the file and
 * the real cause (validate and migrate alike), as real processes.
 */
const dirs: string[] = [];
let db: TestDatabase;

before(async () => {
  db = await createTestDatabase('migration_refused');
});

after(async () => {
  await db?.drop();
  for (const dir of dirs) removeDir(dir);
});

function copy(extra: Record<string, string> = {}): string {
  const dir = migrationsCopy(extra);
  dirs.push(dir);
  return dir;
}

function errorLine(r: Awaited<ReturnType<typeof runMigration>>): string {
  const lines = r.stderr.split('\n').filter((l) => l.startsWith('database-migration: error:'));
  assert.equal(lines.length, 1, explain(r));
  return lines[0]!;
}

test('validate and migrate refuse COMMIT, a directory, a NUL byte: file, line and cause named', async () => {
  const commit = copy({
    '0900_early_commit.sql': 'CREATE TABLE early (id int);\n\nCOMMIT;\nDROP TABLE orders;\n',
  });
  const directory = copy();
  mkdirSync(join(directory, '0900_not_a_file.sql'));
  const nul = copy();
  writeFileSync(join(nul, '0900_nul.sql'), Buffer.from('SELECT 1;\n\0\n'));
  const cases: [string, RegExp][] = [
    [commit, /0900_early_commit\.sql:3: COMMIT would end the transaction/],
    [directory, /0900_not_a_file\.sql is a directory, not a migration file/],
    [nul, /0900_nul\.sql:2: contains a NUL byte/],
  ];
  for (const [dir, message] of cases) {
    for (const command of ['validate', 'migrate']) {
      const r = await runMigration(db, [command, '--dir', dir]);
      assert.equal(r.code, 1, `${command}: ${explain(r)}`);
      assert.match(errorLine(r), message, command);
      assert.doesNotMatch(r.stderr, /EISDIR|invalid message format/);
    }
  }
  // Nothing ran: not even the real migrations before the refused file.
  const [table] = await rows<{ t: string | null }>(
    db,
    "SELECT to_regclass('schema_migrations')::text AS t",
  );
  assert.equal(table!.t, null);
});

test('a new file that reuses an applied version is named as such, not as a changed file', async () => {
  const dir = copy();
  const migrated = await runMigration(db, ['--dir', dir]);
  assert.equal(migrated.code, 0, explain(migrated));
  rmSync(join(dir, '0003_data_load_manifest.sql'));
  writeFileSync(join(dir, '0003_add_order_notes.sql'), 'ALTER TABLE orders ADD note text;\n');
  for (const command of ['validate', 'migrate']) {
    const r = await runMigration(db, [command, '--dir', dir]);
    assert.equal(r.code, 1, explain(r));
    const line = errorLine(r);
    assert.match(
      line,
      /0003_add_order_notes\.sql reuses version 3, which was applied as 0003_data_load_manifest\.sql on /,
    );
    assert.doesNotMatch(line, /was changed after it was applied/);
  }
});
