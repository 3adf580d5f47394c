import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { jwtSecret, tokenFor } from './lib/api.js';
import { json, type Principal, principals, routeCases } from './lib/authorization.js';
import { Api, bearer, fileDatabase, type Product, readyWithData } from './lib/fixture.js';
import type { HttpResponse, RequestSpec } from './lib/http.js';
import { forgedTokens } from './lib/jwt.js';
import { query } from './lib/pg.js';
import { Scenario } from './lib/report.js';

const scenario = new Scenario('authorization', 'Authorization: every route × four callers');
const db = fileDatabase('authz');

test('every route answers each of anonymous, customer A, customer B and admin as the rules say', async () => {
  await scenario.run(async () => {
    const api = await Api.start({ databaseUrl: db.url });
    try {
      const { t, products } = await readyWithData(api, db.url);
      const auth: Record<Principal, Record<string, string>> = {
        anonymous: {},
        'customer A': bearer(t.alice),
        'customer B': bearer(t.bob),
        admin: bearer(t.admin),
      };
      const call = async (spec: RequestSpec): Promise<HttpResponse> => api.request(spec);
      const { cases, me, aliceOrder } = await routeCases(call, auth, products[0] as Product);

      // Every operation of the OpenAPI document has a row, so a new route cannot slip past.
      const doc = json<{ paths: Record<string, Record<string, unknown>> }>(
        await call({ method: 'GET', path: '/openapi.json' }),
      );
      const documented = Object.entries(doc.paths).flatMap(([path, ops]) =>
        Object.keys(ops)
          .filter((m) => ['get', 'post', 'put', 'patch', 'delete'].includes(m))
          .map((m) => `${m.toUpperCase()} ${path}`),
      );
      assert.deepEqual(
        documented.filter((op) => !cases[op]),
        [],
        'every documented operation has authorization expectations',
      );

      const rows: string[] = [];
      const wrong: string[] = [];
      let requests = 0;
      for (const [op, c] of Object.entries(cases)) {
        const cells: string[] = [];
        for (const who of principals) {
          const spec = await c.request(who);
          spec.headers = { ...(spec.headers ?? {}), ...auth[who] };
          const r = await call(spec);
          requests++;
          const okStatus = c.expect[who].includes(r.status);
          if (!okStatus)
            wrong.push(
              `${op} as ${who}: ${r.status} (expected ${c.expect[who].join(' or ')}) ${r.body.slice(0, 200)}`,
            );
          if (r.status >= 400 && c.unchanged) await c.unchanged(spec);
          if (r.status >= 500) wrong.push(`${op} as ${who}: ${r.status}`);
          cells.push(
            okStatus ? `${r.status}` : `**${r.status}** (expected ${c.expect[who].join('/')})`,
          );
        }
        rows.push(`| ${op} | ${cells.join(' | ')} |`);
      }

      // Lists show only what the caller may see.
      const list = async (who: Principal) =>
        json<{ items: { id: string; userId: string }[] }>(
          await call({ method: 'GET', path: '/api/orders?limit=100', headers: auth[who] }),
        ).items;
      const [aList, bList, adminList] = await Promise.all([
        list('customer A'),
        list('customer B'),
        list('admin'),
      ]);
      const bobId = json<{ id: string }>(
        await call({ method: 'GET', path: '/api/users/me', headers: auth['customer B'] }),
      ).id;
      assert.ok(
        aList.length > 0 && aList.every((o) => o.userId === me.id),
        "customer A's list holds only A's orders",
      );
      assert.ok(
        bList.every((o) => o.userId === bobId) && !bList.some((o) => o.id === aliceOrder),
        "customer B's list holds none of A's orders",
      );
      assert.ok(
        new Set(adminList.map((o) => o.userId)).size > 1,
        "the admin's list holds several customers' orders",
      );

      scenario.trials = rows.length;
      scenario.requests = requests;
      scenario.errors = wrong.length;
      scenario.note(
        `${rows.length} operations (every one in /openapi.json) × 4 callers; customer A is alice@example.com, customer B bob@example.com, admin admin@example.com; the object routes aim at customer A's order and user record`,
      );
      scenario.note(
        "refused writes leave their target unchanged (checked after each); order lists show only the caller's own orders to customers",
      );
      scenario.detail(
        [
          '| operation | anonymous | customer A | customer B | admin |',
          '|---|---|---|---|---|',
          ...rows,
        ].join('\n'),
      );
      assert.deepEqual(wrong, [], 'every route answers every caller as expected');
    } finally {
      await api.stop();
    }
  });
});

const authority = new Scenario(
  'authority',
  'Authorization: authority from the database, tokens shaped as issued',
);

test("a demoted admin loses admin rights at once; a deleted user's token stops everywhere; forged claims are refused", async () => {
  await authority.run(async () => {
    const api = await Api.start({ databaseUrl: db.url });
    try {
      const { t, products } = await readyWithData(api, db.url);
      const product = products[0] as Product;
      let requests = 0;
      const wrong: string[] = [];
      const expect = async (what: string, spec: RequestSpec, status: number) => {
        const r = await api.request(spec);
        requests++;
        if (r.status !== status)
          wrong.push(
            `${what}: ${spec.method} ${spec.path} answered ${r.status}, expected ${status}`,
          );
        return r;
      };
      const stamp = randomUUID().slice(0, 8);
      const create = async (role: 'admin' | 'customer', label: string) => {
        const email = `authority-${label}-${role}-${stamp}@example.com`;
        const r = await expect(
          `create ${role}`,
          {
            method: 'POST',
            path: '/api/users',
            headers: bearer(t.admin),
            body: { email, name: `Authority ${role}`, role },
          },
          201,
        );
        return {
          id: (JSON.parse(r.body) as { id: string }).id,
          token: await tokenFor(db.url, email),
        };
      };
      const order = JSON.parse(
        (
          await expect(
            "alice's order",
            {
              method: 'POST',
              path: '/api/orders',
              headers: { ...bearer(t.alice), 'idempotency-key': randomUUID() },
              body: { items: [{ productId: product.id, quantity: 1 }] },
            },
            201,
          )
        ).body,
      ) as { id: string };

      // An admin, then demoted in the database while its token (valid 24 h) is unchanged.
      const admin = await create('admin', 'demoted');
      const adminOps: [string, () => RequestSpec, number, number][] = [
        [
          'create a user',
          () => ({
            method: 'POST',
            path: '/api/users',
            body: { email: `made-${randomUUID().slice(0, 8)}@example.com`, name: 'Made' },
          }),
          201,
          403,
        ],
        [
          "read another customer's order",
          () => ({ method: 'GET', path: `/api/orders/${order.id}` }),
          200,
          404,
        ],
        [
          'change a price',
          () => ({
            method: 'PATCH',
            path: `/api/products/${product.id}`,
            body: { priceCents: product.priceCents },
          }),
          200,
          403,
        ],
      ];
      for (const [what, spec, before] of adminOps)
        await expect(`admin: ${what}`, { ...spec(), headers: bearer(admin.token) }, before);
      await query(db.url, "UPDATE users SET role = 'customer' WHERE id = $1", [admin.id]);
      for (const [what, spec, , after] of adminOps)
        await expect(`demoted: ${what}`, { ...spec(), headers: bearer(admin.token) }, after);
      const listed = JSON.parse(
        (
          await expect(
            'demoted: list orders',
            { method: 'GET', path: '/api/orders?limit=100', headers: bearer(admin.token) },
            200,
          )
        ).body,
      ) as { items: unknown[] };
      if (listed.items.length !== 0)
        wrong.push(`demoted admin still lists ${listed.items.length} orders of others`);

      // Deleted users, customer and admin: every authenticated operation answers 401.
      const doc = JSON.parse(
        (await api.request({ method: 'GET', path: '/openapi.json' })).body,
      ) as {
        paths: Record<string, Record<string, { security?: unknown[] }>>;
      };
      const secured = Object.entries(doc.paths).flatMap(([path, ops]) =>
        Object.entries(ops)
          .filter(([, op]) => (op.security?.length ?? 0) > 0)
          .map(([method]) => ({ method: method.toUpperCase(), path })),
      );
      for (const role of ['customer', 'admin'] as const) {
        const gone = await create(role, 'deleted');
        await expect(
          `${role} before deletion`,
          { method: 'GET', path: '/api/users/me', headers: bearer(gone.token) },
          200,
        );
        await query(db.url, 'DELETE FROM users WHERE id = $1', [gone.id]);
        for (const op of secured) {
          const path = op.path.replace(
            /\{[^}]+\}/g,
            op.path.startsWith('/api/products') ? product.id : order.id,
          );
          await expect(
            `deleted ${role}`,
            {
              method: op.method as RequestSpec['method'],
              path,
              headers: bearer(gone.token),
              ...(['POST', 'PATCH', 'PUT'].includes(op.method) ? { body: {} } : {}),
            },
            401,
          );
        }
      }

      // Tokens signed with the real secret but not shaped as the API issues them.
      const forged = Object.entries(forgedTokens(t.admin, jwtSecret)).filter(([what]) =>
        /iss|aud|iat|typ|lifetime/.test(what),
      );
      for (const [what, token] of forged)
        await expect(
          `forged (${what})`,
          { method: 'GET', path: '/api/users/me', headers: bearer(token) },
          401,
        );

      authority.trials = adminOps.length * 2 + secured.length * 2 + forged.length;
      authority.requests = requests;
      authority.errors = wrong.length;
      authority.note(
        `an admin made through the API, then demoted with UPDATE users: ${adminOps.map(([w]) => w).join(', ')} answer 403/404 on the next request, with the same token`,
      );
      authority.note(
        `a customer and an admin deleted with DELETE FROM users: all ${secured.length} authenticated operations of /openapi.json answer 401 with their tokens`,
      );
      authority.note(
        `${forged.length} tokens signed with the real secret but without iss, aud or iat, with another iss, typ or none, or a ten-year lifetime: all 401 (${forged.map(([w]) => w).join(', ')})`,
      );
      assert.deepEqual(wrong, [], 'authority follows the database');
    } finally {
      await api.stop();
    }
  });
});
