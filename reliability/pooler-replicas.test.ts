import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type PgBouncer, startPgBouncer } from '@order-food/platform/testing/pgbouncer';
import { onPath, requireTool } from '@order-food/platform/testing/require-tool';
import { Api, fileDatabase, menu, tokens } from './lib/fixture.js';
import { LoadGenerator, summarize } from './lib/http.js';
import { query } from './lib/pg.js';
import { Scenario } from './lib/report.js';
import { round } from './lib/stats.js';
import { acknowledgedOrders, mixedTraffic, ordersStored, statusLine } from './lib/traffic.js';
import { sleep } from './lib/wait.js';

const replicas = 10;
const poolMax = 10;
const seconds = Number(process.env.RELIABILITY_POOLER_SECONDS ?? 20);
const rate = 100;

const scenario = new Scenario(
  'pooler-replicas',
  `${replicas} API replicas through one PgBouncer (transaction mode)`,
);
const db = fileDatabase('pooler_replicas');

test(`${replicas} API replicas through one PgBouncer with default settings, ${rate} req/s of mixed traffic for ${seconds} s: no 5xx, every acknowledged order stored`, async (t) => {
  if (!requireTool(t, 'pgbouncer', 'pgbouncer', onPath('pgbouncer') !== undefined)) return;
  await scenario.run(async () => {
    const bouncer: PgBouncer = await startPgBouncer(db.url);
    const apis: Api[] = [];
    try {
      for (let i = 0; i < replicas; i++)
        apis.push(
          await Api.start({
            databaseUrl: bouncer.via(db.url),
            env: { DB_POOL_MAX: String(poolMax), SHUTDOWN_DRAIN_DELAY: '0.5' },
          }),
        );
      for (const api of apis) await api.waitReady(120_000);
      const tk = await tokens(db.url);
      const products = await menu(apis[0]!);
      const traffic = mixedTraffic(tk, products, { orderShare: 0.25 });
      // One generator per replica, as a Service spreads clients over the pods.
      const loads = apis.map((api, i) =>
        new LoadGenerator({
          baseUrl: api.url,
          rate: rate / replicas,
          next: (n) => traffic(n * replicas + i),
          keepBodies: ['order'],
          timeoutMs: 20_000,
        }).start(),
      );
      let peakBackends = 0;
      const until = Date.now() + seconds * 1000;
      while (Date.now() < until) {
        const rows = await query<{ n: number }>(
          db.url,
          'SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
        );
        peakBackends = Math.max(peakBackends, rows[0]?.n ?? 0);
        await sleep(1000);
      }
      await Promise.all(loads.map((l) => l.stop()));
      const samples = loads.flatMap((l) => l.samples);
      const summary = summarize(samples);
      const acked = acknowledgedOrders(samples);
      const stored = await ordersStored(db.url, acked);
      const serverErrors = samples.filter((s) => s.status === undefined || s.status >= 500).length;
      scenario.trials = 1;
      scenario.requests = summary.requests;
      scenario.errors = serverErrors;
      scenario.leaks = acked.length - stored;
      scenario.detail(
        [
          '| replicas | pool per replica | client connections possible | PostgreSQL backends at most (PgBouncer default_pool_size 20) | requests | answers | p50 (ms) | p99 (ms) | orders acknowledged / stored |',
          '|---:|---:|---:|---:|---:|---|---:|---:|---|',
          `| ${replicas} | ${poolMax} | ${replicas * poolMax} | ${peakBackends} | ${summary.requests} | ${statusLine(summary.byStatus)} | ${round(summary.p50)} | ${round(summary.p99)} | ${acked.length} / ${stored} |`,
        ].join('\n'),
      );
      scenario.note(
        'every replica connects through PgBouncer 1.18 with its default settings: no statement_timeout start-up parameter, no session state, no named prepared statements',
      );
      assert.equal(serverErrors, 0, `answers: ${statusLine(summary.byStatus)}`);
      assert.equal(stored, acked.length);
    } finally {
      await Promise.all(apis.map((a) => a.proc.stop()));
      await bouncer.stop();
    }
  });
});
