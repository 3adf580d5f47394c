import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { parseDatabaseTarget } from '@order-food/platform/config';
import { createDatabase, type Database } from '@order-food/platform/database';
import { createLogger } from '@order-food/platform/logger';
import type { TestDatabase } from '@order-food/platform/testing/test-database';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '../src/app.js';
import { parseApiConfig } from '../src/config.js';
import { Metrics } from '../src/metrics.js';
import { assertProblem, call, type Fixtures, prepareDatabase } from './helpers.js';

/**
 * A TCP proxy in front of PostgreSQL that can cut every connection and refuse new ones, as a
 * database restart or a network outage does.
 */
class Outage {
  #server: Server | undefined;
  #sockets = new Set<Socket>();
  port = 0;
  constructor(
    readonly targetHost: string,
    readonly targetPort: number,
  ) {}

  async up(): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(this.targetPort, this.targetHost);
      for (const s of [client, upstream]) {
        this.#sockets.add(s);
        s.on('close', () => this.#sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as { port: number }).port;
    this.#server = server;
  }

  async down(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    for (const s of this.#sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

let tdb: TestDatabase;
let fixtures: Fixtures;
let outage: Outage;
let db: Database;
let server: FastifyInstance;

before(async () => {
  ({ tdb, fixtures } = await prepareDatabase('api_outage'));
  const real = new URL(tdb.url);
  outage = new Outage(real.hostname, Number(real.port || 5432));
  await outage.up();
  const viaProxy = new URL(tdb.url);
  viaProxy.port = String(outage.port);
  viaProxy.hostname = '127.0.0.1';
  const config = parseApiConfig({
    ENVIRONMENT: 'development',
    DATABASE_URL: viaProxy.toString(),
    READY_CACHE: '0',
  });
  const logger = createLogger('order-food-test', 'silent');
  db = await createDatabase(parseDatabaseTarget({ DATABASE_URL: viaProxy.toString() }), {
    logger,
    applicationName: 'order-food-test',
    max: 4,
    connectTimeoutMs: 1000,
  });
  server = await buildServer({
    db,
    metrics: new Metrics({ version: 't', revision: 't' }),
    config,
    logger,
  });
  await server.ready();
  await server.menuCache.start();
});

after(async () => {
  await server?.close();
  await db?.close();
  await outage?.down();
  await tdb?.drop();
});

test('the pool survives a database outage: 503 problems during it, answers again after it, no crash', async () => {
  const token = server.tokens.sign({ userId: fixtures.alice, role: 'customer' });
  const headers = { authorization: `Bearer ${token}` };
  const order = { items: [{ productId: fixtures.products.burger.id, quantity: 1 }] };
  // Fill the pool with open connections first, so the outage breaks connections in use and idle.
  await Promise.all(
    Array.from({ length: 4 }, () => call(server, 'POST', '/api/orders', { headers, body: order })),
  );
  assert.equal((await call(server, 'GET', '/ready')).status, 200);

  await outage.down();
  for (const [method, url, body] of [
    ['GET', '/api/orders', undefined],
    ['POST', '/api/orders', order],
    ['GET', `/api/users/${fixtures.alice}`, undefined],
  ] as const) {
    const r = await call(server, method, url, { headers, ...(body ? { body } : {}) });
    assertProblem(r, 503);
  }
  assertProblem(await call(server, 'GET', '/ready'), 503);
  assert.equal((await call(server, 'GET', '/health')).status, 200);

  await outage.up();
  const deadline = Date.now() + 15_000;
  let status = 0;
  while (status !== 201 && Date.now() < deadline) {
    status = (await call(server, 'POST', '/api/orders', { headers, body: order })).status;
    if (status !== 201) await new Promise((r) => setTimeout(r, 200));
  }
  assert.equal(status, 201, 'orders are placed again once the database is back');
  assert.equal((await call(server, 'GET', '/ready')).status, 200);
  assert.equal((await call(server, 'GET', '/api/orders', { headers })).status, 200);
});
