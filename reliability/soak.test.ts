import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Api, fileDatabase, readyWithData } from './lib/fixture.js';
import { LoadGenerator, summarize } from './lib/http.js';
import { apiBackends } from './lib/pg.js';
import { Scenario } from './lib/report.js';
import { quantile, round, slope } from './lib/stats.js';
import { acknowledgedOrders, mixedTraffic, ordersStored, statusLine } from './lib/traffic.js';
import { sleep, waitFor, within } from './lib/wait.js';

const seconds = Number(process.env.RELIABILITY_SOAK_SECONDS ?? 60);
const rate = 100;
/**
 * V8 grows its heap, and with it RSS, through the first minute or so under load; a warm-up at the
 * same rate comes first so the judged window shows the steady state (its requests count too).
 */
const warmupSeconds = Number(process.env.RELIABILITY_SOAK_WARMUP_SECONDS ?? 30);
const poolMax = 10;

const scenario = new Scenario('soak', 'Soak: steady mixed load');
const db = fileDatabase('soak');

test(`soak for ${seconds} s at ${rate} req/s (reads and order writes): 0 errors, p99 stable, RSS flat, no leaked connections`, async () => {
  await scenario.run(async () => {
    const api = await Api.start({
      databaseUrl: db.url,
      env: { DB_POOL_MAX: String(poolMax), SHUTDOWN_DRAIN_DELAY: '0.5' },
    });
    try {
      const { t, products } = await readyWithData(api, db.url);
      const traffic = mixedTraffic(t, products, { orderShare: 0.25 });
      const warmup = new LoadGenerator({
        baseUrl: api.url,
        rate,
        next: traffic,
        keepBodies: ['order'],
        timeoutMs: 20_000,
      }).start();
      await sleep(warmupSeconds * 1000);
      await warmup.stop();
      const load = new LoadGenerator({
        baseUrl: api.url,
        rate,
        next: (n) => traffic(n + warmup.sent),
        keepBodies: ['order'],
        timeoutMs: 20_000,
      }).start();
      const rss: { x: number; y: number }[] = [];
      const sessions: number[] = [];
      const until = Date.now() + seconds * 1000;
      const heap: { x: number; y: number }[] = [];
      for (let i = 0; Date.now() < until && i < seconds * 2 + 10; i++) {
        rss.push({ x: load.now() / 1000, y: api.proc.rssMiB() });
        const used = await heapUsedMiB(api);
        if (used !== undefined) heap.push({ x: load.now() / 1000, y: used });
        if (i % 5 === 0) sessions.push((await apiBackends(db.url)).length);
        await sleep(1000);
      }
      await load.stop();

      const summary = summarize([...warmup.samples, ...load.samples]);
      const acked = acknowledgedOrders([...warmup.samples, ...load.samples]);
      const stored = await ordersStored(db.url, acked);
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
      // The lowest heap use in each tenth of the run: after a collection, what is really kept.
      const troughs = Array.from({ length: 10 }, (_, k) => {
        const part = heap.filter(
          (p) => p.x >= (k * seconds) / 10 && p.x < ((k + 1) * seconds) / 10,
        );
        return part.length ? Math.min(...part.map((p) => p.y)) : Number.NaN;
      });

      api.proc.kill('SIGTERM');
      const exit = await within(30_000, 'the API to exit after SIGTERM', api.proc.exited);
      const left = await waitFor(
        'the API sessions to close',
        async () => {
          const n = (await apiBackends(db.url)).length;
          return n === 0 ? [] : false;
        },
        { timeoutMs: 10_000 },
      ).then(
        () => 0,
        async () => (await apiBackends(db.url)).length,
      );

      scenario.trials = 1;
      scenario.requests = summary.requests;
      scenario.errors = summary.requests - summary.ok;
      scenario.leaks = left + (stored === acked.length ? 0 : acked.length - stored);
      scenario.note(
        `${warmupSeconds} s of warm-up, then ${seconds} s judged (RELIABILITY_SOAK_SECONDS to change), at ${rate} req/s: ${summary.requests} requests, ${statusLine(summary.byStatus)}; p50 ${round(summary.p50)} ms, p99 ${round(summary.p99)} ms`,
      );
      scenario.note(
        `p99 per third of the run (after a 10 % warm-up): ${thirds.map((p) => `${round(p)} ms`).join(', ')}`,
      );
      scenario.note(
        `RSS: ${round(rss[0]?.y ?? Number.NaN)} MiB after the warm-up, ${round(rssMid)} MiB at mid-run, ${round(rssEnd)} MiB at the end; slope over the second half ${round(rssSlope, 2)} MiB/min`,
      );
      scenario.note(
        `V8 heap in use (nodejs_heap_size_used_bytes from /metrics), lowest per tenth of the run: ${troughs.map((v) => round(v)).join(', ')} MiB`,
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
        rssEnd - rssMid <= Math.max(40, rssMid * 0.2),
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

/** nodejs_heap_size_used_bytes from the API's own /metrics, in MiB. */
async function heapUsedMiB(api: Api): Promise<number | undefined> {
  try {
    const res = await api.request({ method: 'GET', path: '/metrics' }, 5000);
    const m = /^nodejs_heap_size_used_bytes(?:\{[^}]*\})? ([\d.e+]+)$/m.exec(res.body);
    return m ? Number(m[1]) / 2 ** 20 : undefined;
  } catch {
    return undefined;
  }
}
