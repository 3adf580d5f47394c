import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sql, type TestDatabase } from '@order-food/platform/testing/test-database';
import { appOfFile, assertProblem, call, type Fixtures, type TestApp } from './helpers.js';

let tdb: TestDatabase;
let fixtures: Fixtures;
let app: TestApp;
appOfFile('api_orders_idempotency', (opened) => ({ tdb, fixtures, app } = opened));

describe('idempotency keys', () => {
  const body = () => ({ items: [{ productId: fixtures.products.burger.id, quantity: 3 }] });

  test('10 parallel POSTs with one key place exactly one order; a replay answers the same status and body', async () => {
    const key = 'parallel-key-1';
    const answers = await Promise.all(
      Array.from({ length: 10 }, () =>
        call(app.server, 'POST', '/api/orders', {
          headers: { ...app.auth.alice, 'idempotency-key': key },
          body: body(),
        }),
      ),
    );
    const created = answers.filter((a) => a.status === 201);
    assert.ok(created.length >= 1, 'one request placed the order');
    for (const a of answers)
      assert.ok([201, 409].includes(a.status), `status ${a.status}: ${a.text}`);
    assert.equal(new Set(created.map((a) => a.body.id)).size, 1, 'every 201 names the same order');
    const [row] = await sql<{ n: number }>(
      tdb,
      `SELECT count(*)::int AS n FROM orders o JOIN idempotency_keys k ON k.order_id = o.id
       WHERE k.key = $1`,
      [key],
    );
    assert.equal(row!.n, 1);
    const [orders] = await sql<{ n: number }>(
      tdb,
      "SELECT count(*)::int AS n FROM orders WHERE user_id = $1 AND total_cents = 3750 AND created_at > now() - interval '1 minute'",
      [fixtures.alice],
    );
    assert.equal(orders!.n, 1);

    const first = created[0]!;
    const replay = await call(app.server, 'POST', '/api/orders', {
      headers: { ...app.auth.alice, 'idempotency-key': key },
      body: body(),
    });
    assert.equal(replay.status, first.status);
    assert.equal(replay.text, first.text);
    assert.equal(replay.headers['idempotent-replayed'], 'true');
    const metrics = await app.metrics.registry.getSingleMetricAsString(
      'orderfood_idempotent_replays_total',
    );
    assert.match(metrics, /orderfood_idempotent_replays_total \d+/);
  });

  test('the same key with another body is 422; keys are per user', async () => {
    const key = 'per-user-key';
    const first = await call(app.server, 'POST', '/api/orders', {
      headers: { ...app.auth.alice, 'idempotency-key': key },
      body: body(),
    });
    assert.equal(first.status, 201);
    const other = await call(app.server, 'POST', '/api/orders', {
      headers: { ...app.auth.alice, 'idempotency-key': key },
      body: { items: [{ productId: fixtures.products.burger.id, quantity: 4 }] },
    });
    assertProblem(other, 422);
    const bobs = await call(app.server, 'POST', '/api/orders', {
      headers: { ...app.auth.bob, 'idempotency-key': key },
      body: body(),
    });
    assert.equal(bobs.status, 201);
    assert.notEqual(bobs.body.id, first.body.id);
    assert.equal(bobs.body.userId, fixtures.bob);
  });

  test('while the first request is in flight a repeat is 409; a claim left past its lock is taken over', async () => {
    const key = 'in-flight-key';
    const hashOf = async () => {
      // Let a real request compute the hash: claim with it, then mark the row as still in flight.
      const r = await call(app.server, 'POST', '/api/orders', {
        headers: { ...app.auth.bob, 'idempotency-key': key },
        body: body(),
      });
      assert.equal(r.status, 201);
      await sql(tdb, 'DELETE FROM orders WHERE id = $1', [r.body.id]);
    };
    await hashOf();
    await sql(
      tdb,
      `UPDATE idempotency_keys SET state = 'in_flight', response_status = NULL, response_body = NULL,
         order_id = NULL, completed_at = NULL, locked_until = now() + interval '1 minute'
       WHERE key = $1`,
      [key],
    );
    const busy = await call(app.server, 'POST', '/api/orders', {
      headers: { ...app.auth.bob, 'idempotency-key': key },
      body: body(),
    });
    assertProblem(busy, 409);
    assert.equal(busy.headers['retry-after'], '1');

    // The holder died: its lock expired, so the next request takes the key over and completes it.
    await sql(
      tdb,
      "UPDATE idempotency_keys SET locked_until = now() - interval '1 second' WHERE key = $1",
      [key],
    );
    const taken = await call(app.server, 'POST', '/api/orders', {
      headers: { ...app.auth.bob, 'idempotency-key': key },
      body: body(),
    });
    assert.equal(taken.status, 201, taken.text);
    const replay = await call(app.server, 'POST', '/api/orders', {
      headers: { ...app.auth.bob, 'idempotency-key': key },
      body: body(),
    });
    assert.equal(replay.text, taken.text);
  });

  test('a refused order releases its key, so the client can retry it after fixing the cause', async () => {
    const key = 'released-key';
    const items = [{ productId: fixtures.products.retired.id, quantity: 1 }];
    const refused = await call(app.server, 'POST', '/api/orders', {
      headers: { ...app.auth.alice, 'idempotency-key': key },
      body: { items },
    });
    assertProblem(refused, 422);
    assert.equal(
      (await sql(tdb, 'SELECT 1 FROM idempotency_keys WHERE key = $1', [key])).length,
      0,
    );
    await sql(tdb, 'UPDATE products SET available = true WHERE id = $1', [
      fixtures.products.retired.id,
    ]);
    const placed = await call(app.server, 'POST', '/api/orders', {
      headers: { ...app.auth.alice, 'idempotency-key': key },
      body: { items },
    });
    assert.equal(placed.status, 201, placed.text);
    await sql(tdb, 'UPDATE products SET available = false WHERE id = $1', [
      fixtures.products.retired.id,
    ]);
  });

  test('an empty or overlong key is 400', async () => {
    for (const key of ['', 'k'.repeat(256)]) {
      assertProblem(
        await call(app.server, 'POST', '/api/orders', {
          headers: { ...app.auth.alice, 'idempotency-key': key },
          body: body(),
        }),
        400,
      );
    }
  });
});
