/**
 * Two API replicas on one database, one direct and one through a real PgBouncer (transaction mode,
 * default settings): the API starts through the pooler, and a menu change made through either
 * replica, or in the database with no notification at all, is served by both.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { freePort } from '@order-food/platform/testing/free-port';
import {
  type PgBouncer,
  skipWithoutPgBouncer,
  startPgBouncer,
} from '@order-food/platform/testing/pgbouncer';
import { startProgram } from '@order-food/platform/testing/run-program';
import {
  postgresAvailable,
  sql,
  type TestDatabase,
} from '@order-food/platform/testing/test-database';
import { createTokenService } from '../src/token.js';
import { type Fixtures, prepareDatabase } from './helpers.js';

const skip =
  skipWithoutPgBouncer() || (!(await postgresAvailable()) && 'PgBouncer needs PostgreSQL');
const jwtSecret = 'pooler-test-secret-0123456789abcdef0123456789';

interface Api {
  name: string;
  child: ChildProcess;
  url: string;
  output: () => string;
}

async function startApi(name: string, databaseUrl: string): Promise<Api> {
  const port = await freePort();
  const child = startProgram('order-food', [], {
    env: {
      DATABASE_URL: databaseUrl,
      PORT: String(port),
      HOST: '127.0.0.1',
      ENVIRONMENT: 'development',
      JWT_SECRET: jwtSecret,
      READY_CACHE: '0',
      SHUTDOWN_DRAIN_DELAY: '0',
    },
  });
  let out = '';
  child.stdout?.on('data', (c: Buffer) => {
    out += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => {
    out += c.toString();
  });
  const guard = setTimeout(() => child.kill('SIGKILL'), 300_000);
  guard.unref();
  child.once('exit', () => clearTimeout(guard));
  return { name, child, url: `http://127.0.0.1:${port}`, output: () => out };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  // A bound for a broken build, not a measurement.
  const deadline = Date.now() + 60_000;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function getJson(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(url);
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

describe('API replicas through PgBouncer and direct', { skip }, () => {
  let tdb: TestDatabase;
  let fixtures: Fixtures;
  let bouncer: PgBouncer;
  let direct: Api;
  let pooled: Api;
  let admin: string;

  before(async () => {
    ({ tdb, fixtures } = await prepareDatabase('api_pooler'));
    bouncer = await startPgBouncer(tdb.url);
    direct = await startApi('direct', tdb.url);
    pooled = await startApi('pooled', bouncer.via(tdb.url));
    for (const api of [direct, pooled]) {
      await until(`${api.name} to be ready`, async () =>
        (await fetch(`${api.url}/ready`)).status === 200 ? true : undefined,
      ).catch((err: Error) => {
        throw new Error(`${err.message}\n${api.output()}`);
      });
    }
    admin = `Bearer ${createTokenService(jwtSecret, 3600).sign({ userId: fixtures.admin, role: 'admin' })}`;
  });
  after(async () => {
    for (const api of [direct, pooled]) {
      if (!api || api.child.exitCode !== null) continue;
      const gone = new Promise((resolve) => api.child.once('exit', resolve));
      api.child.kill('SIGKILL');
      await gone;
    }
    await bouncer?.stop();
    await tdb?.drop();
  });

  const product = (api: Api) => `${api.url}/api/products/${fixtures.products.soda.id}`;
  const menu = (api: Api) => `${api.url}/api/products?category=test`;
  /** Reads until both the product and the menu page show price on both replicas. */
  const servedEverywhere = async (price: number) => {
    for (const api of [direct, pooled]) {
      await until(`${api.name} to serve ${price}`, async () => {
        const one = await getJson(product(api));
        const page = await getJson(menu(api));
        const listed = (page.body.items as Array<{ id: string; priceCents: number }>).find(
          (p) => p.id === fixtures.products.soda.id,
        );
        return one.body.priceCents === price && listed?.priceCents === price ? true : undefined;
      });
    }
  };
  const warm = async () => {
    for (const api of [direct, pooled])
      for (let i = 0; i < 2; i++) {
        assert.equal((await getJson(product(api))).status, 200);
        assert.equal((await getJson(menu(api))).status, 200);
      }
  };

  test('the API starts and serves through a default PgBouncer, without session state', async () => {
    const r = await getJson(menu(pooled));
    assert.equal(r.status, 200);
    assert.doesNotMatch(pooled.output(), /unsupported startup parameter/);
    assert.doesNotMatch(pooled.output(), /DeprecationWarning/);
    // Statements through the pooler still run under a statement_timeout in transactions.
    const changed = await fetch(product(pooled), {
      method: 'PATCH',
      headers: { authorization: admin, 'content-type': 'application/json' },
      body: JSON.stringify({ priceCents: 260 }),
    });
    assert.equal(changed.status, 200);
    await servedEverywhere(260);
  });

  for (const via of ['direct', 'pooled'] as const) {
    test(`a price change through the ${via} replica is served by both`, async () => {
      await warm();
      const price = via === 'direct' ? 111 : 222;
      const changed = await fetch(product(via === 'direct' ? direct : pooled), {
        method: 'PATCH',
        headers: { authorization: admin, 'content-type': 'application/json' },
        body: JSON.stringify({ priceCents: price }),
      });
      assert.equal(changed.status, 200);
      await servedEverywhere(price);
    });
  }

  test('with notifications cut, neither replica keeps serving the old page', async () => {
    await warm();
    // The direct replica's notification connection goes away, and the change announces nothing.
    await sql(
      tdb,
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'order-food-listen' AND datname = current_database()",
    );
    await sql(tdb, 'UPDATE products SET price_cents = 333 WHERE id = $1', [
      fixtures.products.soda.id,
    ]);
    await servedEverywhere(333);
  });

  test('while the database cannot be reached through the pooler, /api/* answer 503, never 500', async () => {
    await warm();
    await bouncer.stop();
    const statuses = new Set<number>();
    await until('503 from the pooled replica', async () => {
      const { status } = await getJson(product(pooled));
      statuses.add(status);
      return status === 503 ? true : undefined;
    });
    assert.ok(!statuses.has(500), `statuses seen: ${[...statuses].join(', ')}`);
  });
});
