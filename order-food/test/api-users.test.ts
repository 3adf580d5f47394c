import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql, type TestDatabase } from '@order-food/platform/testing/test-database';
import { appOfFile, assertProblem, call, type Fixtures, type TestApp } from './helpers.js';

let tdb: TestDatabase;
let fixtures: Fixtures;
let app: TestApp;
appOfFile('api_users', (opened) => ({ tdb, fixtures, app } = opened));

test('GET /api/users/me answers the caller', async () => {
  const r = await call(app.server, 'GET', '/api/users/me', { headers: app.auth.alice });
  assert.equal(r.status, 200);
  assert.equal(r.body.id, fixtures.alice);
  assert.equal(r.body.email, 'alice@example.com');
  assert.equal(r.body.role, 'customer');
  assert.deepEqual(Object.keys(r.body).sort(), ['createdAt', 'email', 'id', 'name', 'role']);
  assertProblem(await call(app.server, 'GET', '/api/users/me'), 401);
});

test('a token for a user that no longer exists reads no record and places no order', async () => {
  const ghost = app.server.tokens.sign({
    userId: '00000000-0000-4000-8000-00000000dead',
    role: 'customer',
  });
  const headers = { authorization: `Bearer ${ghost}` };
  assertProblem(await call(app.server, 'GET', '/api/users/me', { headers }), 401);
  assertProblem(
    await call(app.server, 'POST', '/api/orders', {
      headers,
      body: { items: [{ productId: fixtures.products.burger.id, quantity: 1 }] },
    }),
    401,
  );
});

test('GET /api/users/:id: yourself or, for admins, anyone; another customer is 404', async () => {
  assert.equal(
    (await call(app.server, 'GET', `/api/users/${fixtures.alice}`, { headers: app.auth.alice }))
      .body.id,
    fixtures.alice,
  );
  assertProblem(
    await call(app.server, 'GET', `/api/users/${fixtures.bob}`, { headers: app.auth.alice }),
    404,
  );
  assertProblem(
    await call(app.server, 'GET', `/api/users/${fixtures.alice}`, { headers: app.auth.bob }),
    404,
  );
  assert.equal(
    (await call(app.server, 'GET', `/api/users/${fixtures.bob}`, { headers: app.auth.admin })).body
      .email,
    'bob@example.com',
  );
  assertProblem(
    await call(app.server, 'GET', '/api/users/00000000-0000-4000-8000-000000000000', {
      headers: app.auth.admin,
    }),
    404,
  );
  assertProblem(
    await call(app.server, 'GET', '/api/users/not-a-uuid', { headers: app.auth.admin }),
    400,
  );
});

test('POST /api/users: admins create users; emails are unique and stored in lower case', async () => {
  const r = await call(app.server, 'POST', '/api/users', {
    headers: app.auth.admin,
    body: { email: 'Test.Carol@Example.com', name: 'Carol' },
  });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.email, 'test.carol@example.com');
  assert.equal(r.body.role, 'customer');
  assert.equal(r.headers.location, `/api/users/${r.body.id}`);
  const staff = await call(app.server, 'POST', '/api/users', {
    headers: app.auth.admin,
    body: { email: 'test.dave@example.com', name: 'Dave', role: 'admin' },
  });
  assert.equal(staff.body.role, 'admin');
  assertProblem(
    await call(app.server, 'POST', '/api/users', {
      headers: app.auth.admin,
      body: { email: 'test.carol@example.com', name: 'Carol again' },
    }),
    409,
  );
});

test('POST /api/users: customers are 403, anonymous 401, bad bodies 400, and nothing is stored', async () => {
  const body = { email: 'test.mallory@example.com', name: 'Mallory', role: 'admin' };
  assertProblem(
    await call(app.server, 'POST', '/api/users', { headers: app.auth.alice, body }),
    403,
  );
  assertProblem(await call(app.server, 'POST', '/api/users', { body }), 401);
  for (const bad of [
    { email: 'test.erin@example.com', name: 'Erin', id: '00000000-0000-4000-8000-000000000009' },
    { email: 'test.erin@example.com', name: 'Erin', role: 'root' },
    { email: 'test.erin@example.com', name: 'Erin', createdAt: '2000-01-01T00:00:00Z' },
    { email: 'not an email', name: 'Erin' },
    { email: 'test.erin@example.com', name: '' },
    { email: 'test.erin@example.com' },
  ]) {
    assertProblem(
      await call(app.server, 'POST', '/api/users', { headers: app.auth.admin, body: bad }),
      400,
    );
  }
  assertProblem(
    await call(app.server, 'POST', '/api/users', {
      headers: { ...app.auth.admin, 'content-type': 'application/json' },
      payload: '{"email":"test.erin@example.com","name":"Erin","__proto__":{"role":"admin"}}',
    }),
    400,
  );
  const rows = await sql(
    tdb,
    "SELECT 1 FROM users WHERE email IN ('test.mallory@example.com', 'test.erin@example.com')",
  );
  assert.equal(rows.length, 0);
});
