import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { readSchemaVersion } from '@order-food/platform/schema';
import type { RolloutPlan } from '../src/rollout-plan.js';
import {
  explain,
  logLines,
  migrationsCopy,
  realMigrationFiles,
  removeDir,
  runMigration,
  withDatabase,
} from './helpers.js';

// Embedded PGlite, whatever the test PostgreSQL: the default of `npm start`.
let dataDir: string;
let url: string;
let dir: string;

before(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'migration-pglite-'));
  url = `pglite:${dataDir}`;
  dir = migrationsCopy({
    '0960_concurrent_index.sql':
      '-- migrate:no-transaction\nCREATE INDEX CONCURRENTLY orders_updated_idx ON orders (updated_at);\n',
  });
});
after(() => {
  if (dataDir) removeDir(dataDir);
  if (dir) removeDir(dir);
});

test('migrates an embedded PGlite database, then finds nothing to do', async () => {
  const plan = await runMigration(url, ['plan', '--json', '--dir', dir]);
  assert.equal(plan.code, 0, explain(plan));
  const pending = (JSON.parse(plan.stdout) as RolloutPlan).pending;
  assert.deepEqual(pending.at(-1)?.statements[0]?.locks[0], {
    table: 'orders',
    mode: 'SHARE UPDATE EXCLUSIVE',
    blocks: [],
    newTable: true,
  });

  const first = await runMigration(url, ['--dir', dir]);
  assert.equal(first.code, 0, explain(first));
  const versions = [...realMigrationFiles().map((f) => Number(f.split('_')[0])), 960];
  const applied = logLines(first.stdout)
    .filter((l) => typeof l.msg === 'string' && l.msg.startsWith('applied '))
    .map((l) => l.version);
  assert.deepEqual(applied, versions);

  const second = await runMigration(url, ['--dir', dir]);
  assert.equal(second.code, 0, explain(second));
  assert.equal(
    logLines(second.stdout).find((l) => l.msg === 'migration run finished')?.appliedCount,
    0,
  );

  const nothing = await runMigration(url, ['plan', '--dir', dir]);
  assert.equal(nothing.code, 0, explain(nothing));
  assert.equal(nothing.stdout, 'nothing pending: the schema is up to date\n');

  const status = await runMigration(url, ['status', '--json', '--dir', dir]);
  assert.equal(status.code, 0, explain(status));
  const entries = JSON.parse(status.stdout) as { version: number; state: string }[];
  assert.deepEqual(
    entries.map((e) => [e.version, e.state]),
    versions.map((v) => [v, 'applied']),
  );

  await withDatabase(url, async (q) => {
    assert.deepEqual(await readSchemaVersion(q), { version: 960 });
    const { rows } = await q.query<{ valid: boolean }>(
      "SELECT indisvalid AS valid FROM pg_index WHERE indexrelid = 'orders_updated_idx'::regclass",
    );
    assert.deepEqual(rows, [{ valid: true }]);
    const runs = await q.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM schema_migration_runs WHERE success',
    );
    assert.equal(runs.rows[0]!.n, 2);
  });
});

test('a data directory PGlite cannot use stops the run with one line naming it', async () => {
  const base = mkdtempSync(join(tmpdir(), 'migration-pglite-bad-'));
  try {
    const file = join(base, 'a-file');
    writeFileSync(file, 'not a database\n');
    // A cluster of another PostgreSQL version: PGlite refuses it.
    const other = join(base, 'pg14');
    mkdirSync(other);
    writeFileSync(join(other, 'PG_VERSION'), '14\n');
    const cases: [string, RegExp][] = [
      [file, /it is not a directory$/],
      [other, /PGlite failed to initialize properly$/],
    ];
    for (const [path, reason] of cases) {
      const r = await runMigration(`pglite:${path}`, ['--dir', dir]);
      assert.equal(r.code, 1, explain(r));
      const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
      assert.equal(lines.length, 1, r.stderr);
      assert.ok(
        lines[0]!.startsWith(
          `database-migration: error: the embedded database in ${path} cannot be opened: `,
        ),
        lines[0],
      );
      assert.match(lines[0]!, reason);
    }
  } finally {
    removeDir(base);
  }
});
