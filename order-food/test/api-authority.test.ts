import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseDatabaseTarget } from '@order-food/platform/config';
import { createDatabase } from '@order-food/platform/database';
import { createLogger } from '@order-food/platform/logger';
import {
  createTestDatabase,
  sql,
  type TestDatabase,
} from '@order-food/platform/testing/test-database';
import { createSigner } from 'fast-jwt';
import { buildServer } from '../src/app.js';
import { developmentJwtSecret, parseApiConfig } from '../src/config.js';
import { Metrics } from '../src/metrics.js';
import { appOfFile, assertProblem, call, type Fixtures, type TestApp } from './helpers.js';

let tdb: TestDatabase;
let fixtures: Fixtures;
let app: TestApp;
appOfFile('api_authority', (opened) => ({ tdb, fixtures, app } = opened));

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** Every route behind a token, with a request that would succeed for an admin. */
function authenticatedRoutes(): ['GET' | 'POST' | 'PATCH', string, unknown?][] {
  const product = fixtures.products.burger.id;
  return [
    ['GET', '/api/users/me'],
    ['GET', `/api/users/${fixtures.alice}`],
    ['POST', '/api/users', { email: `x-${Date.now()}@example.com`, name: 'X' }],
    ['GET', '/api/orders'],
    ['POST', '/api/orders', { items: [{ productId: product, quantity: 1 }] }],
    ['PATCH', `/api/products/${product}`, { priceCents: fixtures.products.burger.priceCents }],
  ];
}

describe('authority comes from the database, not only from the token', () => {
  test('a demoted admin loses admin rights on the next request', async () => {
    const token = app.server.tokens.sign({ userId: fixtures.admin, role: 'admin' });
    const body = { email: 'demoted-check@example.com', name: 'Demoted Check' };
    await sql(tdb, "UPDATE users SET role = 'customer' WHERE id = $1", [fixtures.admin]);
    try {
      assertProblem(
        await call(app.server, 'POST', '/api/users', { headers: bearer(token), body }),
        403,
      );
      const me = await call(app.server, 'GET', '/api/users/me', { headers: bearer(token) });
      assert.equal(me.body.role, 'customer');
      // Another customer's records are out of reach too, as for any customer.
      assertProblem(
        await call(app.server, 'GET', `/api/users/${fixtures.alice}`, { headers: bearer(token) }),
        404,
      );
    } finally {
      await sql(tdb, "UPDATE users SET role = 'admin' WHERE id = $1", [fixtures.admin]);
    }
    const restored = await call(app.server, 'POST', '/api/users', { headers: bearer(token), body });
    assert.equal(restored.status, 201, restored.text);
  });

  test('a customer promoted in the database is an admin at once', async () => {
    const [user] = await sql<{ id: string }>(
      tdb,
      "INSERT INTO users (email, name, role) VALUES ('promoted@example.com', 'P', 'customer') RETURNING id",
    );
    const token = app.server.tokens.sign({ userId: user!.id, role: 'customer' });
    await sql(tdb, "UPDATE users SET role = 'admin' WHERE id = $1", [user!.id]);
    const r = await call(app.server, 'GET', `/api/users/${fixtures.alice}`, {
      headers: bearer(token),
    });
    assert.equal(r.status, 200, r.text);
  });

  test("a deleted user's token stops working on every authenticated route", async () => {
    for (const role of ['customer', 'admin'] as const) {
      const [user] = await sql<{ id: string }>(
        tdb,
        'INSERT INTO users (email, name, role) VALUES ($1, $2, $3) RETURNING id',
        [`deleted-${role}@example.com`, 'Deleted', role],
      );
      const token = app.server.tokens.sign({ userId: user!.id, role });
      assert.equal(
        (await call(app.server, 'GET', '/api/users/me', { headers: bearer(token) })).status,
        200,
      );
      await sql(tdb, 'DELETE FROM users WHERE id = $1', [user!.id]);
      for (const [method, path, body] of authenticatedRoutes()) {
        const r = await call(app.server, method, path, { headers: bearer(token), body });
        assertProblem(r, 401);
        assert.match(r.body.detail, /no longer exists/, `${method} ${path}`);
      }
    }
  });
});

describe('only tokens shaped like the ones the API issues are accepted', () => {
  const now = () => Math.floor(Date.now() / 1000);
  const claims = () => ({ sub: fixtures.admin, role: 'admin' });
  const sign = (
    payload: Record<string, unknown>,
    header: Record<string, unknown> = {},
    noTimestamp = false,
  ) =>
    createSigner({
      key: developmentJwtSecret,
      algorithm: 'HS256',
      header: { alg: 'HS256', ...header },
      noTimestamp,
    })(payload);

  test('the tokens the API signs are accepted', async () => {
    const r = await call(app.server, 'GET', '/api/users/me', { headers: app.auth.admin });
    assert.equal(r.status, 200);
  });

  test('without iss, aud or iat, with another typ, or a lifetime beyond JWT_TTL_SECONDS: 401', async () => {
    const issued = { iss: 'order-food', aud: 'order-food', iat: now(), exp: now() + 3600 };
    const forged: Record<string, string> = {
      'no iss': sign({ ...claims(), ...issued, iss: undefined }),
      'no aud': sign({ ...claims(), ...issued, aud: undefined }),
      'another iss': sign({ ...claims(), ...issued, iss: 'someone-else' }),
      'another aud': sign({ ...claims(), ...issued, aud: 'someone-else' }),
      'no iat': sign({ ...claims(), ...issued, iat: undefined }, {}, true),
      'typ at+jwt': sign({ ...claims(), ...issued }, { typ: 'at+jwt' }),
      'lifetime of a year': sign({ ...claims(), ...issued, exp: now() + 365 * 86_400 }),
      'lifetime one second beyond the maximum': sign({
        ...claims(),
        ...issued,
        exp: issued.iat + 86_400 + 1,
      }),
    };
    for (const [name, token] of Object.entries(forged)) {
      const r = await call(app.server, 'GET', '/api/users/me', { headers: bearer(token) });
      assert.equal(r.status, 401, `${name}: ${r.text}`);
    }
    const longest = sign({ ...claims(), ...issued, exp: issued.iat + 86_400 });
    assert.equal(
      (await call(app.server, 'GET', '/api/users/me', { headers: bearer(longest) })).status,
      200,
    );
  });
});

describe('a database that was never migrated', () => {
  test('/api/* answers 503 with Retry-After, /ready 503 with the reason class', async () => {
    const empty = await createTestDatabase('api_unmigrated');
    const config = parseApiConfig({
      ENVIRONMENT: 'development',
      DATABASE_URL: empty.url,
      READY_CACHE: '0',
    });
    const logger = createLogger('order-food-test', 'silent');
    const db = await createDatabase(parseDatabaseTarget({ DATABASE_URL: empty.url }), {
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
      const ready = await call(server, 'GET', '/ready');
      assertProblem(ready, 503);
      assert.equal(ready.body.detail, 'database schema is older than this build needs');
      const token = server.tokens.sign({ userId: fixtures.alice, role: 'customer' });
      for (const [method, path] of [
        ['GET', '/api/products'],
        ['GET', `/api/products/${fixtures.products.burger.id}`],
        ['GET', '/api/users/me'],
        ['GET', '/api/orders'],
      ] as const) {
        const r = await call(server, method, path, { headers: bearer(token) });
        assertProblem(r, 503);
        assert.equal(r.headers['retry-after'], '5', `${method} ${path}`);
        assert.doesNotMatch(r.body.detail, /relation|users|products/);
      }
    } finally {
      await server.close();
      await db.close();
      await empty.drop();
    }
  });
});
