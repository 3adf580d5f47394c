import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { repoRoot, runProgram } from '@order-food/platform/testing/run-program';
import { createDatabase, query, requirePostgres, schemaDump } from './lib/pg.js';
import { Proc } from './lib/process.js';
import { Scenario } from './lib/report.js';
import { waitFor, within } from './lib/wait.js';
import { Watcher } from './lib/watch.js';

const trials = 20;
const parallel = 2;
const env = { LOG_LEVEL: 'warn', DB_WAIT_TIMEOUT: '30', MIGRATION_LOCK_TIMEOUT: '120' };

/**
 * The project's migrations plus two written for this test: a long transactional one (a big
 * INSERT and a pause in one transaction) and a no-transaction one with CREATE INDEX CONCURRENTLY,
 * so kills land inside a migration, not only between them.
 */
function migrationsDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'reliability-migrations-'));
  const source = join(repoRoot, 'database-migration', 'migrations');
  for (const f of readdirSync(source)) cpSync(join(source, f), join(dir, f));
  writeFileSync(
    join(dir, '9001_reliability_long_migration.sql'),
    [
      '-- A long migration for the crash trials: a big INSERT and a pause in one transaction.',
      'CREATE TABLE reliability_big (id bigint PRIMARY KEY, v text NOT NULL);',
      'INSERT INTO reliability_big SELECT g, md5(g::text) FROM generate_series(1, 50000) g;',
      'SELECT pg_sleep(1);',
      'ALTER TABLE reliability_big ADD COLUMN w integer NOT NULL DEFAULT 0;',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(dir, '9002_reliability_concurrent_index.sql'),
    [
      '-- migrate:no-transaction',
      '-- Runs statement by statement; IF NOT EXISTS makes a rerun after a kill safe.',
      'SELECT pg_sleep(0.5);',
      'CREATE INDEX CONCURRENTLY IF NOT EXISTS reliability_big_v_idx ON reliability_big (v);',
      '',
    ].join('\n'),
  );
  return dir;
}

interface HistoryRow {
  version: number;
  name: string;
  checksum: string;
  success: boolean;
}

async function history(url: string): Promise<HistoryRow[]> {
  return query<HistoryRow>(
    url,
    'SELECT version, name, checksum, success FROM schema_migrations ORDER BY version',
  );
}

type KillPoint =
  | 'holding the lock'
  | 'inside the long migration'
  | 'inside CREATE INDEX CONCURRENTLY'
  | 'random time';

const scenario = new Scenario('migration-crash', 'Crash during migration (SIGKILL)');
let dir = '';
let clean: { dump: string; history: HistoryRow[]; ms: number };

before(async () => {
  await requirePostgres();
  dir = migrationsDir();
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test(`migration killed at ${trials} random points: the rerun completes to the clean schema, history consistent, no lock left`, async () => {
  await scenario.run(async () => {
    const reference = await createDatabase('mig_clean');
    try {
      const started = Date.now();
      const r = await runProgram('database-migration', ['migrate', '--dir', dir], {
        env: { DATABASE_URL: reference.url, ...env },
        timeoutMs: 120_000,
      });
      assert.equal(r.code, 0, `clean migration run failed:\n${r.stderr}`);
      clean = {
        dump: await schemaDump(reference.url),
        history: await history(reference.url),
        ms: Date.now() - started,
      };
    } finally {
      await reference.drop();
    }
    assert.ok(clean.history.length >= 4 && clean.history.every((h) => h.success));
    scenario.note(
      `test migrations: the project's ${clean.history.length - 2} files plus a long transactional one (50k-row INSERT, 1 s pause) and a no-transaction CREATE INDEX CONCURRENTLY; a clean run takes about ${(clean.ms / 1000).toFixed(1)} s as a process`,
    );

    const points: KillPoint[] = Array.from({ length: trials }, (_, i) =>
      i < 4
        ? 'holding the lock'
        : i < 8
          ? 'inside the long migration'
          : i < 10
            ? 'inside CREATE INDEX CONCURRENTLY'
            : 'random time',
    );
    const outcomes: {
      point: KillPoint;
      killedAfterMs: number;
      landed: boolean;
      stateAfterKill: string;
    }[] = [];
    const failures: string[] = [];
    let next = 0;
    const worker = async () => {
      while (next < points.length) {
        const i = next++;
        const point = points[i] as KillPoint;
        try {
          outcomes.push(await trial(point, i % 5 === 0));
        } catch (err) {
          failures.push(`trial ${i + 1} (${point}): ${(err as Error).message}`);
        }
      }
    };
    await Promise.all(Array.from({ length: parallel }, worker));
    scenario.trials = points.length;
    scenario.faults = outcomes.filter((o) => o.landed).length;
    scenario.errors = failures.length;

    const byPoint = new Map<string, { n: number; landed: number; states: Set<string> }>();
    for (const o of outcomes) {
      const e = byPoint.get(o.point) ?? { n: 0, landed: 0, states: new Set<string>() };
      e.n++;
      if (o.landed) e.landed++;
      e.states.add(o.stateAfterKill);
      byPoint.set(o.point, e);
    }
    scenario.detail(
      [
        '| kill point | trials | killed while running | history after the kill (versions applied) | rerun |',
        '|---|---:|---:|---|---|',
        ...[...byPoint].map(
          ([p, e]) =>
            `| ${p} | ${e.n} | ${e.landed} | ${[...e.states].sort().join(', ')} | exit 0, schema equals the clean run's, history consistent, no advisory lock |`,
        ),
      ].join('\n'),
    );
    assert.deepEqual(failures, [], 'every trial recovered');
    assert.equal(outcomes.length, trials);
  });
});

async function trial(point: KillPoint, checkStatus: boolean) {
  const db = await createDatabase('mig');
  const watcher = await Watcher.open(db.url);
  try {
    const proc = new Proc('database-migration', ['migrate', '--dir', dir], {
      env: { DATABASE_URL: db.url, ...env },
    });
    const started = Date.now();
    const wait = (what: string, check: () => Promise<boolean>) =>
      waitFor(what, async () => (await check()) || !proc.running, {
        timeoutMs: 60_000,
        intervalMs: 10,
      });
    if (point === 'holding the lock') {
      await wait('the advisory lock to be taken', async () => (await watcher.advisoryLocks()) > 0);
    } else if (point === 'inside the long migration') {
      await wait('the long migration to run', () =>
        watcher.running('%reliability_big%generate_series%'),
      );
      // Somewhere inside it: during the INSERT or the pause after it.
      await new Promise((r) => setTimeout(r, Math.random() * 1000));
    } else if (point === 'inside CREATE INDEX CONCURRENTLY') {
      await wait('the concurrent index build', () => watcher.running('%pg_sleep(0.5)%'));
      await new Promise((r) => setTimeout(r, 300 + Math.random() * 300));
    } else {
      await new Promise((r) => setTimeout(r, 300 + Math.random() * clean.ms));
    }
    const landed = proc.running;
    proc.kill('SIGKILL');
    await within(10_000, 'the killed migration process to exit', proc.exited);
    const killedAfterMs = Date.now() - started;
    const partial = await query<{ v: number }>(
      db.url,
      'SELECT version AS v FROM schema_migrations WHERE success ORDER BY version',
    ).catch(() => null);
    const stateAfterKill =
      partial === null
        ? 'no history table'
        : partial.length === 0
          ? 'none'
          : partial.map((p) => p.v).join('+');

    const rerun = await runProgram('database-migration', ['migrate', '--dir', dir], {
      env: { DATABASE_URL: db.url, ...env },
      timeoutMs: 150_000,
    });
    assert.equal(
      rerun.code,
      0,
      `rerun after a kill ${point} (after ${killedAfterMs} ms, history ${stateAfterKill}) exited ${rerun.code}:\n${rerun.stdout.slice(-1500)}\n${rerun.stderr.slice(-1500)}`,
    );
    assert.equal(
      await schemaDump(db.url),
      clean.dump,
      `schema after kill ${point} + rerun equals a clean run's`,
    );
    assert.deepEqual(await history(db.url), clean.history, "history rows equal a clean run's");
    const runs = await query<{ bad: number }>(
      db.url,
      'SELECT count(*)::int AS bad FROM schema_migration_runs WHERE finished_at IS NULL OR (NOT success AND error IS NULL)',
    );
    assert.equal(runs[0]?.bad, 0, 'every recorded run is finished and a failed one says why');
    if (checkStatus) await statusAllApplied(db.url);
    await waitFor(
      'no advisory lock left in the database',
      async () => (await watcher.advisoryLocks()) === 0,
      {
        timeoutMs: 10_000,
      },
    );
    return { point, killedAfterMs, landed, stateAfterKill };
  } finally {
    await watcher.close();
    await db.drop();
  }
}

/** `status --json` reports every file applied (run in some trials: each run is a process start). */
async function statusAllApplied(url: string): Promise<void> {
  const status = await runProgram('database-migration', ['status', '--json', '--dir', dir], {
    env: { DATABASE_URL: url, ...env },
    timeoutMs: 60_000,
  });
  const states = (JSON.parse(status.stdout) as { state: string }[]).map((s) => s.state);
  assert.ok(
    states.length === clean.history.length && states.every((s) => s === 'applied'),
    `status --json: ${states}`,
  );
}
