import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Api, readyWithData } from './lib/fixture.js';
import { LoadGenerator, type Sample, summarize } from './lib/http.js';
import { query, terminateBackends } from './lib/pg.js';
import { PrivatePostgres } from './lib/private-postgres.js';
import { load, migrate } from './lib/programs.js';
import { Scenario } from './lib/report.js';
import { acknowledgedOrders, mixedTraffic, ordersStored, statusLine } from './lib/traffic.js';
import { sleep } from './lib/wait.js';

const rate = 200;
const recoverSeconds = 10;
const stopSeconds = 3;

const scenario = new Scenario('database-restart', 'Database restart under load');
let server: PrivatePostgres | undefined;

before(async () => {
  // A server of the suite's own: stopping it disturbs nothing else on the machine.
  server = await new PrivatePostgres().init();
});

after(async () => {
  await server?.destroy();
});

interface Fault {
  name: string;
  at: number;
  /** When the database was back (the fault's end). */
  back: number;
}

/** Seconds from the database being back to the end of the last failed request sent after the fault. */
function recovery(samples: readonly Sample[], fault: Fault, until: number): number {
  const failed = samples.filter(
    (s) => s.start >= fault.at && s.start < until && (s.status === undefined || s.status >= 400),
  );
  if (failed.length === 0) return 0;
  return Math.max(0, Math.max(...failed.map((s) => s.end)) - fault.back) / 1000;
}

test(`API at ${rate} req/s while every backend is terminated and PostgreSQL is stopped and started: no crash, /ready follows, requests recover, acknowledged orders kept`, async () => {
  await scenario.run(async () => {
    const pg = server!;
    await query(pg.url(), 'CREATE DATABASE orderfood');
    const url = pg.url('orderfood');
    await migrate(url);
    await load(url);
    const api = await Api.start({ databaseUrl: url });
    const readiness: { t: number; status: number }[] = [];
    let polling = true;
    try {
      const { t, products } = await readyWithData(api, url);
      const traffic = new LoadGenerator({
        baseUrl: api.url,
        rate,
        next: mixedTraffic(t, products, { orderShare: 0.1 }),
        keepBodies: ['order'],
        timeoutMs: 20_000,
      }).start();
      const poller = (async () => {
        while (polling) {
          const at = traffic.now();
          readiness.push({ t: at, status: await api.readyStatus(3000) });
          await sleep(200);
        }
      })();

      await sleep(5000);
      const terminateAt = traffic.now();
      const terminated = await terminateBackends(url);
      const faults: Fault[] = [
        {
          name: `pg_terminate_backend of all ${terminated} sessions`,
          at: terminateAt,
          back: terminateAt,
        },
      ];
      await sleep(recoverSeconds * 1000 + 2000);

      const stopAt = traffic.now();
      let stoppedAt = stopAt;
      try {
        await pg.stop();
        stoppedAt = traffic.now();
        await sleep(stopSeconds * 1000);
      } finally {
        await pg.start();
      }
      const startedAt = traffic.now();
      faults.push({
        name: `PostgreSQL stopped (pg_ctl stop -m fast) for ${stopSeconds} s, then started`,
        at: stopAt,
        back: startedAt,
      });
      await sleep(recoverSeconds * 1000 + 3000);
      const end = traffic.now();
      polling = false;
      await traffic.stop();
      await poller;

      const samples = traffic.samples;
      const summary = summarize(samples);
      const acked = acknowledgedOrders(samples);
      const stored = await ordersStored(url, acked);
      const bad = samples.filter(
        (s) => s.status === undefined || (s.status >= 500 && s.status !== 503 && s.status !== 504),
      );
      // Only requests that finished before the backends were killed: one in flight then may fail.
      const beforeFaults = samples.filter((s) => s.end < terminateAt);
      const afterRecovery = (f: Fault, until: number) =>
        samples.filter((s) => s.start >= f.back + recoverSeconds * 1000 && s.start < until);
      const windows = [
        { f: faults[0]!, until: stopAt },
        { f: faults[1]!, until: end },
      ];
      // /ready may reuse its last answer for READY_CACHE (1 s by default).
      const readyDuringOutage = readiness.filter((r) => r.t >= stoppedAt + 1500 && r.t < startedAt);
      const readyAfter = readiness.filter((r) => r.t >= startedAt + recoverSeconds * 1000);

      scenario.trials = 1;
      scenario.note(
        `PostgreSQL here is a server of the suite's own (initdb into a temporary directory, pg_ctl on a free loopback port), so stopping it disturbs nothing else on the machine; the API's pool keeps its defaults`,
      );
      scenario.requests = summary.requests;
      scenario.errors = bad.length;
      scenario.note(
        `${summary.requests} requests at ${rate}/s (menu, products, own orders, order placement): ${statusLine(summary.byStatus)}`,
      );
      scenario.note(
        `/ready during the outage: ${statusLine(countBy(readyDuringOutage.map((r) => String(r.status))))}; from ${recoverSeconds} s after the restart: ${statusLine(countBy(readyAfter.map((r) => String(r.status))))}`,
      );
      scenario.note(
        `${acked.length} orders acknowledged with 201, ${stored} of them in the database afterwards; the API process ${api.proc.running ? 'kept running' : 'EXITED'}`,
      );
      scenario.detail(
        [
          '| fault | requests sent until recovery checked | failed (503/504) | other failures | recovered after (s) |',
          '|---|---:|---:|---:|---:|',
          ...windows.map(({ f, until }) => {
            const inWindow = samples.filter((s) => s.start >= f.at && s.start < until);
            const failed = inWindow.filter((s) => s.status === 503 || s.status === 504).length;
            const other = inWindow.filter(
              (s) =>
                s.status === undefined || (s.status >= 400 && s.status !== 503 && s.status !== 504),
            ).length;
            return `| ${f.name} | ${inWindow.length} | ${failed} | ${other} | ${recovery(samples, f, until).toFixed(1)} |`;
          }),
        ].join('\n'),
      );

      assert.ok(api.proc.running, `the API never crashed:\n${api.proc.tail()}`);
      const failedBefore = beforeFaults.filter((s) => s.status === undefined || s.status >= 400);
      assert.deepEqual(
        failedBefore
          .slice(0, 3)
          .map(
            (s) =>
              `${s.kind} at ${(s.start / 1000).toFixed(1)} s: ${s.status ?? s.error} after ${Math.round(s.end - s.start)} ms ${s.body?.slice(0, 300) ?? ''}`,
          ),
        [],
        `all requests succeed before the faults (${failedBefore.length} of ${beforeFaults.length} failed)`,
      );
      assert.deepEqual(
        bad.slice(0, 5).map((s) => `${s.kind}: ${s.status ?? s.error} ${s.body ?? ''}`),
        [],
        'requests fail only with 503 or 504, never another 5xx or a dropped connection',
      );
      for (const { f, until } of windows) {
        const late = afterRecovery(f, until).filter(
          (s) => s.status === undefined || s.status >= 400,
        );
        assert.equal(
          late.length,
          0,
          `every request succeeds from ${recoverSeconds} s after: ${f.name} (${statusLine(countBy(late.map((s) => String(s.status ?? s.error))))})`,
        );
      }
      assert.ok(
        readyDuringOutage.some((r) => r.status === 503),
        '/ready answers 503 during the outage',
      );
      assert.ok(
        readyAfter.length > 0 && readyAfter.every((r) => r.status === 200),
        '/ready answers 200 after it',
      );
      assert.equal(stored, acked.length, 'every acknowledged order exists afterwards');
      scenario.faults = 2;
    } finally {
      polling = false;
      await api.stop();
      if (!(await pg.running())) await pg.start();
    }
  });
});

function countBy(values: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return out;
}
