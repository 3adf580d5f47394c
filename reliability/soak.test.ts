import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Api, menu, preparedDatabase, tokens } from './lib/fixture.js';
import { LoadGenerator, summarize } from './lib/http.js';
import { backends, type Database, requirePostgres } from './lib/pg.js';
import { Scenario } from './lib/report.js';
import { quantile, round, slope } from './lib/stats.js';
import { acknowledgedOrders, mixedTraffic, ordersStored, statusLine } from './lib/traffic.js';
import { sleep, waitFor, within } from './lib/wait.js';

const seconds = Number(process.env.RELIABILITY_SOAK_SECONDS ?? 60);
const rate = 100;
const poolMax = 10;

const scenario = new Scenario('soak', 'Soak: steady mixed load');
let db: Database | undefined;

before(async () => {
  await requirePostgres();
  db = await preparedDatabase('soak');
});

after(async () => {
  await db?.drop();
});

test(`soak for ${seconds} s at ${rate} req/s (reads and order writes): 0 errors, p99 stable, RSS flat, no leaked connections`, async () => {
  await scenario.run(async () => {
    const api = await Api.start({
      databaseUrl: db!.url,
      env: { DB_POOL_MAX: String(poolMax), SHUTDOWN_DRAIN_DELAY: '0.5' },
    });
    try {
      await api.waitReady();
      const t = await tokens(db!.url);
      const products = await menu(api);
      const load = new LoadGenerator({
        baseUrl: api.url,
        rate,
        next: mixedTraffic(t, products, { orderShare: 0.25 }),
        keepBodies: ['order'],
        timeoutMs: 20_000,
      }).start();
      const rss: { x: number; y: number }[] = [];
      const sessions: number[] = [];
      const until = Date.now() + seconds * 1000;
      for (let i = 0; Date.now() < until && i < seconds * 2 + 10; i++) {
        rss.push({ x: load.now() / 1000, y: api.proc.rssMiB() });
        if (i % 5 === 0)
          sessions.push(
            (await backends(db!.url)).filter((b) => b.application_name.startsWith('order-food'))
              .length,
          );
        await sleep(1000);
      }
      await load.stop();

      const summary = summarize(load.samples);
      const acked = acknowledgedOrders(load.samples);
      const stored = await ordersStored(db!.url, acked);
      // p99 per third of the run, after a 10 % warm-up.
      const warm = seconds * 100;
      const span = (seconds * 1000 - warm) / 3;
      const thirds = [0, 1, 2].map((k) =>
        quantile(
          load.samples
            .filter((s) => s.start >= warm + k * span && s.start < warm + (k + 1) * span)
            .map((s) => s.end - s.start),
          0.99,
        ),
      );
      const secondHalf = rss.filter((p) => p.x >= seconds / 2);
      const rssSlope = slope(secondHalf) * 60;
      const median = (xs: number[]) => quantile(xs, 0.5);
      const rssMid = median(
        rss.filter((p) => p.x >= seconds * 0.4 && p.x < seconds * 0.6).map((p) => p.y),
      );
      const rssEnd = median(rss.filter((p) => p.x >= seconds * 0.85).map((p) => p.y));
      const maxSessions = Math.max(...sessions);

      api.proc.kill('SIGTERM');
      const exit = await within(30_000, 'the API to exit after SIGTERM', api.proc.exited);
      const left = await waitFor(
        'the API sessions to close',
        async () => {
          const n = (await backends(db!.url)).filter((b) =>
            b.application_name.startsWith('order-food'),
          ).length;
          return n === 0 ? [] : false;
        },
        { timeoutMs: 10_000 },
      ).then(
        () => 0,
        async () =>
          (await backends(db!.url)).filter((b) => b.application_name.startsWith('order-food'))
            .length,
      );

      scenario.trials = 1;
      scenario.requests = summary.requests;
      scenario.errors = summary.requests - summary.ok;
      scenario.leaks = left + (stored === acked.length ? 0 : acked.length - stored);
      scenario.note(
        `${seconds} s at ${rate} req/s (RELIABILITY_SOAK_SECONDS to change): ${summary.requests} requests, ${statusLine(summary.byStatus)}; p50 ${round(summary.p50)} ms, p99 ${round(summary.p99)} ms`,
      );
      scenario.note(
        `p99 per third of the run (after a 10 % warm-up): ${thirds.map((p) => `${round(p)} ms`).join(', ')}`,
      );
      scenario.note(
        `RSS: ${round(rss[0]?.y ?? Number.NaN)} MiB at start, ${round(rssMid)} MiB at mid-run, ${round(rssEnd)} MiB at the end; slope over the second half ${round(rssSlope, 2)} MiB/min`,
      );
      scenario.note(
        `API sessions in pg_stat_activity: at most ${maxSessions} under load (pool max ${poolMax} + 1 listener), ${left} left after exit ${exit.code}; ${acked.length} orders acknowledged, ${stored} stored`,
      );

      assert.equal(summary.ok, summary.requests, `0 errors: ${statusLine(summary.byStatus)}`);
      const [first, , last] = thirds as [number, number, number];
      assert.ok(
        last <= first * 3 + 100,
        `p99 stable: last third ${round(last)} ms vs first ${round(first)} ms`,
      );
      assert.ok(
        rssEnd - rssMid <= Math.max(20, rssMid * 0.1),
        `RSS without an upward trend: ${round(rssMid)} MiB at mid-run, ${round(rssEnd)} MiB at the end`,
      );
      assert.ok(maxSessions <= poolMax + 1, `connections bounded by the pool: ${maxSessions}`);
      assert.equal(exit.code, 0, `exit 0 after SIGTERM:\n${api.proc.tail()}`);
      assert.equal(left, 0, 'no connection left after the API exits');
      assert.equal(stored, acked.length, 'every acknowledged order is stored');
    } finally {
      await api.stop();
    }
  });
});
