import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Api, fileDatabase, readyWithData } from './lib/fixture.js';
import { LoadGenerator, summarize } from './lib/http.js';
import { Scenario } from './lib/report.js';
import { acknowledgedOrders, mixedTraffic, ordersStored, statusLine } from './lib/traffic.js';
import { sleep, within } from './lib/wait.js';

const rate = 200;
const drainSeconds = 5;
/** Load stops this long after SIGTERM, well inside the drain, so a backlog can still be served. */
const sendSeconds = 2.5;
const shutdownTimeoutSeconds = 10;

const scenario = new Scenario('graceful-shutdown', 'Graceful shutdown under load (SIGTERM)');
const db = fileDatabase('shutdown');

test(`SIGTERM at ${rate} req/s: no failed request during the drain, /ready 503 at once, exit 0 within the grace period`, async () => {
  await scenario.run(async () => {
    const api = await Api.start({
      databaseUrl: db.url,
      env: {
        SHUTDOWN_DRAIN_DELAY: String(drainSeconds),
        SHUTDOWN_TIMEOUT: String(shutdownTimeoutSeconds),
      },
    });
    try {
      const { t, products } = await readyWithData(api, db.url);
      const load = new LoadGenerator({
        baseUrl: api.url,
        rate,
        next: mixedTraffic(t, products),
        keepBodies: ['order'],
        timeoutMs: 20_000,
      }).start();
      await sleep(5000);
      const signalledAt = load.now();
      api.proc.kill('SIGTERM');
      // /ready turns 503 at once while requests are still served.
      // (A probe sent in the same instant may be served before the signal is handled.)
      const readyCheck = sleep(250).then(() => api.readyStatus(4000));
      // Stop sending well before the drain delay ends: requests after it meet a closed port, which
      // is how a pod that has left its Service's endpoints ends; the margin lets a backlog drain.
      await sleep(signalledAt + sendSeconds * 1000 - load.now());
      await load.stop();
      const ready = await readyCheck;
      const exit = await within(
        (drainSeconds + shutdownTimeoutSeconds + 5) * 1000,
        'the API to exit after SIGTERM',
        api.proc.exited,
      );
      const exitedAfterMs = load.now() - signalledAt;

      const summary = summarize(load.samples);
      const before = summarize(load.samples.filter((s) => s.start < signalledAt));
      scenario.note(
        `before SIGTERM: ${before.requests} requests, p50 ${before.p50.toFixed(1)} ms, p99 ${before.p99.toFixed(1)} ms`,
      );
      const during = summarize(load.samples.filter((s) => s.start >= signalledAt));
      const acked = acknowledgedOrders(load.samples);
      const stored = await ordersStored(db.url, acked);
      scenario.trials = 1;
      scenario.faults = 1;
      scenario.requests = summary.requests;
      scenario.errors = summary.requests - summary.ok;
      scenario.note(
        `${summary.requests} requests at ${rate}/s, ${during.requests} of them sent in the first ${sendSeconds} s after SIGTERM (during the ${drainSeconds} s drain); statuses ${statusLine(summary.byStatus)}`,
      );
      scenario.note(
        `/ready 0.25 s after SIGTERM: ${ready}; exit ${exit.code ?? exit.signal} ${(exitedAfterMs / 1000).toFixed(1)} s after SIGTERM (drain ${drainSeconds} s + close, SHUTDOWN_TIMEOUT ${shutdownTimeoutSeconds} s); ${acked.length} orders acknowledged, ${stored} stored`,
      );
      const failed = load.samples.filter((s) => s.status === undefined || s.status >= 400);
      if (failed.length > 0) {
        const at = (x: number) => ((x - signalledAt) / 1000).toFixed(2);
        const first = failed.reduce((a, b) => (a.start < b.start ? a : b));
        const last = failed.reduce((a, b) => (a.start > b.start ? a : b));
        scenario.note(
          `failed requests were sent between ${at(first.start)} s and ${at(last.start)} s after SIGTERM (ended ${at(first.end)} … ${at(last.end)} s); first: ${first.status ?? first.error} ${first.kind} ${first.body?.slice(0, 300) ?? ''}`,
        );
      }
      assert.equal(ready, 503, '/ready answers 503 as soon as shutdown begins');
      assert.equal(
        summary.ok,
        summary.requests,
        `every request succeeded: ${statusLine(summary.byStatus)}`,
      );
      assert.ok(during.requests >= rate * (sendSeconds - 1), 'requests were sent during the drain');
      assert.equal(exit.code, 0, `exit 0 after SIGTERM:\n${api.proc.tail()}`);
      assert.equal(stored, acked.length, 'every acknowledged order is stored');
    } finally {
      await api.stop();
    }
  });
});
