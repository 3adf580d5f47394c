import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runProgram } from '@order-food/platform/testing/run-program';
import { createDatabase, type Database, query, requirePostgres, tableCounts } from './lib/pg.js';
import { Proc } from './lib/process.js';
import { migrate } from './lib/programs.js';
import { Scenario } from './lib/report.js';
import { waitFor, within } from './lib/wait.js';
import { Watcher } from './lib/watch.js';

const trials = Number(process.env.RELIABILITY_LOAD_TRIALS ?? 10);
const parallel = 2;
const orders = 100_000;
const env = { LOG_LEVEL: 'warn', DB_WAIT_TIMEOUT: '30', LOAD_LOCK_TIMEOUT: '600' };
const dataTables = ['products', 'users', 'orders', 'order_items'] as const;

interface Snapshot {
  counts: Record<string, number>;
  totalCents: number;
  loaded: number;
}

async function snapshot(url: string): Promise<Snapshot> {
  const counts = await tableCounts(url, dataTables);
  const [sum] = await query<{ s: number | null }>(
    url,
    'SELECT sum(total_cents)::float8 AS s FROM orders',
  );
  const [h] = await query<{ n: number }>(
    url,
    "SELECT count(*)::int AS n FROM data_load_history WHERE outcome = 'loaded'",
  );
  return { counts, totalCents: sum?.s ?? 0, loaded: h?.n ?? 0 };
}

const scenario = new Scenario('load-crash', 'Crash during load (SIGKILL)');
let dataDir = '';
let template: Database | undefined;
let clean: Snapshot & { ms: number };

before(async () => {
  await requirePostgres();
  dataDir = mkdtempSync(join(tmpdir(), 'reliability-data-'));
  const gen = await runProgram(
    'database-load',
    [
      'generate',
      '--out',
      dataDir,
      '--products',
      '1000',
      '--users',
      '10000',
      '--orders',
      String(orders),
    ],
    { env, timeoutMs: 300_000 },
  );
  assert.equal(gen.code, 0, `generate failed:\n${gen.stderr}`);
  template = await createDatabase('load_tmpl');
  await migrate(template.url);
});

after(async () => {
  await template?.drop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

test(`loader killed at random points of a ${orders / 1000}k-order load: the rerun completes, counts equal a clean load, nothing partial recorded`, async () => {
  await scenario.run(async () => {
    const reference = await createDatabase('load_clean', { template: template!.name });
    try {
      const started = Date.now();
      const r = await runProgram('database-load', ['load', '--dir', dataDir], {
        env: { DATABASE_URL: reference.url, ...env },
        timeoutMs: 900_000,
      });
      assert.equal(r.code, 0, `clean load failed:\n${r.stderr}`);
      clean = { ...(await snapshot(reference.url)), ms: Date.now() - started };
    } finally {
      await reference.drop();
    }
    assert.equal(clean.counts.orders, orders);
    assert.equal(clean.loaded, 1);
    scenario.note(
      `generated once: ${clean.counts.products} products, ${clean.counts.users} users, ${clean.counts.orders} orders, ${clean.counts.order_items} order lines; a clean load takes about ${Math.round(clean.ms / 1000)} s as a process`,
    );
    if (trials < 10)
      scenario.note(
        `${trials} trials instead of 10 (RELIABILITY_LOAD_TRIALS), to keep the run's time`,
      );

    const outcomes: { killedAtMs: number; landed: boolean; phase: string; afterKill: string }[] =
      [];
    const failures: string[] = [];
    let next = 0;
    const worker = async () => {
      while (next < trials) {
        const i = next++;
        try {
          outcomes.push(await trial());
        } catch (err) {
          failures.push(`trial ${i + 1}: ${(err as Error).message}`);
        }
      }
    };
    await Promise.all(Array.from({ length: parallel }, worker));
    scenario.trials = trials;
    scenario.faults = outcomes.filter((o) => o.landed).length;
    scenario.errors = failures.length;
    scenario.detail(
      [
        '| killed after (s) | statement running at the kill | after the kill | rerun |',
        '|---:|---|---|---|',
        ...outcomes
          .sort((a, b) => a.killedAtMs - b.killedAtMs)
          .map(
            (o) =>
              `| ${(o.killedAtMs / 1000).toFixed(1)} | ${o.phase} | ${o.afterKill} | exit 0, counts and order totals equal the clean load, one 'loaded' history row, no lock |`,
          ),
      ].join('\n'),
    );
    assert.deepEqual(failures, [], 'every trial recovered');
  });
});

function phaseOf(statement: string | undefined): string {
  if (!statement) return 'none (starting, validating or between statements)';
  const s = statement.replace(/\s+/g, ' ').trim();
  if (/^COPY stage_(\w+)/i.test(s)) return `COPY into stage_${/^COPY stage_(\w+)/i.exec(s)?.[1]}`;
  if (/INSERT INTO order_items/i.test(s)) return 'INSERT INTO order_items';
  if (/INSERT INTO orders/i.test(s)) return 'INSERT INTO orders';
  if (/INSERT INTO (products|users)/i.test(s))
    return `INSERT INTO ${/INSERT INTO (\w+)/i.exec(s)?.[1]}`;
  if (/^COMMIT/i.test(s)) return 'COMMIT';
  return s.slice(0, 40);
}

async function trial() {
  const db = await createDatabase('load', { template: template!.name });
  const watcher = await Watcher.open(db.url);
  try {
    const proc = new Proc('database-load', ['load', '--dir', dataDir], {
      env: { DATABASE_URL: db.url, ...env },
    });
    const started = Date.now();
    const killAt = 500 + Math.random() * clean.ms;
    await waitFor(
      'the kill time or the loader to end',
      () => Date.now() - started >= killAt || !proc.running,
      {
        timeoutMs: clean.ms * 3 + 60_000,
        intervalMs: 20,
      },
    );
    const [activity] = await watcher.query<{ query: string }>(
      `SELECT query FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'active'
          AND application_name <> 'reliability-watcher' LIMIT 1`,
    );
    const landed = proc.running;
    proc.kill('SIGKILL');
    await within(10_000, 'the killed loader to exit', proc.exited);
    const killedAtMs = Date.now() - started;

    // The dead loader's transaction either committed whole before the kill or not at all.
    const afterKill = await snapshot(db.url);
    let afterKillText: string;
    if (afterKill.loaded === 0) {
      assert.deepEqual(
        Object.values(afterKill.counts),
        [0, 0, 0, 0],
        `no data visible without a 'loaded' history row: ${JSON.stringify(afterKill.counts)}`,
      );
      afterKillText = "no rows, no 'loaded' history";
    } else {
      assert.deepEqual(
        afterKill.counts,
        clean.counts,
        "a 'loaded' history row only with the whole data set",
      );
      afterKillText = 'committed whole just before the kill';
    }

    const rerun = await runProgram('database-load', ['load', '--dir', dataDir], {
      env: { DATABASE_URL: db.url, ...env },
      timeoutMs: 900_000,
    });
    assert.equal(
      rerun.code,
      0,
      `rerun after a kill at ${killedAtMs} ms exited ${rerun.code}:\n${rerun.stdout.slice(-1500)}\n${rerun.stderr.slice(-1500)}`,
    );
    const final = await snapshot(db.url);
    assert.deepEqual(final.counts, clean.counts, 'counts equal a clean load');
    assert.equal(final.totalCents, clean.totalCents, 'order totals equal a clean load');
    assert.equal(final.loaded, 1, "exactly one 'loaded' history row");
    await waitFor('no advisory lock left', async () => (await watcher.advisoryLocks()) === 0, {
      timeoutMs: 10_000,
    });
    return {
      killedAtMs,
      landed,
      phase: landed ? phaseOf(activity?.query) : 'the load had finished',
      afterKill: afterKillText,
    };
  } finally {
    await watcher.close();
    await db.drop();
  }
}
