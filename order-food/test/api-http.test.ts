import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import SwaggerParser from '@apidevtools/swagger-parser';
import { parseDatabaseTarget } from '@order-food/platform/config';
import { createDatabase } from '@order-food/platform/database';
import { createLogger } from '@order-food/platform/logger';
import { sql, type TestDatabase } from '@order-food/platform/testing/test-database';
import { createSigner } from 'fast-jwt';
import { buildServer } from '../src/app.js';
import { developmentJwtSecret, parseApiConfig } from '../src/config.js';
import { Lifecycle } from '../src/lifecycle.js';
import { Metrics } from '../src/metrics.js';
import { appOfFile, assertProblem, call, type Fixtures, type TestApp } from './helpers.js';

let tdb: TestDatabase;
let fixtures: Fixtures;
let app: TestApp;
appOfFile('api_http', (opened) => ({ tdb, fixtures, app } = opened));

const someId = '00000000-0000-4000-8000-000000000001';

/** Every route of the API: what the OpenAPI document must list. */
const routes: [string, string, 'public' | 'token'][] = [
  ['get', '/health', 'public'],
  ['get', '/ready', 'public'],
  ['get', '/metrics', 'public'],
  ['get', '/api/products', 'public'],
  ['get', '/api/product', 'public'],
  ['get', '/api/products/{id}', 'public'],
  ['post', '/api/products', 'token'],
  ['patch', '/api/products/{id}', 'token'],
  ['delete', '/api/products/{id}', 'token'],
  ['get', '/api/users/me', 'token'],
  ['get', '/api/users/{id}', 'token'],
  ['post', '/api/users', 'token'],
  ['post', '/api/orders', 'token'],
  ['get', '/api/orders', 'token'],
  ['get', '/api/orders/{id}', 'token'],
  ['post', '/api/orders/{id}/cancel', 'token'],
  ['patch', '/api/orders/{id}/status', 'token'],
];

describe('OpenAPI document', () => {
  test('is valid OpenAPI 3.1 and lists every route with its responses', async () => {
    const r = await call(app.server, 'GET', '/openapi.json');
    assert.equal(r.status, 200);
    assert.equal(r.body.openapi, '3.1.0');
    const listed = Object.entries(r.body.paths as Record<string, Record<string, unknown>>).flatMap(
      ([path, ops]) => Object.keys(ops).map((method) => `${method} ${path}`),
    );
    assert.deepEqual(listed.sort(), routes.map(([m, p]) => `${m} ${p}`).sort());
    for (const [method, path, access] of routes) {
      const op = r.body.paths[path][method];
      assert.ok(op.summary, `${method} ${path} has a summary`);
      assert.ok(op.operationId, `${method} ${path} has an operationId`);
      assert.ok(
        Object.keys(op.responses).some((s) => s.startsWith('2')),
        `${method} ${path} success`,
      );
      if (access === 'token') {
        assert.ok(op.responses['401'], `${method} ${path} documents 401`);
        assert.deepEqual(op.security, [{ bearerAuth: [] }]);
      } else assert.deepEqual(op.security, [], `${method} ${path} says it is public`);
      if (['post', 'patch'].includes(method) && !path.endsWith('/cancel')) {
        const { $ref } = op.requestBody.content['application/json'].schema;
        const schema = r.body.components.schemas[$ref.replace('#/components/schemas/', '')];
        assert.equal(schema.additionalProperties, false, `${method} ${path} body is closed`);
        assert.ok(op.responses['415'], `${method} ${path} documents 415 (JSON bodies only)`);
      }
    }
    await SwaggerParser.validate(structuredClone(r.body));
  });

  test('/docs serves the API reference page', async () => {
    const r = await app.server.inject({ method: 'GET', url: '/docs/' });
    assert.equal(r.statusCode, 200);
    assert.match(String(r.headers['content-type']), /text\/html/);
    assert.match(r.body, /openapi\.json/);
    const script = await app.server.inject({ method: 'GET', url: '/docs/js/scalar.js' });
    assert.equal(script.statusCode, 200);
    assert.match(String(script.headers['content-type']), /javascript/);
    assertProblem(await call(app.server, 'GET', '/docs/nothing'), 404);
  });
});

describe('authentication', () => {
  test('anonymous callers get 401 on every route but the public ones, whatever the body', async () => {
    for (const [method, path, access] of routes) {
      const url = path.replace('{id}', someId);
      const r = await call(app.server, method.toUpperCase() as 'GET', url, {
        ...(['post', 'patch'].includes(method) ? { body: { nonsense: true } } : {}),
      });
      if (access === 'public')
        assert.ok([200, 404].includes(r.status), `${method} ${url} is public: ${r.status}`);
      else {
        assertProblem(r, 401);
        assert.match(String(r.headers['www-authenticate']), /^Bearer/);
      }
    }
  });

  test('forged, expired, unsigned and malformed tokens are 401', async () => {
    const claims = { sub: fixtures.admin, role: 'admin', iss: 'order-food', aud: 'order-food' };
    const wrongKey = createSigner({ key: 'x'.repeat(40), algorithm: 'HS256', expiresIn: 60_000 })(
      claims,
    );
    const expired = createSigner({ key: developmentJwtSecret, algorithm: 'HS256' })({
      ...claims,
      exp: Math.floor(Date.now() / 1000) - 10,
    });
    const noExpiry = createSigner({ key: developmentJwtSecret, algorithm: 'HS256' })(claims);
    const wrongAudience = createSigner({
      key: developmentJwtSecret,
      algorithm: 'HS256',
      expiresIn: 60_000,
    })({
      ...claims,
      aud: 'someone-else',
    });
    const badRole = createSigner({
      key: developmentJwtSecret,
      algorithm: 'HS256',
      expiresIn: 60_000,
    })({
      ...claims,
      role: 'root',
    });
    const header = Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url');
    const body = Buffer.from(
      JSON.stringify({ ...claims, exp: Math.floor(Date.now() / 1000) + 60 }),
    ).toString('base64url');
    for (const authorization of [
      `Bearer ${wrongKey}`,
      `Bearer ${expired}`,
      `Bearer ${noExpiry}`,
      `Bearer ${wrongAudience}`,
      `Bearer ${badRole}`,
      `Bearer ${header}.${body}.`,
      `Basic ${Buffer.from('admin:admin').toString('base64')}`,
      'Bearer',
    ]) {
      assertProblem(
        await call(app.server, 'GET', '/api/orders', { headers: { authorization } }),
        401,
      );
    }
    assert.equal(
      (await call(app.server, 'GET', '/api/orders', { headers: app.auth.admin })).status,
      200,
    );
  });
});

describe('HTTP behaviour', () => {
  test('every response carries a request id; a sane incoming x-request-id is kept', async () => {
    const a = await call(app.server, 'GET', '/health');
    assert.match(String(a.headers['x-request-id']), /^[0-9a-f-]{36}$/);
    const b = await call(app.server, 'GET', '/api/nothing', {
      headers: { 'x-request-id': 'abc-123' },
    });
    assert.equal(b.headers['x-request-id'], 'abc-123');
    assertProblem(b, 404);
    const c = await call(app.server, 'GET', '/health', {
      headers: { 'x-request-id': 'bad id\twith spaces' },
    });
    assert.notEqual(c.headers['x-request-id'], 'bad id\twith spaces');
  });

  test('oversized, non-JSON and poisoned bodies are client errors with problem bodies', async () => {
    const big = JSON.stringify({
      items: [{ productId: someId, quantity: 1 }],
      pad: 'x'.repeat(200_000),
    });
    assertProblem(
      await call(app.server, 'POST', '/api/orders', {
        headers: { ...app.auth.alice, 'content-type': 'application/json' },
        payload: big,
      }),
      413,
    );
    assertProblem(
      await call(app.server, 'POST', '/api/orders', {
        headers: { ...app.auth.alice, 'content-type': 'application/xml' },
        payload: '<items/>',
      }),
      415,
    );
    assertProblem(
      await call(app.server, 'POST', '/api/orders', {
        headers: { ...app.auth.alice, 'content-type': 'application/json' },
        payload:
          '{"items":[{"productId":"x","quantity":1}],"constructor":{"prototype":{"admin":true}}}',
      }),
      400,
    );
  });

  test('/health and /ready answer; /metrics is Prometheus text with the request histogram', async () => {
    assert.deepEqual((await call(app.server, 'GET', '/health')).body, { status: 'ok' });
    const ready = await call(app.server, 'GET', '/ready');
    assert.equal(ready.status, 200);
    assert.ok(ready.body.schemaVersion >= 2);
    await call(app.server, 'GET', '/api/products?limit=1');
    const metrics = await call(app.server, 'GET', '/metrics');
    assert.equal(metrics.status, 200);
    assert.match(String(metrics.headers['content-type']), /^text\/plain/);
    assert.match(
      metrics.text,
      /http_server_request_duration_seconds_bucket\{[^}]*route="\/api\/products"/,
    );
    assert.doesNotMatch(metrics.text, /route="\/health"/);
    assert.match(metrics.text, /process_cpu_seconds_total/);
  });
});

describe('schema version', () => {
  test('/ready is 503 naming the versions while the schema is older than this build needs', async () => {
    await sql(tdb, 'UPDATE schema_migrations SET success = false WHERE version >= 2');
    try {
      const r = await call(app.server, 'GET', '/ready');
      assertProblem(r, 503);
      assert.equal(r.body.detail, 'database schema is older than this build needs');
    } finally {
      await sql(tdb, 'UPDATE schema_migrations SET success = true WHERE version >= 2');
    }
    assert.equal((await call(app.server, 'GET', '/ready')).status, 200);
  });
});

describe('without a database', () => {
  test('requests fail fast with 503, /health stays 200, /ready says why, and nothing leaks', async () => {
    const url = 'postgres://postgres@127.0.0.1:1/nowhere';
    const config = parseApiConfig({
      ENVIRONMENT: 'development',
      DATABASE_URL: url,
      READY_CACHE: '0',
    });
    const logger = createLogger('order-food-test', 'silent');
    const db = await createDatabase(parseDatabaseTarget({ DATABASE_URL: url }), {
      logger,
      applicationName: 'order-food-test',
      connectTimeoutMs: 1000,
    });
    const lifecycle = Object.assign(new Lifecycle(), { databaseReached: true });
    const server = await buildServer({
      db,
      metrics: new Metrics({ version: 't', revision: 't' }),
      config,
      lifecycle,
      logger,
    });
    try {
      assert.equal((await call(server, 'GET', '/health')).status, 200);
      const ready = await call(server, 'GET', '/ready');
      assertProblem(ready, 503);
      // The class of the reason only: the address and the error stay in the log.
      assert.equal(ready.body.detail, 'database not reachable');
      assert.doesNotMatch(ready.text, /ECONNREFUSED|127\.0\.0\.1|:1\b/);
      const token = server.tokens.sign({ userId: fixtures.alice, role: 'customer' });
      for (const [method, path] of [
        ['GET', '/api/products'],
        ['GET', `/api/orders/${someId}`],
        ['GET', '/api/users/me'],
      ] as const) {
        const r = await call(server, method, path, {
          headers: { authorization: `Bearer ${token}` },
        });
        assertProblem(r, 503);
        assert.equal(r.headers['retry-after'], '5');
        assert.doesNotMatch(r.text, /ECONNREFUSED|127\.0\.0\.1|at \w+ \(/);
      }
      lifecycle.shuttingDown = true;
      const draining = await call(server, 'GET', '/ready');
      assert.equal(draining.body.detail, 'shutting down');
      assert.equal(draining.headers.connection, 'close');
      lifecycle.closing = true;
      const closing = await call(server, 'GET', '/health');
      assertProblem(closing, 503);
      assert.equal(closing.headers['retry-after'], '1');
    } finally {
      await server.close();
      await db.close();
    }
  });
});

describe('logs and timeouts', () => {
  test('every log line of a request carries its request id; bodies and tokens never reach the log', async () => {
    const lines: Record<string, unknown>[] = [];
    const destination = new Writable({
      write(chunk, _encoding, done) {
        for (const line of String(chunk).split('\n')) if (line) lines.push(JSON.parse(line));
        done();
      },
    });
    const url = tdb.url;
    const config = parseApiConfig({ ENVIRONMENT: 'development', DATABASE_URL: url });
    const logger = createLogger('order-food-test', 'info', destination);
    const db = await createDatabase(parseDatabaseTarget({ DATABASE_URL: url }), {
      logger,
      applicationName: 'order-food-test',
    });
    const server = await buildServer({
      db,
      metrics: new Metrics({ version: 't', revision: 't' }),
      config,
      logger,
    });
    try {
      const token = server.tokens.sign({ userId: fixtures.alice, role: 'customer' });
      const headers = { authorization: `Bearer ${token}` };
      const ids = [
        await call(server, 'POST', '/api/orders', {
          headers,
          body: { items: [{ productId: fixtures.products.burger.id, quantity: 1 }] },
        }),
        await call(server, 'POST', '/api/orders', {
          headers,
          body: { items: [], secret: 'hunter2' },
        }),
        await call(server, 'GET', '/api/orders/00000000-0000-4000-8000-000000000000', { headers }),
        await call(server, 'GET', '/api/orders'),
      ].map((r) => String(r.headers['x-request-id']));
      const requestLines = lines.filter((l) => l.request_id !== undefined);
      for (const id of ids) {
        const own = requestLines.filter((l) => l.request_id === id);
        assert.ok(
          own.some((l) => l.msg === 'request completed'),
          `request ${id} logged`,
        );
      }
      const text = JSON.stringify(lines);
      assert.ok(!text.includes(token), 'no token in the log');
      assert.ok(!text.includes('hunter2'), 'no body in the log');
      assert.ok(
        lines
          .filter((l) => l.msg === 'request completed')
          .every((l) => typeof l.request_id === 'string'),
      );
    } finally {
      await server.close();
      await db.close();
    }
  });

  test('a statement that outlives DB_STATEMENT_TIMEOUT is a 503 problem, not a hang or a 500', async () => {
    const url = tdb.url;
    const config = parseApiConfig({ ENVIRONMENT: 'development', DATABASE_URL: url });
    const logger = createLogger('order-food-test', 'silent');
    const db = await createDatabase(parseDatabaseTarget({ DATABASE_URL: url }), {
      logger,
      applicationName: 'order-food-test',
      statementTimeoutMs: 300,
    });
    const server = await buildServer({
      db,
      metrics: new Metrics({ version: 't', revision: 't' }),
      config,
      logger,
    });
    const lock = tdb.admin();
    await lock.connect();
    try {
      await lock.query('BEGIN');
      await lock.query('SELECT 1 FROM products WHERE id = $1 FOR UPDATE', [
        fixtures.products.soda.id,
      ]);
      const token = server.tokens.sign({ userId: fixtures.alice, role: 'customer' });
      const r = await call(server, 'POST', '/api/orders', {
        headers: { authorization: `Bearer ${token}` },
        body: { items: [{ productId: fixtures.products.soda.id, quantity: 1 }] },
      });
      assertProblem(r, 503);
      assert.equal(r.headers['retry-after'], '5');
      assert.doesNotMatch(r.text, /statement timeout|canceling/);
    } finally {
      await lock.query('ROLLBACK');
      await lock.end();
      await server.close();
      await db.close();
    }
  });
});
