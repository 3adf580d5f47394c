import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { freePort } from '@order-food/platform/testing/free-port';
import { OtlpReceiver } from '@order-food/platform/testing/otlp-receiver';
import { runProgram, startProgram } from '@order-food/platform/testing/run-program';
import { sql, type TestDatabase } from '@order-food/platform/testing/test-database';
import { type Fixtures, prepareDatabase } from './helpers.js';

let tdb: TestDatabase;
let fixtures: Fixtures;

before(async () => {
  ({ tdb, fixtures } = await prepareDatabase('api_process'));
});

after(async () => {
  await tdb?.drop();
});

interface Api {
  child: ChildProcess;
  url: string;
  output: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

async function startApi(env: Record<string, string> = {}): Promise<Api> {
  const port = await freePort();
  const child = startProgram('order-food', [], {
    env: {
      DATABASE_URL: tdb.url,
      ENVIRONMENT: 'development',
      PORT: String(port),
      HOST: '127.0.0.1',
      READY_CACHE: '0',
      ...env,
    },
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (c: Buffer) => {
    out += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => {
    err += c.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  // Bound every process's life: a test that fails must not leave a server behind.
  const guard = setTimeout(() => child.kill('SIGKILL'), 120_000);
  guard.unref();
  void exited.then(() => clearTimeout(guard));
  return { child, url: `http://127.0.0.1:${port}`, output: () => out, stderr: () => err, exited };
}

async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const status = async (url: string) => (await fetch(url)).status;
const waitReady = (api: Api) =>
  until('the API to be ready', async () =>
    (await status(`${api.url}/ready`)) === 200 ? true : undefined,
  );

async function tokenFor(email: string): Promise<string> {
  const r = await runProgram('order-food/src/token-cli.ts', ['--email', email], {
    env: { DATABASE_URL: tdb.url, ENVIRONMENT: 'development' },
  });
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  return lines[lines.length - 1]!;
}

describe('token CLI', () => {
  test('prints a working token on its last line; an unknown email exits 1 naming it; no email exits 2', async () => {
    const token = await tokenFor('alice@example.com');
    assert.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/);
    const unknown = await runProgram(
      'order-food/src/token-cli.ts',
      ['--email', 'nobody@example.com'],
      {
        env: { DATABASE_URL: tdb.url, ENVIRONMENT: 'development' },
      },
    );
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /nobody@example\.com/);
    const usage = await runProgram('order-food/src/token-cli.ts', [], {
      env: { DATABASE_URL: tdb.url, ENVIRONMENT: 'development' },
    });
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /--email/);
  });
});

describe('the API process', () => {
  test('SIGTERM: /ready turns 503 at once, requests in flight all complete, exit 0; start and order spans reach the collector', async () => {
    const receiver = await new OtlpReceiver().start();
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const api = await startApi({
      ...receiver.env(),
      OTEL_SDK_DISABLED: 'false',
      TRACEPARENT: `00-${traceId}-00f067aa0ba902b7-01`,
      SHUTDOWN_DRAIN_DELAY: '1',
      DB_STATEMENT_TIMEOUT: '60',
    });
    try {
      await waitReady(api);
      const token = await tokenFor('alice@example.com');
      const lock = tdb.admin();
      await lock.connect();
      // Hold the product row: orders for it wait on FOR SHARE, so they are in flight at SIGTERM.
      await lock.query('BEGIN');
      await lock.query('SELECT 1 FROM products WHERE id = $1 FOR UPDATE', [
        fixtures.products.burger.id,
      ]);
      const inFlight = Array.from({ length: 5 }, () =>
        fetch(`${api.url}/api/orders`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({
            items: [{ productId: fixtures.products.burger.id, quantity: 1 }],
          }),
        }),
      );
      // Asked on a connection of its own: inside the lock's transaction the view is a snapshot.
      await until('five orders waiting on the lock', async () => {
        const [row] = await sql<{ n: number }>(
          tdb,
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
        );
        return row!.n >= 5 ? true : undefined;
      });
      api.child.kill('SIGTERM');
      await until('/ready to answer 503', async () =>
        (await status(`${api.url}/ready`)) === 503 ? true : undefined,
      );
      await until('the drain delay to pass', async () =>
        api.output().includes('shutting down') ? true : undefined,
      );
      await new Promise((r) => setTimeout(r, 1500));
      await lock.query('ROLLBACK');
      const answers = await Promise.all(inFlight);
      assert.deepEqual(
        answers.map((a) => a.status),
        [201, 201, 201, 201, 201],
      );
      const exit = await api.exited;
      assert.deepEqual(
        exit,
        { code: 0, signal: null },
        `${api.stderr()}\n${api.output().slice(-3000)}`,
      );
      assert.match(api.output(), /shut down cleanly/);

      await receiver.waitFor(
        (spans) =>
          spans.some((s) => s.name === 'order-food start') &&
          spans.some((s) => s.name === 'order.place'),
      );
      const start = receiver.spans.find((s) => s.name === 'order-food start')!;
      assert.equal(start.traceId, traceId);
      assert.equal(start.serviceName, 'order-food');
      assert.notEqual(start.status.code, 2);
      const place = receiver.spans.find((s) => s.name === 'order.place')!;
      assert.equal(place.attributes['order.item_count'], 1);
      assert.equal(place.attributes['order.total_cents'], 1250);
    } finally {
      api.child.kill('SIGKILL');
      await receiver.stop();
    }
  });

  test('a second signal during the drain exits at once', async () => {
    const api = await startApi({ SHUTDOWN_DRAIN_DELAY: '60' });
    try {
      await waitReady(api);
      api.child.kill('SIGTERM');
      await until('shutdown to begin', async () =>
        api.output().includes('shutting down') ? true : undefined,
      );
      assert.equal(await status(`${api.url}/health`), 200, 'still serving during the drain');
      api.child.kill('SIGTERM');
      const exit = await Promise.race([
        api.exited,
        new Promise<undefined>((r) => setTimeout(() => r(undefined), 15_000)),
      ]);
      assert.ok(exit, 'exited on the second signal, long before the drain delay');
      assert.notEqual(exit.code, 0);
    } finally {
      api.child.kill('SIGKILL');
    }
  });

  test('without a database: /health 200 and /ready 503 while waiting, then exit 1 with one clear line', async () => {
    const api = await startApi({
      DATABASE_URL: 'postgres://postgres@127.0.0.1:1/nowhere',
      DB_WAIT_TIMEOUT: '4',
    });
    try {
      await until('/health', async () =>
        (await status(`${api.url}/health`)) === 200 ? true : undefined,
      );
      const ready = await fetch(`${api.url}/ready`);
      assert.equal(ready.status, 503);
      assert.match(((await ready.json()) as { detail: string }).detail, /waiting for the database/);
      const exit = await api.exited;
      assert.equal(exit.code, 1);
      assert.match(api.stderr(), /order-food: error: .*DB_WAIT_TIMEOUT/);
    } finally {
      api.child.kill('SIGKILL');
    }
  });

  test('without JWT_SECRET only ENVIRONMENT=development starts: anything else exits 2 naming it', async () => {
    const environments = [undefined, 'production', 'kubernetes', 'compose', 'Development', ''];
    const results = await Promise.all(
      environments.map((environment) =>
        runProgram('order-food', [], {
          env: {
            DATABASE_URL: tdb.url,
            ENVIRONMENT: environment,
            JWT_SECRET: undefined,
            JWT_SECRET_FILE: undefined,
          },
          timeoutMs: 120_000,
        }),
      ),
    );
    for (const [i, r] of results.entries()) {
      const explain = `ENVIRONMENT=${environments[i]}: exit ${r.code}\n${r.stderr}`;
      assert.equal(r.code, 2, explain);
      const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
      assert.equal(lines.length, 1, explain);
      assert.match(lines[0]!, /^order-food: error: JWT_SECRET \(or JWT_SECRET_FILE\) is required/);
    }
  });
});

describe('menu cache across replicas', () => {
  test('a product change through one API process reaches the cached menu of another', async () => {
    const [a, b] = await Promise.all([startApi(), startApi()]);
    try {
      await Promise.all([waitReady(a), waitReady(b)]);
      const admin = await tokenFor('admin@example.com');
      const id = fixtures.products.fries.id;
      const price = async (api: Api) =>
        ((await (await fetch(`${api.url}/api/products/${id}`)).json()) as { priceCents: number })
          .priceCents;
      const listed = async (api: Api) =>
        (
          (await (await fetch(`${api.url}/api/products?category=test&limit=10`)).json()) as {
            items: { id: string; priceCents: number }[];
          }
        ).items.find((p) => p.id === id)?.priceCents;
      // Fill b's cache.
      assert.equal(await price(b), 399);
      assert.equal(await price(b), 399);
      assert.equal(await listed(b), 399);
      const patched = await fetch(`${a.url}/api/products/${id}`, {
        method: 'PATCH',
        headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
        body: JSON.stringify({ priceCents: 425 }),
      });
      assert.equal(patched.status, 200);
      await until(
        'b to see the new price',
        async () => ((await price(b)) === 425 ? true : undefined),
        10_000,
      );
      assert.equal(await listed(b), 425);
    } finally {
      a.child.kill('SIGTERM');
      b.child.kill('SIGTERM');
      await Promise.all([a.exited, b.exited]);
    }
  });
});
