import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { before, test } from 'node:test';
import { requiredSchemaVersion } from '@order-food/platform/model';
import fc from 'fast-check';
import { Api, bearer, type Product, readyWithData } from './lib/fixture.js';
import type { HttpResponse, RequestSpec } from './lib/http.js';
import { Contract, type OpenApiDocument } from './lib/openapi-contract.js';
import { createDatabase, query, requirePostgres } from './lib/pg.js';
import { previousRelease, type Release, runBuilt } from './lib/previous-release.js';
import { load, migrate } from './lib/programs.js';
import { Scenario } from './lib/report.js';
import { resolver, type Schema, valid } from './lib/schema-arbitraries.js';
import { statusLine } from './lib/traffic.js';
import { waitFor } from './lib/wait.js';

type Caller = 'anonymous' | 'alice' | 'bob' | 'admin';

interface Call {
  who: Caller;
  /** The request a correct client makes: the answer must be a 2xx. */
  happy?: boolean;
  request: () => Promise<RequestSpec>;
}

const scenario = new Scenario(
  'previous-release',
  "N-1: the previous release's API on the newest schema",
);

before(requirePostgres);

test("the previous release's API on a database HEAD migrated and loaded: every operation answers as its own OpenAPI document says, no 5xx", async (t) => {
  const release = await previousRelease(t);
  if (!release) return;
  await scenario.run(async () => {
    scenario.note(
      `previous release ${release.tag} (${release.commit.slice(0, 12)}): ${release.builtNow ? 'built by this run' : 'build taken from ~/.cache/order-food'}; npm ci + npm run build took ${(release.buildMs / 1000).toFixed(0)} s`,
    );
    const db = await createDatabase('n1');
    try {
      await migrate(db.url);
      await load(db.url);
      const [head] = await query<{ v: number }>(
        db.url,
        'SELECT max(version)::int AS v FROM schema_migrations WHERE success',
      );
      const written = await ordersByHead(db.url);
      const api = await Api.start({ databaseUrl: db.url, start: release.start });
      try {
        await contractChecks(api, db.url, release, head?.v ?? 0, written);
      } finally {
        await api.stop();
      }
    } finally {
      await db.drop();
    }
  });
});

/**
 * Orders placed through HEAD's API with every optional field of its order body filled (values its
 * schema accepts), as a newer replica writes them: the old API then reads them back.
 */
async function ordersByHead(url: string): Promise<string[]> {
  const api = await Api.start({ databaseUrl: url });
  try {
    const { t, products } = await readyWithData(api, url);
    const doc = JSON.parse((await api.request({ method: 'GET', path: '/openapi.json' })).body);
    const body = doc.paths['/api/orders'].post.requestBody.content['application/json']
      .schema as Schema;
    const resolve = resolver(doc.components?.schemas);
    const optional = Object.entries(resolve(body).properties ?? {}).filter(([k]) => k !== 'items');
    const ids: string[] = [];
    for (let i = 0; i < 20 && ids.length < 3; i++) {
      const extra = Object.fromEntries(
        optional.map(([k, v]) => [k, fc.sample(valid(v, resolve), { numRuns: 1, seed: i })[0]]),
      );
      const r = await api.request({
        method: 'POST',
        path: '/api/orders',
        headers: { ...bearer(t.alice), 'idempotency-key': randomUUID() },
        body: { ...extra, items: [{ productId: (products[i] as Product).id, quantity: 1 }] },
      });
      if (r.status === 201) ids.push((JSON.parse(r.body) as { id: string }).id);
    }
    assert.ok(ids.length > 0, "HEAD's API took orders with its optional fields filled");
    scenario.note(
      `${ids.length} orders placed through HEAD's API with its optional order fields filled (${optional.map(([k]) => k).join(', ') || 'none'}) are read back by the old API`,
    );
    return ids;
  } finally {
    await api.stop();
  }
}

async function contractChecks(
  api: Api,
  url: string,
  release: Release,
  schema: number,
  written: string[],
) {
  const { t, products } = await readyWithData(api, url);
  const product = products[0] as Product;
  const auth: Record<Caller, Record<string, string>> = {
    anonymous: {},
    alice: bearer(t.alice),
    bob: bearer(t.bob),
    admin: bearer(t.admin),
  };
  const send = (who: Caller, spec: RequestSpec) =>
    api.request({ ...spec, headers: { ...(spec.headers ?? {}), ...auth[who] } });
  const created = async (who: Caller, spec: RequestSpec): Promise<string> => {
    const r = await send(who, spec);
    assert.equal(r.status, 201, `${spec.method} ${spec.path}: ${r.body}`);
    return (JSON.parse(r.body) as { id: string }).id;
  };
  const order = () =>
    created('alice', {
      method: 'POST',
      path: '/api/orders',
      headers: { 'idempotency-key': randomUUID() },
      body: { items: [{ productId: product.id, quantity: 1 }] },
    });
  const newProduct = () =>
    created('admin', {
      method: 'POST',
      path: '/api/products',
      body: {
        sku: `N1-${randomUUID().slice(0, 8).toUpperCase()}`,
        name: 'N-1 dish',
        category: 'test',
        priceCents: 500,
      },
    });
  const alice = JSON.parse((await send('alice', { method: 'GET', path: '/api/users/me' })).body)
    .id as string;
  const get = (path: string) => async (): Promise<RequestSpec> => ({ method: 'GET', path });
  const missing = randomUUID();
  const calls: Record<string, Call[]> = {
    'GET /health': [{ who: 'anonymous', happy: true, request: get('/health') }],
    'GET /ready': [{ who: 'anonymous', happy: true, request: get('/ready') }],
    'GET /metrics': [{ who: 'anonymous', happy: true, request: get('/metrics') }],
    'GET /api/products': [
      { who: 'anonymous', happy: true, request: get('/api/products?limit=100') },
      { who: 'anonymous', request: get('/api/products?limit=0') },
    ],
    'GET /api/product': [{ who: 'anonymous', happy: true, request: get('/api/product') }],
    'GET /api/products/{id}': [
      { who: 'anonymous', happy: true, request: get(`/api/products/${product.id}`) },
      { who: 'anonymous', request: get(`/api/products/${missing}`) },
      { who: 'anonymous', request: get('/api/products/not-an-id') },
    ],
    'POST /api/products': [
      {
        who: 'admin',
        happy: true,
        request: async () => ({
          method: 'POST',
          path: '/api/products',
          body: {
            sku: `N1-${randomUUID().slice(0, 8).toUpperCase()}`,
            name: 'N-1',
            category: 'test',
            priceCents: 100,
          },
        }),
      },
      { who: 'alice', request: async () => ({ method: 'POST', path: '/api/products', body: {} }) },
      { who: 'admin', request: async () => ({ method: 'POST', path: '/api/products', body: {} }) },
    ],
    'PATCH /api/products/{id}': [
      {
        who: 'admin',
        happy: true,
        request: async () => ({
          method: 'PATCH',
          path: `/api/products/${await newProduct()}`,
          body: { priceCents: 999 },
        }),
      },
      {
        who: 'anonymous',
        request: async () => ({ method: 'PATCH', path: `/api/products/${missing}`, body: {} }),
      },
    ],
    'DELETE /api/products/{id}': [
      {
        who: 'admin',
        happy: true,
        request: async () => ({ method: 'DELETE', path: `/api/products/${await newProduct()}` }),
      },
      {
        who: 'admin',
        request: async () => ({ method: 'DELETE', path: `/api/products/${missing}` }),
      },
    ],
    'GET /api/users/me': [
      { who: 'alice', happy: true, request: get('/api/users/me') },
      { who: 'anonymous', request: get('/api/users/me') },
    ],
    'GET /api/users/{id}': [
      { who: 'admin', happy: true, request: get(`/api/users/${alice}`) },
      { who: 'bob', request: get(`/api/users/${alice}`) },
    ],
    'POST /api/users': [
      {
        who: 'admin',
        happy: true,
        request: async () => ({
          method: 'POST',
          path: '/api/users',
          body: { email: `n1-${randomUUID().slice(0, 8)}@example.com`, name: 'N-1' },
        }),
      },
      {
        who: 'admin',
        request: async () => ({ method: 'POST', path: '/api/users', body: { email: 'x' } }),
      },
    ],
    'POST /api/orders': [
      {
        who: 'alice',
        happy: true,
        request: async () => ({
          method: 'POST',
          path: '/api/orders',
          headers: { 'idempotency-key': randomUUID() },
          body: { items: [{ productId: product.id, quantity: 2 }] },
        }),
      },
      {
        who: 'alice',
        request: async () => ({
          method: 'POST',
          path: '/api/orders',
          headers: { 'idempotency-key': randomUUID() },
          body: { items: [] },
        }),
      },
      {
        who: 'anonymous',
        request: async () => ({ method: 'POST', path: '/api/orders', body: {} }),
      },
    ],
    // The loaded orders were written by HEAD's loader: the old API reads them back here.
    'GET /api/orders': [
      { who: 'alice', happy: true, request: get('/api/orders?limit=100') },
      { who: 'admin', happy: true, request: get('/api/orders?limit=100') },
      { who: 'alice', request: get('/api/orders?status=nonsense') },
    ],
    'GET /api/orders/{id}': [
      { who: 'alice', happy: true, request: async () => get(`/api/orders/${await order()}`)() },
      ...written.map(
        (id): Call => ({ who: 'alice', happy: true, request: get(`/api/orders/${id}`) }),
      ),
      { who: 'alice', request: get(`/api/orders/${missing}`) },
    ],
    'POST /api/orders/{id}/cancel': [
      {
        who: 'alice',
        happy: true,
        request: async () => ({ method: 'POST', path: `/api/orders/${await order()}/cancel` }),
      },
    ],
    'PATCH /api/orders/{id}/status': [
      {
        who: 'admin',
        happy: true,
        request: async () => ({
          method: 'PATCH',
          path: `/api/orders/${await order()}/status`,
          body: { status: 'confirmed' },
        }),
      },
      {
        who: 'alice',
        request: async () => ({
          method: 'PATCH',
          path: `/api/orders/${await order()}/status`,
          body: { status: 'confirmed' },
        }),
      },
    ],
  };

  const doc = JSON.parse((await api.request({ method: 'GET', path: '/openapi.json' })).body);
  const contract = new Contract(doc as OpenApiDocument);
  const operations = contract.operations();
  assert.deepEqual(
    operations.filter((op) => !calls[op]),
    [],
    `every operation of ${release.tag}'s document has calls here`,
  );
  const wrong: string[] = [];
  const byStatus: Record<string, number> = {};
  const rows: string[] = [];
  for (const op of operations) {
    const seen: string[] = [];
    for (const c of calls[op] as Call[]) {
      const spec = await c.request();
      const r: HttpResponse = await send(c.who, spec);
      byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
      seen.push(`${c.who} ${r.status}`);
      const problem = contract.check(op, r);
      if (problem) wrong.push(`${op} as ${c.who}: ${problem}`);
      if (r.status >= 500) wrong.push(`${op} as ${c.who}: ${r.status} ${r.body.slice(0, 200)}`);
      if (c.happy && (r.status < 200 || r.status > 299))
        wrong.push(`${op} as ${c.who}: ${r.status} to a correct request: ${r.body.slice(0, 200)}`);
    }
    rows.push(`| ${op} | ${contract.documentedStatuses(op).join(', ')} | ${seen.join(', ')} |`);
  }
  // The check itself catches a broken body: a real product with its id taken out fails it.
  const op = 'GET /api/products/{id}';
  const real = await send('anonymous', { method: 'GET', path: `/api/products/${product.id}` });
  const { id: _id, ...withoutId } = JSON.parse(real.body) as Record<string, unknown>;
  assert.equal(contract.check(op, real), undefined);
  assert.match(
    contract.check(op, { ...real, body: JSON.stringify(withoutId) }) ?? '',
    /does not match its schema/,
  );
  const requests = Object.values(byStatus).reduce((a, b) => a + b, 0);
  scenario.trials = operations.length;
  scenario.requests = requests;
  scenario.errors = wrong.length;
  scenario.note(
    `${release.tag}'s API (its dist/, started as its image starts it) on a database at schema version ${schema}, migrated and loaded by HEAD's programs; ${operations.length} operations of its own /openapi.json, ${requests} requests (statuses ${statusLine(byStatus)}); every answer's status is documented and its body matches the documented schema (Ajv, JSON Schema 2020-12)`,
  );
  scenario.detail(
    ['| operation | documented | caller and status |', '|---|---|---|', ...rows].join('\n'),
  );
  assert.deepEqual(wrong, [], `${release.tag}'s API keeps its own contract on HEAD's schema`);
}

test("HEAD's API on a database only the previous release migrated: /ready 503 naming the versions when it needs a newer schema, 200 once HEAD's migration ran", async (t) => {
  const release = await previousRelease(t);
  if (!release) return;
  // Made here, not at load: a scenario's seconds count from its construction.
  const refusal = new Scenario(
    'previous-release-schema',
    "HEAD's API on the previous release's schema",
  );
  await refusal.run(async () => {
    const db = await createDatabase('n1_old');
    try {
      const env = { DATABASE_URL: db.url, LOG_LEVEL: 'warn', DB_WAIT_TIMEOUT: '30' };
      for (const program of ['database-migration', 'database-load'] as const) {
        const r = await runBuilt(release, program, [], { env });
        assert.equal(r.code, 0, `${release.tag}'s ${program}: ${r.stdout}\n${r.stderr}`);
      }
      const [old] = await query<{ v: number }>(
        db.url,
        'SELECT max(version)::int AS v FROM schema_migrations WHERE success',
      );
      const oldVersion = old?.v ?? 0;
      const needs = requiredSchemaVersion['order-food'];
      const api = await Api.start({ databaseUrl: db.url, env: { READY_CACHE: '0' } });
      try {
        if (needs > oldVersion) {
          const ready = await waitFor(
            "HEAD's API to answer /ready",
            async () => {
              const r = await api.request({ method: 'GET', path: '/ready' }, 2000);
              return r.status === 503 && /schema/.test(r.body) ? r : undefined;
            },
            { timeoutMs: 60_000 },
          );
          // The public answer names the class of the reason; the log names the versions.
          assert.match(ready.body, /database schema is older than this build needs/);
          const named = new RegExp(`version is ${oldVersion}, this build needs ${needs}`);
          assert.ok(
            await api.proc.waitForOutput(named, 10_000),
            `the API's log names schema ${oldVersion} and ${needs}:\n${api.proc.tail()}`,
          );
          refusal.note(
            `${release.tag}'s migrations end at schema ${oldVersion}; HEAD's API needs ${needs}: /ready answered 503 "${JSON.parse(ready.body).detail}" and logged "database schema version is ${oldVersion}, this build needs ${needs} or later"`,
          );
        } else {
          await api.waitReady();
          refusal.note(
            `HEAD's API needs schema ${needs}, which ${release.tag}'s migrations (up to ${oldVersion}) already give: /ready 200 on the older schema`,
          );
        }
        await migrate(db.url);
        await api.waitReady();
        refusal.note("after HEAD's database-migration ran on that database: /ready 200");
        refusal.trials = 1;
        refusal.requests = 2;
      } finally {
        await api.stop();
      }
    } finally {
      await db.drop();
    }
  });
});
