import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { Api, bearer, fileDatabase, type Product, readyWithData } from './lib/fixture.js';
import type { RequestSpec } from './lib/http.js';
import { apiBackends } from './lib/pg.js';
import { Scenario } from './lib/report.js';

const scenario = new Scenario('pool-churn', 'Pool churn: refused requests inside transactions');
const db = fileDatabase('pool_churn');
const poolMax = 4;

/** The pids of the API's pooled connections (the notification listener has its own). */
async function pooledPids(url: string): Promise<number[]> {
  return (await apiBackends(url))
    .filter((b) => !b.application_name.endsWith('-listen'))
    .map((b) => b.pid)
    .sort((a, b) => a - b);
}

test('100 refused cancels (409, 404) leave the pool with the same connections', async () => {
  await scenario.run(async () => {
    // Idle connections are kept for the whole scenario: a replaced one means a discarded one.
    const api = await Api.start({
      databaseUrl: db.url,
      env: { DB_POOL_MAX: String(poolMax), DB_IDLE_TIMEOUT: '3600' },
    });
    try {
      const { t, products } = await readyWithData(api, db.url);
      const product = products[0] as Product;
      const place = async (token: string): Promise<string> => {
        const r = await api.request({
          method: 'POST',
          path: '/api/orders',
          headers: { ...bearer(token), 'idempotency-key': randomUUID() },
          body: { items: [{ productId: product.id, quantity: 1 }] },
        });
        assert.equal(r.status, 201, r.body);
        return (JSON.parse(r.body) as { id: string }).id;
      };
      const cancelled = await place(t.alice);
      const cancel = (id: string, token: string): RequestSpec => ({
        method: 'POST',
        path: `/api/orders/${id}/cancel`,
        headers: bearer(token),
      });
      assert.equal((await api.request(cancel(cancelled, t.alice))).status, 200);
      const bobs = await place(t.bob);

      // Every connection of the pool open and idle.
      await Promise.all(
        Array.from({ length: poolMax * 3 }, () =>
          api.request({ method: 'GET', path: '/api/orders?limit=5', headers: bearer(t.alice) }),
        ),
      );
      const before = await pooledPids(db.url);
      assert.ok(before.length > 0 && before.length <= poolMax, `pooled connections: ${before}`);

      const refusals: [string, RequestSpec, number][] = [
        ['cancel an order already cancelled', cancel(cancelled, t.alice), 409],
        ["cancel another customer's order", cancel(bobs, t.alice), 404],
        ['cancel an order that does not exist', cancel(randomUUID(), t.alice), 404],
      ];
      const counts = new Map<string, number>();
      const wrong: string[] = [];
      let sent = 0;
      while (sent < 100) {
        const batch = Array.from({ length: Math.min(poolMax, 100 - sent) }, (_, i) => {
          const [what, spec, status] = refusals[(sent + i) % refusals.length]!;
          return api.request(spec).then((r) => {
            counts.set(what, (counts.get(what) ?? 0) + 1);
            if (r.status !== status) wrong.push(`${what}: ${r.status}, expected ${status}`);
          });
        });
        sent += batch.length;
        await Promise.all(batch);
      }
      const after = await pooledPids(db.url);
      const replaced = before.filter((pid) => !after.includes(pid)).length;

      scenario.trials = sent;
      scenario.requests = sent;
      scenario.errors = wrong.length;
      scenario.leaks = replaced;
      scenario.note(
        `API with DB_POOL_MAX=${poolMax}; ${before.length} pooled connections open before, backend pids ${before.join(', ')}`,
      );
      scenario.note(
        `${sent} cancels refused inside their transaction, ${poolMax} at a time: ${[...counts].map(([w, n]) => `${n} × ${w}`).join(', ')}`,
      );
      scenario.note(
        `after: backend pids ${after.join(', ')}; ${replaced} connection(s) discarded and replaced (a refusal rolls back and keeps its connection)`,
      );
      assert.deepEqual(wrong, [], 'every cancel refused as expected');
      assert.deepEqual(after, before, 'the same connections, none discarded');
    } finally {
      await api.stop();
    }
  });
});
