import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { before, test } from 'node:test';
import { releaseVersion } from '@order-food/platform/config';
import { mixedRequest } from '@order-food/platform/testing/mixed-load';
import pg from 'pg';
import { Api, tokens } from './lib/fixture.js';
import { LoadGenerator, type Sample, summarize } from './lib/http.js';
import { createDatabase, query, requirePostgres } from './lib/pg.js';
import { previousRelease, rehearsalMigrations, runBuilt } from './lib/previous-release.js';
import { Proc } from './lib/process.js';
import { load } from './lib/programs.js';
import { Scenario } from './lib/report.js';
import { quantile, round } from './lib/stats.js';
import { acknowledgedOrders, ordersStored, statusLine } from './lib/traffic.js';
import { waitFor, within } from './lib/wait.js';
import { Watcher } from './lib/watch.js';

const rate = 60;
/** MIGRATION_STATEMENT_LOCK_TIMEOUT: how long an ALTER may queue ahead of the pods' queries. */
const lockTimeoutMs = 2000;
/**
 * What a request may take beyond lock_timeout and the slowest request of the same load just before
 * the migration (measured side by side: a shared machine's pace drifts): the pool's backlog once
 * the ALTER gives up (10 connections, a few dozen queued queries of a millisecond or so).
 */
const marginMs = 1000;
/** Lock timeouts the migration meets at least before the long transaction ends. */
const timeoutsBeforeCommit = 2;
const drainSeconds = 3;

const scenario = new Scenario(
  'rolling-update',
  'Rolling update: the old API under load while a migration waits for its lock',
);

before(requirePostgres);

test(`rolling update at ${rate} req/s: a migration queued behind a long transaction stalls no request beyond lock_timeout, retries, and the old API drains without a failed request`, async (t) => {
  const release = await previousRelease(t);
  if (!release) return;
  await scenario.run(async () => {
    const db = await createDatabase('rolling');
    const migrations = rehearsalMigrations(release);
    const apis: Api[] = [];
    let longTx: pg.Client | undefined;
    let watching = false;
    // Whatever ends the test early: the load, the lock watch and the migration stop with it.
    const cleanups: (() => Promise<unknown>)[] = [];
    try {
      // The database as the previous release left it.
      const env = { DATABASE_URL: db.url, LOG_LEVEL: 'warn', DB_WAIT_TIMEOUT: '30' };
      for (const program of ['database-migration', 'database-load'] as const) {
        const r = await runBuilt(release, program, [], { env });
        assert.equal(r.code, 0, `${release.tag}'s ${program}: ${r.stdout}\n${r.stderr}`);
      }
      const drain = { SHUTDOWN_DRAIN_DELAY: String(drainSeconds), SHUTDOWN_TIMEOUT: '10' };
      const old = await Api.start({ databaseUrl: db.url, start: release.start, env: drain });
      apis.push(old);
      await old.waitReady();
      const t0 = await tokens(db.url);
      const productIds = (
        await query<{ id: string }>(
          db.url,
          'SELECT id FROM products WHERE available ORDER BY sku LIMIT 50',
        )
      ).map((p) => p.id);

      // The Service: requests go round-robin to the pods in it; a pod leaves it when its /ready
      // says 503, as a readiness probe would take it out.
      const endpoints: { name: string; url: string }[] = [{ name: 'old', url: old.url }];
      const mix = mixedRequest({ token: t0.alice, productIds });
      const traffic = new LoadGenerator({
        baseUrl: old.url,
        rate,
        keepBodies: ['old order', 'new order'],
        timeoutMs: 30_000,
        next: (n) => {
          const { kind, ...spec } = mix(n);
          const pod = endpoints[n % endpoints.length] as { name: string; url: string };
          return { ...spec, kind: `${pod.name} ${kind}`, path: `${pod.url}${spec.path}` };
        },
      }).start();
      cleanups.push(() => traffic.stop());
      const served = (n: number, what: string) =>
        waitFor(what, () => traffic.samples.length >= n, { timeoutMs: 60_000 });
      await served(rate * 2, 'the old API to serve the mixed load');
      // The same load undisturbed, just before the migration: what a request takes on this machine now.
      const baselineStart = traffic.now();
      await served(traffic.samples.length + rate * 3, 'the undisturbed load');

      // A long transaction holds a lock on orders that the ALTER's ACCESS EXCLUSIVE conflicts with.
      longTx = new pg.Client({ connectionString: db.url, application_name: 'rolling-long-tx' });
      longTx.on('error', () => undefined);
      await longTx.connect();
      await longTx.query('BEGIN');
      await longTx.query('SELECT count(*) FROM orders');

      const watcher = await Watcher.open(db.url);
      cleanups.push(async () => {
        watching = false;
        await watch.catch(() => undefined);
        await watcher.close();
      });
      let maxWaiting = 0;
      watching = true;
      const watch = (async () => {
        while (watching) {
          const [w] = await watcher
            .query<{ n: number }>(
              `SELECT count(*)::int AS n FROM pg_locks
                WHERE NOT granted AND relation = 'orders'::regclass`,
            )
            .catch(() => []);
          maxWaiting = Math.max(maxWaiting, w?.n ?? 0);
          await new Promise((r) => setTimeout(r, 50));
        }
      })();
      const ddlStart = traffic.now();
      const baseline = traffic.samples
        .filter((s) => s.start >= baselineStart && s.start < ddlStart)
        .map((s) => s.end - s.start);
      const baselineSlowest = Math.max(...baseline);
      const boundMs = lockTimeoutMs + baselineSlowest + marginMs;
      const migration = new Proc('database-migration', ['migrate', '--dir', migrations.dir], {
        env: {
          DATABASE_URL: db.url,
          LOG_LEVEL: 'info',
          MIGRATION_STATEMENT_LOCK_TIMEOUT: String(lockTimeoutMs / 1000),
          // Between releases main still carries the last release's version; the release that
          // rolls out records a version of its own, which is what the old pods' runner sees.
          SERVICE_VERSION:
            release.tag === `v${releaseVersion}` ? `${releaseVersion}-next` : releaseVersion,
          // The runner's retry defaults (3 retries, 2 s doubling): a pause shorter than the time the
          // pods take to work off the queries that waited (0.5 s here on a loaded machine) queues
          // the next ALTER ahead of that backlog, and the stalls add up beyond lock_timeout.
        },
      });
      cleanups.push(() => migration.stop());
      // The transaction ends after a few lock timeouts, and late enough that a stall lasting until
      // then (no lock_timeout) would exceed the bound by a lock_timeout at least.
      const timeouts = () => (migration.stdout.match(/hit lock_timeout, retrying/g) ?? []).length;
      while (
        timeouts() < timeoutsBeforeCommit ||
        traffic.now() - ddlStart < boundMs + lockTimeoutMs
      ) {
        const seen = timeouts();
        await waitFor(
          `lock timeout ${seen + 1} of the migration`,
          () => timeouts() > seen || !migration.running,
          { timeoutMs: 120_000, intervalMs: 20 },
        );
        assert.ok(
          timeouts() > seen,
          `the migration hit lock_timeout again (${seen} so far):\n${migration.tail()}`,
        );
      }
      const committedAt = traffic.now();
      await longTx.query('COMMIT');
      await longTx.end();
      longTx = undefined;
      const exit = await within(120_000, 'the migration to finish', migration.exited);
      const ddlEnd = traffic.now();
      watching = false;
      await watch;
      assert.equal(
        exit.code,
        0,
        `the migration succeeds once the transaction ends:\n${migration.tail(40)}`,
      );
      const lockTimeouts = timeouts();

      // An old pod that starts now (rescheduled, or a rollback) runs its own init containers first:
      // recorded, not asserted, since what the previous release's runner does is fixed by now.
      const oldInit = await runBuilt(release, 'database-migration', [], { env });
      const refusal = (oldInit.stdout + oldInit.stderr)
        .split('\n')
        .filter((l) => l.includes('"level":"error"'))
        .map((l) => String((JSON.parse(l) as { msg?: string }).msg ?? ''))[0];
      const oldInitLine =
        oldInit.code === 0
          ? 'exit 0'
          : `exit ${oldInit.code}: "${(refusal ?? oldInit.stderr.trim()).replaceAll(`${release.dir}/`, '').split('; ')[0]}; …"`;

      // The new pod: its init containers (the migration ran above; the loader), then its API.
      const loadStart = traffic.now();
      await load(db.url);
      const loadEnd = traffic.now();
      const next = await Api.start({ databaseUrl: db.url, env: drain });
      apis.push(next);
      await next.waitReady();
      endpoints.push({ name: 'new', url: next.url });
      const reached = (name: string) =>
        traffic.samples.filter((s) => s.kind.startsWith(name)).length;
      await waitFor('the new API to serve its share', () => reached('new') >= rate, {
        timeoutMs: 60_000,
      });

      // The old pod drains: SIGTERM, out of the Service once its /ready says 503.
      const signalledAt = traffic.now();
      old.proc.kill('SIGTERM');
      await waitFor(
        'the old API to answer /ready 503',
        async () => (await old.readyStatus(2000)) === 503,
        {
          timeoutMs: 30_000,
          intervalMs: 100,
        },
      );
      endpoints.splice(0, 1);
      const oldExit = await within(30_000, 'the old API to exit', old.proc.exited);
      const afterDrain = traffic.samples.length;
      await served(afterDrain + rate, 'the new API to serve alone');
      await traffic.stop();

      const samples = traffic.samples;
      const summary = summarize(samples);
      const failed = samples.filter((s) => s.status === undefined || s.status >= 400);
      const phases: [string, number][] = [
        ['before the migration', 0],
        ['the DDL window', ddlStart],
        ["the old release's init, HEAD's loader", ddlEnd],
        ["HEAD's API starting, both serving", loadEnd],
        ['the drain', signalledAt],
      ];
      const phaseOf = (at: number) => phases.filter(([, from]) => at >= from).pop()?.[0];
      const ddl = samples.filter((s) => s.start >= ddlStart && s.start < ddlEnd);
      const ddlLatency = ddl.map((s) => s.end - s.start);
      const slowest = Math.max(...ddlLatency);
      const acked = acknowledgedOrders(
        samples
          .filter((s) => s.kind.endsWith(' order'))
          .map((s): Sample => ({ ...s, kind: 'order' })),
      );
      const stored = await ordersStored(db.url, acked);
      const [schema] = await query<{ v: number }>(
        db.url,
        'SELECT max(version)::int AS v FROM schema_migrations WHERE success',
      );
      const ms = (x: number) => `${round(x, 0)} ms`;
      scenario.trials = 1;
      scenario.faults = lockTimeouts;
      scenario.requests = summary.requests;
      scenario.errors = failed.length;
      scenario.note(
        `${release.tag}'s API (its build) on its own schema serves the bench's mixed load (platform/testing/mixed-load.ts) at ${rate} req/s; a transaction holding ACCESS SHARE on orders stays open while HEAD's database-migration applies ${migrations.pending.join(', ')}${migrations.added ? ' (a rehearsal migration added: nothing pending locks orders)' : ''} with lock_timeout ${lockTimeoutMs / 1000} s and the runner's default retries (3, after 2 s doubling)`,
      );
      scenario.note(
        `the migration met lock_timeout ${lockTimeouts} times (the transaction ended ${ms(committedAt - ddlStart)} into the DDL window, after ${lockTimeouts} of them), then applied everything and exited ${exit.code}; at most ${maxWaiting} sessions waited for a lock on orders at once; schema now ${schema?.v}`,
      );
      scenario.note(
        `during the DDL window (${ms(ddlEnd - ddlStart)}, ${ddl.length} requests): p50 ${ms(quantile(ddlLatency, 0.5))}, p99 ${ms(quantile(ddlLatency, 0.99))}, slowest ${ms(slowest)}; the same load just before: p99 ${ms(quantile(baseline, 0.99))}, slowest ${ms(baselineSlowest)}; bound ${ms(boundMs)} (lock_timeout + that slowest + ${marginMs} ms)`,
      );
      scenario.note(
        `${release.tag}'s database-migration started on the migrated schema (an old pod starting during or after the update): ${oldInitLine}`,
      );
      scenario.note(
        `then HEAD's API started and joined; the old one got SIGTERM, left the endpoints on /ready 503 and exited ${oldExit.code ?? oldExit.signal} ${ms(traffic.now() - signalledAt)} later; ${summary.requests} requests in all (${statusLine(summary.byStatus)}), overall p99 ${ms(summary.p99)}; ${acked.length} orders acknowledged, ${stored} stored`,
      );
      assert.deepEqual(
        failed
          .slice(0, 5)
          .map(
            (s) =>
              `${s.kind}, sent during ${phaseOf(s.start)} (loader ran ${ms(loadStart)}…${ms(loadEnd)}, this at ${ms(s.start)}): ${s.status ?? s.error} ${s.body?.slice(0, 200) ?? ''}`,
          ),
        [],
        `no request failed (${statusLine(summary.byStatus)})`,
      );
      assert.ok(lockTimeouts >= timeoutsBeforeCommit, 'the migration retried after lock timeouts');
      // The ALTER and the pods' queries behind it were seen queued: the stall was real.
      assert.ok(maxWaiting >= 2, `sessions queued on orders during the DDL window: ${maxWaiting}`);
      assert.ok(
        slowest <= boundMs,
        `no request during the DDL window waited beyond lock_timeout + margin: slowest ${ms(slowest)}, bound ${ms(boundMs)}`,
      );
      assert.equal(oldExit.code, 0, `the old API drained and exited 0:\n${old.proc.tail()}`);
      assert.equal(stored, acked.length, 'every acknowledged order is stored');
    } finally {
      for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
      await longTx?.end().catch(() => undefined);
      for (const api of apis) await api.stop();
      if (migrations.added) rmSync(migrations.dir, { recursive: true, force: true });
      await db.drop();
    }
  });
});
