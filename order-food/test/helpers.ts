import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { parseDatabaseTarget } from '@order-food/platform/config';
import { createDatabase, type Database } from '@order-food/platform/database';
import { createLogger } from '@order-food/platform/logger';
import { freePort } from '@order-food/platform/testing/free-port';
import { programs, runProgram, startProgram } from '@order-food/platform/testing/run-program';
import {
  createTestDatabase,
  sql,
  type TestDatabase,
} from '@order-food/platform/testing/test-database';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '../src/app.js';
import { parseApiConfig } from '../src/config.js';
import { Metrics } from '../src/metrics.js';

export interface Fixtures {
  alice: string;
  bob: string;
  admin: string;
  /** Products made for this test file, by key. */
  products: Record<'burger' | 'fries' | 'soda' | 'retired', { id: string; priceCents: number }>;
}

/**
 * A database of this test file's own, prepared as a pod prepares it: the migration and load
 * programs run as real processes. Then a few products of the file's own are added, so tests do
 * not depend on the default data set's menu.
 */
export async function prepareDatabase(
  prefix: string,
): Promise<{ tdb: TestDatabase; fixtures: Fixtures }> {
  const tdb = await createTestDatabase(prefix);
  const env = { DATABASE_URL: tdb.url, LOG_LEVEL: 'warn' };
  const migrated = await runProgram('database-migration', ['migrate'], { env });
  assert.equal(migrated.code, 0, `database-migration failed: ${migrated.stderr}`);
  if (existsSync(programs['database-load'])) {
    const loaded = await runProgram('database-load', ['load'], { env });
    assert.equal(loaded.code, 0, `database-load failed: ${loaded.stderr}`);
  }
  const users = await sql<{ id: string; email: string }>(
    tdb,
    `INSERT INTO users (email, name, role) VALUES
       ('alice@example.com', 'Alice Martin', 'customer'),
       ('bob@example.com', 'Bob Nguyen', 'customer'),
       ('admin@example.com', 'Avery Admin', 'admin')
     ON CONFLICT (email) DO UPDATE SET email = EXCLUDED.email
     RETURNING id, email`,
  );
  const idOf = (email: string) => users.find((u) => u.email === email)!.id;
  const products = await sql<{ id: string; sku: string; price_cents: number }>(
    tdb,
    `INSERT INTO products (sku, name, category, price_cents, available) VALUES
       ('TEST-BURGER', 'Test Burger', 'test', 1250, true),
       ('TEST-FRIES', 'Test Fries', 'test', 399, true),
       ('TEST-SODA', 'Test Soda', 'test', 250, true),
       ('TEST-RETIRED', 'Test Retired', 'test', 999, false)
     RETURNING id, sku, price_cents`,
  );
  const product = (sku: string) => {
    const p = products.find((r) => r.sku === sku)!;
    return { id: p.id, priceCents: p.price_cents };
  };
  return {
    tdb,
    fixtures: {
      alice: idOf('alice@example.com'),
      bob: idOf('bob@example.com'),
      admin: idOf('admin@example.com'),
      products: {
        burger: product('TEST-BURGER'),
        fries: product('TEST-FRIES'),
        soda: product('TEST-SODA'),
        retired: product('TEST-RETIRED'),
      },
    },
  };
}

export interface TestApp {
  server: FastifyInstance;
  db: Database;
  metrics: Metrics;
  /** Bearer headers for the seeded users. */
  auth: {
    alice: { authorization: string };
    bob: { authorization: string };
    admin: { authorization: string };
  };
  close(): Promise<void>;
}

export interface AppOfFile {
  tdb: TestDatabase;
  fixtures: Fixtures;
  app: TestApp;
}

/**
 * An API test file's set-up: before its tests, a database with the fixtures and the app on it
 * (handed to set); after them, both closed.
 */
export function appOfFile(name: string, set: (opened: AppOfFile) => void): void {
  let tdb: TestDatabase | undefined;
  let app: TestApp | undefined;
  before(async () => {
    const prepared = await prepareDatabase(name);
    tdb = prepared.tdb;
    app = await openApp(prepared.tdb, prepared.fixtures);
    set({ ...prepared, app });
  });
  after(async () => {
    await app?.close();
    await tdb?.drop();
  });
}

/** The API as a plugin on a Fastify of its own, against the test database, for inject(). */
export async function openApp(tdb: TestDatabase, fixtures: Fixtures): Promise<TestApp> {
  const config = parseApiConfig({
    ENVIRONMENT: 'development',
    DATABASE_URL: tdb.url,
    READY_CACHE: '0',
  });
  const logger = createLogger('order-food-test', process.env.TEST_LOG_LEVEL ?? 'silent');
  const metrics = new Metrics({ version: 'test', revision: 'test' });
  const db = await createDatabase(parseDatabaseTarget({ DATABASE_URL: tdb.url }), {
    logger,
    applicationName: 'order-food-test',
    max: 10,
    statementTimeoutMs: config.pool.statementTimeoutMs,
    onQuery: metrics.queryObserver,
  });
  const server = await buildServer({ db, metrics, config, logger });
  await server.ready();
  await server.menuCache.start();
  const bearer = (userId: string, role: 'customer' | 'admin') => ({
    authorization: `Bearer ${server.tokens.sign({ userId, role })}`,
  });
  return {
    server,
    db,
    metrics,
    auth: {
      alice: bearer(fixtures.alice, 'customer'),
      bob: bearer(fixtures.bob, 'customer'),
      admin: bearer(fixtures.admin, 'admin'),
    },
    async close() {
      await server.close();
      await db.close();
    },
  };
}

export const repoFile = (...parts: string[]) => join(import.meta.dirname, '..', '..', ...parts);

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | number | undefined>;
  // biome-ignore lint/suspicious/noExplicitAny: JSON bodies of many shapes
  body: any;
  text: string;
}

/** One request through inject(), with the body parsed when it is JSON. */
export async function call(
  server: FastifyInstance,
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE' | 'PUT',
  url: string,
  options: { headers?: Record<string, string>; body?: unknown; payload?: string } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...options.headers };
  let payload: string | undefined = options.payload;
  if (options.body !== undefined) {
    payload = JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  const r = await server.inject({
    method,
    url,
    headers,
    ...(payload !== undefined ? { payload } : {}),
  });
  const type = String(r.headers['content-type'] ?? '');
  return {
    status: r.statusCode,
    headers: r.headers,
    body: type.includes('json') && r.body ? JSON.parse(r.body) : r.body,
    text: r.body,
  };
}

/** Asserts an RFC 9457 problem with this status. */
export function assertProblem(answer: Answer, status: number): void {
  assert.equal(answer.status, status, `expected ${status}, got ${answer.status}: ${answer.text}`);
  assert.match(String(answer.headers['content-type']), /^application\/problem\+json/);
  assert.equal(answer.body.status, status);
  for (const field of ['type', 'title', 'detail', 'instance'])
    assert.equal(typeof answer.body[field], 'string', `problem field ${field}`);
}

export interface ApiProcess {
  child: ChildProcess;
  url: string;
  output: () => string;
}

/** The real API as a process on a free loopback port, once /ready answers 200. */
export async function startApiProcess(
  env: Record<string, string | undefined>,
): Promise<ApiProcess> {
  const port = await freePort();
  const child = startProgram('order-food', [], {
    env: { PORT: String(port), HOST: '127.0.0.1', SHUTDOWN_DRAIN_DELAY: '0', ...env },
  });
  let output = '';
  child.stdout?.on('data', (c: Buffer) => {
    output += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => {
    output += c.toString();
  });
  const url = `http://127.0.0.1:${port}`;
  // A bound for a broken start, not a timing assertion.
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`order-food exited ${child.exitCode}: ${output}`);
    const ready = await fetch(`${url}/ready`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ready) return { child, url, output: () => output };
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`order-food did not become ready: ${output}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}
