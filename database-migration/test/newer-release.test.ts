import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createTestDatabase, type TestDatabase } from '@order-food/platform/testing/test-database';
import {
  explain,
  logLines,
  migrationsCopy,
  realMigrationFiles,
  removeDir,
  rows,
  runMigration,
} from './helpers.js';

/**
 * A pod of the previous release that starts after a newer release migrated the database (a
 * rollback, or a restart during a rolling update) runs its own database-migration first: it must
 * leave the newer release's migrations alone and exit 0, so that its API, which works on the
 * newer schema, starts. A file of its own release that went missing still stops the run.
 */

const databases: TestDatabase[] = [];
const dirs: string[] = [];

after(async () => {
  for (const db of databases) await db.drop();
  for (const dir of dirs) removeDir(dir);
});

/** A database migrated by a newer release: this release's files and one more, recorded as 9.0.0's. */
async function migratedByNewerRelease(): Promise<TestDatabase> {
  const db = await createTestDatabase('newer_release');
  databases.push(db);
  const newer = migrationsCopy({
    '0900_newer_release.sql': 'CREATE TABLE newer_release_notes (id bigint PRIMARY KEY);\n',
  });
  dirs.push(newer);
  const r = await runMigration(db, ['--dir', newer], { SERVICE_VERSION: '9.0.0' });
  assert.equal(r.code, 0, explain(r));
  return db;
}

test("a newer release's migrations above this release's files are left alone: exit 0, one warning naming them", async () => {
  const db = await migratedByNewerRelease();
  const r = await runMigration(db, [], { SERVICE_VERSION: '1.1.0' });
  assert.equal(r.code, 0, explain(r));
  const warnings = logLines(r.stdout + r.stderr).filter((l) => l.level === 'warn');
  assert.deepEqual(
    warnings.filter((l) => /0900_newer_release/.test(String(l.msg))).map((l) => l.msg),
    [
      '0900_newer_release.sql was applied by release 9.0.0, not this one (1.1.0), which has no such file; leaving it as it is',
    ],
  );
  const validate = await runMigration(db, ['validate'], { SERVICE_VERSION: '1.1.0' });
  assert.equal(validate.code, 0, explain(validate));
  const applied = await rows<{ version: number }>(
    db,
    'SELECT version FROM schema_migrations WHERE success ORDER BY version',
  );
  assert.equal(applied.length, realMigrationFiles().length + 1, 'nothing applied or removed');
});

test("a missing file of this release's own, or one below the newest file, still stops the run", async () => {
  const db = await migratedByNewerRelease();
  // Recorded by 9.0.0 too, but a run of 9.0.0 itself misses its own file.
  const own = await runMigration(db, [], { SERVICE_VERSION: '9.0.0' });
  assert.equal(own.code, 1, explain(own));
  assert.match(
    own.stderr,
    /0900_newer_release\.sql \(version 900, applied on .*\) is missing from/,
  );
  // A gap below this release's newest file is a removed file, whoever applied it.
  const gap = migrationsCopy();
  dirs.push(gap);
  const first = realMigrationFiles()[0]!;
  rmSync(join(gap, first));
  const r = await runMigration(db, ['--dir', gap], { SERVICE_VERSION: '1.1.0' });
  assert.equal(r.code, 1, explain(r));
  assert.match(
    r.stderr,
    new RegExp(`${first.replace('.', '\\.')} \\(version 1, applied on .*\\) is missing from`),
  );
  assert.doesNotMatch(r.stderr, /0900_newer_release/);
});
