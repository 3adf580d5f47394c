import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import {
  Api,
  bearer,
  fileDatabase,
  type Product,
  readyWithData,
  type Tokens,
} from './lib/fixture.js';
import type { RequestSpec } from './lib/http.js';
import { apiBackends, viaPort } from './lib/pg.js';
import { Scenario } from './lib/report.js';
import { TcpProxy } from './lib/tcp-proxy.js';
import { sleep, waitFor } from './lib/wait.js';

const latencyMs = 2000;
/** The API's timeouts for this run (seconds). */
const timeouts = { DB_QUERY_TIMEOUT: 3, DB_CONNECT_TIMEOUT: 2, DB_STATEMENT_TIMEOUT: 3 };
/** The longest a request may take under these faults: one connect and one query, plus slack. */
const boundMs = (timeouts.DB_CONNECT_TIMEOUT + timeouts.DB_QUERY_TIMEOUT + 4) * 1000;
const poolMax = 10;

const scenario = new Scenario('network-faults', 'Network faults between the API and PostgreSQL');
const db = fileDatabase('netfault');

interface Outcome {
  phase: string;
  kind: string;
  status: number | string;
  ms: number;
}

/** Requests that need the database (the menu list is served from memory, so it is not among them). */
function dbRequests(t: Tokens, products: readonly Product[], n: number): RequestSpec[] {
  const out: RequestSpec[] = [];
  for (let i = 0; i < n; i++) {
    const token = i % 2 ? t.alice : t.bob;
    if (i % 3 === 0)
      out.push({
        kind: 'POST /api/orders',
        method: 'POST',
        path: '/api/orders',
        headers: { ...bearer(token), 'idempotency-key': randomUUID() },
        body: {
          items: [{ productId: (products[i % products.length] as Product).id, quantity: 1 }],
        },
      });
    else if (i % 3 === 1)
      out.push({
        kind: 'GET /api/orders',
        method: 'GET',
        path: '/api/orders?limit=5',
        headers: bearer(token),
      });
    else
      out.push({
        kind: 'GET /api/users/me',
        method: 'GET',
        path: '/api/users/me',
        headers: bearer(token),
      });
  }
  return out;
}

test(`${latencyMs} ms of latency, then a cut mid-query: requests end within the timeouts with 503 or 504, never hang; the pool recovers`, async () => {
  await scenario.run(async () => {
    const target = new URL(db.url);
    const proxy = await new TcpProxy(target.hostname, Number(target.port || 5432)).start();
    const api = await Api.start({
      databaseUrl: viaPort(db.url, proxy.port),
      env: {
        DB_POOL_MAX: String(poolMax),
        ...Object.fromEntries(Object.entries(timeouts).map(([k, v]) => [k, String(v)])),
      },
    });
    const outcomes: Outcome[] = [];
    const fire = async (phase: string, specs: RequestSpec[]) => {
      await Promise.all(
        specs.map(async (spec) => {
          const started = performance.now();
          let status: number | string;
          try {
            status = (await api.request(spec, boundMs)).status;
          } catch (err) {
            status = (err as { code?: string }).code ?? (err as Error).message;
          }
          outcomes.push({
            phase,
            kind: spec.kind ?? spec.path,
            status,
            ms: performance.now() - started,
          });
        }),
      );
    };
    try {
      const { t, products } = await readyWithData(api, db.url);

      await fire('baseline', dbRequests(t, products, 12));

      proxy.setLatency(latencyMs);
      await fire(`${latencyMs} ms latency each way`, dbRequests(t, products, 24));

      // Queries in flight on slow connections, then every connection cut at once.
      const cutPhase = 'connections cut mid-query';
      const inFlight = fire(cutPhase, dbRequests(t, products, 24));
      await sleep(1000);
      const cut = proxy.cut();
      await inFlight;
      proxy.setLatency(0);
      scenario.faults = 2;

      const recoveredAt = performance.now();
      await waitFor(
        'requests to succeed again',
        async () =>
          (
            await api.request(
              { method: 'GET', path: '/api/users/me', headers: bearer(t.alice) },
              boundMs,
            )
          ).status === 200,
        { timeoutMs: 10_000, intervalMs: 200 },
      );
      const recoverySeconds = (performance.now() - recoveredAt) / 1000;
      await fire('after the faults', dbRequests(t, products, 30));
      const ready = await api.readyStatus();
      const sessions = await apiBackends(db.url);

      const phases = [...new Set(outcomes.map((o) => o.phase))];
      scenario.requests = outcomes.length;
      scenario.trials = 1;
      scenario.note(
        `API timeouts: ${Object.entries(timeouts)
          .map(([k, v]) => `${k}=${v}s`)
          .join(
            ', ',
          )}; a request may take at most ${boundMs / 1000} s here (connect + query + slack); ${cut} connections cut`,
      );
      scenario.note(
        `requests succeed again ${recoverySeconds.toFixed(1)} s after the faults end; /ready ${ready}; ${sessions.length} API sessions in pg_stat_activity afterwards (pool max ${poolMax} + 1 listener)`,
      );
      scenario.detail(
        [
          '| phase | requests | statuses | slowest (s) |',
          '|---|---:|---|---:|',
          ...phases.map((p) => {
            const os = outcomes.filter((o) => o.phase === p);
            const counts: Record<string, number> = {};
            for (const o of os) counts[String(o.status)] = (counts[String(o.status)] ?? 0) + 1;
            return `| ${p} | ${os.length} | ${Object.entries(counts)
              .map(([k, v]) => `${k}: ${v}`)
              .join(', ')} | ${(Math.max(...os.map((o) => o.ms)) / 1000).toFixed(1)} |`;
          }),
        ].join('\n'),
      );

      const ok = (o: Outcome) => typeof o.status === 'number' && o.status < 400;
      const faulty = outcomes.filter(
        (o) => o.phase !== 'baseline' && o.phase !== 'after the faults',
      );
      const wrong = faulty.filter((o) => !ok(o) && o.status !== 503 && o.status !== 504);
      scenario.errors =
        wrong.length +
        outcomes.filter((o) => (o.phase === 'baseline' || o.phase === 'after the faults') && !ok(o))
          .length;
      assert.ok(
        outcomes.filter((o) => o.phase === 'baseline').every(ok),
        'baseline requests succeed',
      );
      assert.deepEqual(
        wrong.map((o) => `${o.phase}: ${o.kind} → ${o.status} after ${Math.round(o.ms)} ms`),
        [],
        'under faults every request ends with success, 503 or 504, within the bound (none hangs)',
      );
      assert.ok(
        outcomes
          .filter((o) => o.phase === cutPhase)
          .some((o) => o.status === 503 || o.status === 504),
        'the cut fails the requests that were in flight',
      );
      assert.ok(
        outcomes.filter((o) => o.phase === 'after the faults').every(ok),
        'the pool recovers: every request succeeds after the faults',
      );
      assert.equal(ready, 200, '/ready 200 after the faults');
      assert.ok(
        sessions.length <= poolMax + 1,
        `no connection leaked: ${sessions.length} sessions`,
      );
      assert.ok(api.proc.running, 'the API kept running');
    } finally {
      await api.stop();
      await proxy.close();
    }
  });
});
