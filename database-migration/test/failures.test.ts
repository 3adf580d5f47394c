import assert from 'node:assert/strict';
import { appendFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createTestDatabase, type TestDatabase } from '@order-food/platform/testing/test-database';
import {
  explain,
  migrationsCopy,
  realMigrationFiles,
  removeDir,
  rows,
  runMigration,
} from './helpers.js';

const dirs: string[] = [];
const databases: TestDatabase[] = [];

async function freshDatabase(): Promise<TestDatabase> {
  const db = await createTestDatabase('migration_failures');
  databases.push(db);
  return db;
}

function copy(extra: Record<string, string> = {}): string {
  const dir = migrationsCopy(extra);
  dirs.push(dir);
  return dir;
}

after(async () => {
  for (const db of databases) await db.drop();
  for (const dir of dirs) removeDir(dir);
});

const broken = `-- A migration whose second statement fails.
CREATE TABLE audit_notes (id integer PRIMARY KEY, note text NOT NULL);
INSERT INTO audit_notes VALUES (1, 'one');
SELECT missing_column FROM audit_notes;
`;
const fixed = `-- A migration whose second statement fails.
CREATE TABLE audit_notes (id integer PRIMARY KEY, note text NOT NULL);
INSERT INTO audit_notes VALUES (1, 'one');
`;

let db: TestDatabase;
before(async () => {
  db = await freshDatabase();
});

test('a failing migration is rolled back, recorded and reported; the fixed file applies next run', async () => {
  const dir = copy({ '0900_audit_notes.sql': broken });
  const traceId = '0af7651916cd43dd8448eb211c80319c';
  const r = await runMigration(db, ['--dir', dir], {
    TRACEPARENT: `00-${traceId}-b7ad6b7169203331-01`,
  });
  assert.equal(r.code, 1, explain(r));
  const errorLines = r.stderr.split('\n').filter((l) => l.startsWith('database-migration: error:'));
  assert.equal(errorLines.length, 1, explain(r));
  assert.match(errorLines[0]!, /0900_audit_notes\.sql failed at line 4 and was rolled back/);
  assert.match(errorLines[0]!, /column "missing_column" does not exist/);

  // Nothing of the failed file is left; the files before it are applied.
  const [table] = await rows<{ t: string | null }>(
    db,
    "SELECT to_regclass('audit_notes')::text AS t",
  );
  assert.equal(table!.t, null, 'the failed migration was rolled back');
  const history = await rows<{ version: number; success: boolean }>(
    db,
    'SELECT version, success FROM schema_migrations ORDER BY version',
  );
  const real = realMigrationFiles().map((f) => Number(f.split('_')[0]));
  assert.deepEqual(history, [
    ...real.map((version) => ({ version, success: true })),
    { version: 900, success: false },
  ]);
  const [run] = await rows<{ success: boolean; error: string }>(
    db,
    'SELECT success, error FROM schema_migration_runs ORDER BY id DESC LIMIT 1',
  );
  assert.equal(run!.success, false);
  assert.match(run!.error, /0900_audit_notes\.sql failed/);

  // status shows it pending again.
  const status = await runMigration(db, ['status', '--json', '--dir', dir]);
  assert.equal(status.code, 0, explain(status));
  const entry = (JSON.parse(status.stdout) as { version: number; state: string }[]).find(
    (s) => s.version === 900,
  );
  assert.equal(entry?.state, 'pending');
  // The text status names the failed run, its error and its trace id: the runbook's first step.
  const text = await runMigration(db, ['status', '--dir', dir]);
  assert.equal(text.code, 0, explain(text));
  const runLine = text.stdout.split('\n').find((l) => /^ {2}#\d+ .* failed /.test(l));
  assert.ok(runLine, text.stdout);
  assert.match(runLine, new RegExp(`trace ${traceId}`));
  assert.match(runLine, /error: migration 0900_audit_notes\.sql failed at line 4/);

  writeFileSync(join(dir, '0900_audit_notes.sql'), fixed);
  const again = await runMigration(db, ['--dir', dir]);
  assert.equal(again.code, 0, explain(again));
  assert.match(again.stdout, /applied 0900_audit_notes\.sql/);
  assert.deepEqual(await rows(db, 'SELECT id, note FROM audit_notes'), [{ id: 1, note: 'one' }]);
  const [row] = await rows<{ success: boolean }>(
    db,
    'SELECT success FROM schema_migrations WHERE version = 900',
  );
  assert.equal(row!.success, true);
});

test('an applied file that was edited stops the run, naming the file', async () => {
  db = await freshDatabase();
  const dir = copy();
  const first = await runMigration(db, ['--dir', dir]);
  assert.equal(first.code, 0, explain(first));

  const edited = realMigrationFiles()[0]!;
  appendFileSync(join(dir, edited), '\n-- an innocent-looking comment\n');
  const r = await runMigration(db, ['--dir', dir]);
  assert.equal(r.code, 1, explain(r));
  assert.match(
    r.stderr,
    new RegExp(`${edited.replace('.', '\\.')} was changed after it was applied`),
  );
  assert.ok(!r.stdout.includes('applying '), 'nothing applied');

  const validate = await runMigration(db, ['validate', '--dir', dir]);
  assert.equal(validate.code, 1, explain(validate));
  assert.match(validate.stderr, new RegExp(`invalid: ${edited.replace('.', '\\.')} was changed`));

  const status = await runMigration(db, ['status', '--json', '--dir', dir]);
  assert.equal(status.code, 0, explain(status));
  const entry = (JSON.parse(status.stdout) as Record<string, unknown>[])[0]!;
  assert.equal(entry.state, 'changed');
  assert.notEqual(entry.checksum, entry.appliedChecksum);
});

test('an applied version missing from the directory stops the run, naming the file', async () => {
  const dir = copy();
  const last = realMigrationFiles().at(-1)!;
  rmSync(join(dir, last));
  const r = await runMigration(db, ['--dir', dir]);
  assert.equal(r.code, 1, explain(r));
  assert.match(
    r.stderr,
    new RegExp(`${last.replace('.', '\\.')} \\(version \\d+, applied on .*\\) is missing from`),
  );
});

test('files that cannot run are refused before touching the database, naming the file', async () => {
  const cases: [Record<string, string>, RegExp][] = [
    [
      { '0901_a.sql': 'SELECT 1;', '0901_b.sql': 'SELECT 2;' },
      /0901_a\.sql and 0901_b\.sql have the same version 901/,
    ],
    [{ 'add-things.sql': 'SELECT 1;' }, /add-things\.sql .* is not named NNNN_name\.sql/],
    [{ '0902_empty.sql': '-- nothing yet\n' }, /0902_empty\.sql has no SQL statements/],
    [
      { '0903_typo.sql': '-- migrate:no-transactions\nSELECT 1;' },
      /0903_typo\.sql: unknown directive/,
    ],
  ];
  for (const [extra, message] of cases) {
    const dir = copy(extra);
    // An unreachable database: the file check comes first, so no wait happens.
    const r = await runMigration('postgres://postgres@127.0.0.1:9/none', ['--dir', dir], {
      DB_WAIT_TIMEOUT: '30',
    });
    assert.equal(r.code, 1, explain(r));
    assert.match(r.stderr, message);
  }
});
