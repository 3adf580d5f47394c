import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import fc from 'fast-check';
import { jwtSecret } from './lib/api.js';
import {
  type CodePointClass,
  codePointClasses,
  percentEncode,
  textOf,
  unstorable,
  wireBytes,
} from './lib/code-points.js';
import { Api, bearer, fileDatabase, type Product, readyWithData } from './lib/fixture.js';
import { type HttpResponse, type RequestSpec, rawRequest } from './lib/http.js';
import { forgedTokens } from './lib/jwt.js';
import { query } from './lib/pg.js';
import { Scenario } from './lib/report.js';
import {
  deepNesting,
  invalidBody,
  invalidValue,
  resolver,
  type Schema,
  textInBody,
} from './lib/schema-arbitraries.js';

/** Runs per generated property; the whole file sends a few thousand requests. */
const runs = Number(process.env.RELIABILITY_FUZZ_RUNS ?? 60);

interface Operation {
  method: string;
  path: string;
  parameters: { in: string; name: string; required?: boolean; schema: Schema }[];
  body?: Schema;
  secured: boolean;
}

const scenario = new Scenario(
  'bad-input',
  'Bad input: fuzzing every route from the OpenAPI document',
);
const db = fileDatabase('fuzz');

const stackTrace =
  /\n\s+at |\bat [^\s]+ \([^)]*:\d+:\d+\)|node_modules|\/work\/|\.ts:\d+|\.js:\d+:\d+/;
const sqlLeak =
  /syntax error at or near|violates (check|foreign key|unique|not-null) constraint|invalid input syntax for|invalid byte sequence|relation "[^"]+" does not exist|SELECT .* FROM|INSERT INTO/i;

/** Everything stored, summarized: equal before and after means the fuzzing stored nothing. */
async function storage(url: string): Promise<string> {
  const rows = await query<{ t: string; d: string | null; n: number }>(
    url,
    `SELECT 'users' AS t, count(*)::int AS n, md5(string_agg(u::text, '|' ORDER BY id)) AS d FROM users u
     UNION ALL SELECT 'products', count(*)::int, md5(string_agg(p::text, '|' ORDER BY id)) FROM products p
     UNION ALL SELECT 'orders', count(*)::int, md5(string_agg(o::text, '|' ORDER BY id)) FROM orders o
     UNION ALL SELECT 'order_items', count(*)::int, md5(string_agg(i::text, '|' ORDER BY order_id, line_no)) FROM order_items i
     UNION ALL SELECT 'idempotency_keys', count(*)::int, md5(string_agg(k::text, '|' ORDER BY user_id, key)) FROM idempotency_keys k`,
  );
  return rows.map((r) => `${r.t}=${r.n}:${r.d}`).join(' ');
}

test(`fuzzing every route and parameter (${runs} runs per property): never a 5xx, never a stack trace, nothing stored`, async () => {
  await scenario.run(async () => {
    const api = await Api.start({ databaseUrl: db.url, env: { LOG_LEVEL: 'error' } });
    try {
      const { t, products } = await readyWithData(api, db.url);
      const product = products[0] as Product;
      const placed = await api.request({
        method: 'POST',
        path: '/api/orders',
        headers: { ...bearer(t.alice), 'idempotency-key': randomUUID() },
        body: { items: [{ productId: product.id, quantity: 1 }] },
      });
      assert.equal(placed.status, 201, placed.body);
      const aliceOrder = (JSON.parse(placed.body) as { id: string }).id;
      const firstPage = JSON.parse(
        (await api.request({ method: 'GET', path: '/api/products?limit=1' })).body,
      ) as {
        nextCursor: string;
      };
      const realCursor = firstPage.nextCursor;

      const doc = JSON.parse(
        (await api.request({ method: 'GET', path: '/openapi.json' })).body,
      ) as {
        paths: Record<
          string,
          Record<
            string,
            {
              parameters?: Operation['parameters'];
              requestBody?: { content: Record<string, { schema: Schema }> };
              security?: unknown[];
            }
          >
        >;
        components?: { schemas?: Record<string, Schema> };
      };
      const resolve = resolver(doc.components?.schemas);
      const operations: Operation[] = Object.entries(doc.paths).flatMap(([path, ops]) =>
        Object.entries(ops)
          .filter(([m]) => ['get', 'post', 'put', 'patch', 'delete'].includes(m))
          .map(([m, op]) => ({
            method: m.toUpperCase(),
            path,
            parameters: op.parameters ?? [],
            body: op.requestBody?.content['application/json']?.schema,
            secured: (op.security ?? []).length > 0,
          })),
      );
      const idFor = (op: Operation) =>
        op.path.startsWith('/api/orders')
          ? aliceOrder
          : op.path.startsWith('/api/users')
            ? (undefined as unknown as string)
            : product.id;
      // The caller that reaches validation: an admin (may do anything), so a 2xx would really store.
      const adminHeaders = bearer(t.admin);
      const fill = (op: Operation, id: string) => op.path.replace('{id}', id);
      /** Where a body goes: a real order or product, as the admin; a new order needs its own key. */
      const bodyTarget = (op: Operation, headers: Record<string, string> = {}) => ({
        path: fill(op, op.path.startsWith('/api/orders') ? aliceOrder : product.id),
        headers: {
          ...adminHeaders,
          ...headers,
          ...(op.path === '/api/orders' ? { 'idempotency-key': randomUUID() } : {}),
        },
      });

      const before = await storage(db.url);
      const counts: Record<string, Record<string, number>> = {};
      const violations: string[] = [];
      const grouped = new Map<string, { count: number; example: string }>();
      let requests = 0;
      const send = async (
        category: string,
        op: Operation,
        spec: RequestSpec,
        what: string,
        mustRefuse: boolean,
        cutOff = false,
        transport: () => Promise<HttpResponse> = () => api.request(spec, 20_000),
      ) => {
        let res: HttpResponse;
        try {
          res = await transport();
        } catch (err) {
          // The server may refuse an oversized upload by closing the connection mid-body.
          const code = (err as { code?: string }).code;
          if (cutOff && (code === 'EPIPE' || code === 'ECONNRESET')) {
            counts[category] ??= {};
            const c = counts[category];
            c['connection closed by the server'] = (c['connection closed by the server'] ?? 0) + 1;
            requests++;
            return undefined;
          }
          violations.push(
            `${category} ${op.method} ${op.path} (${what}): no response: ${(err as Error).message}`,
          );
          return undefined;
        }
        requests++;
        counts[category] ??= {};
        const c = counts[category];
        c[res.status] = (c[res.status] ?? 0) + 1;
        const problems: string[] = [];
        if (res.status >= 500) problems.push(`status ${res.status}`);
        if (stackTrace.test(res.body)) problems.push('a stack trace or file path in the body');
        if (sqlLeak.test(res.body)) problems.push('SQL or a database message in the body');
        if (
          res.status >= 400 &&
          !String(res.headers['content-type'] ?? '').startsWith('application/problem+json')
        )
          problems.push(`content-type ${res.headers['content-type']} for an error`);
        if (mustRefuse && res.status < 400) problems.push(`accepted with ${res.status}`);
        for (const problem of problems) {
          const key = `${category} ${op.method} ${op.path}: ${problem}`;
          const seen = grouped.get(key);
          if (seen) seen.count++;
          else
            grouped.set(key, {
              count: 1,
              example: `${spec.method} ${spec.path.slice(0, 100)} (${what.slice(0, 100)}) → ${res.status} ${res.body.slice(0, 160)}`,
            });
        }
        if (problems.length > 0)
          violations.push(
            `${category} ${spec.method} ${spec.path.slice(0, 120)} (${what.slice(0, 120)}): ${problems.join('; ')}; body ${res.body.slice(0, 200)}`,
          );
        return res;
      };

      // 1. Bodies that break their schema in one place, sent by an admin to a real target.
      for (const op of operations.filter((o) => o.body)) {
        await fc.assert(
          fc.asyncProperty(invalidBody(op.body as Schema, resolve), async (m) => {
            await send(
              'invalid bodies',
              op,
              { method: op.method, ...bodyTarget(op), body: m.body },
              m.what,
              true,
            );
          }),
          { numRuns: runs },
        );
      }

      // 2. Path parameters: wrong types, long and unicode strings, null bytes, traversal.
      const ids = fc.oneof(
        fc.string({ maxLength: 300, unit: 'grapheme' }).filter((s) => s.length > 0),
        fc.string({ minLength: 1, maxLength: 40, unit: 'binary' }),
        fc.constantFrom(
          '0',
          '-1',
          '1e309',
          '99999999999999999999999',
          'null',
          '..',
          '%2e%2e',
          '00000000-0000-0000-0000-000000000000',
          'x'.repeat(5000),
        ),
        fc.uuid().map((u) => `${u}\u0000`),
      );
      for (const op of operations.filter((o) => o.path.includes('{id}'))) {
        await fc.assert(
          fc.asyncProperty(ids, async (id) => {
            const spec: RequestSpec = {
              method: op.method,
              path: fill(op, encodeURIComponent(id)),
              headers: adminHeaders,
            };
            if (op.body) spec.body = {};
            await send(
              'path parameters',
              op,
              spec,
              JSON.stringify(id).slice(0, 60),
              op.method !== 'GET',
            );
          }),
          { numRuns: Math.ceil(runs / 2) },
        );
      }

      // 3. Query parameters: wrong types, huge numbers, unicode, forged cursors, repeats.
      const forgedCursors = fc.oneof(
        fc.constantFrom(
          Buffer.from('{"name":"x","id":"not-a-uuid"}').toString('base64url'),
          Buffer.from('{"createdAt":"yesterday","id":1}').toString('base64url'),
          Buffer.from('[]').toString('base64url'),
          Buffer.from('null').toString('base64url'),
          Buffer.from('{"__proto__":{"admin":true}}').toString('base64url'),
          Buffer.from(`{"name":"${'a'.repeat(400)}"}`).toString('base64url'),
          `${realCursor}x`,
          realCursor.slice(0, -3),
          realCursor.split('').reverse().join(''),
          '!!!',
          '%00',
        ),
        fc
          .string({ minLength: 1, maxLength: 600 })
          .map((s) => Buffer.from(s).toString('base64url')),
        fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v) ?? 'null').toString('base64url')),
      );
      for (const op of operations.filter((o) => o.parameters.some((p) => p.in === 'query'))) {
        const params = op.parameters.filter((p) => p.in === 'query');
        const model: Record<string, fc.Arbitrary<unknown>> = {};
        for (const p of params)
          model[p.name] =
            p.name === 'cursor'
              ? forgedCursors
              : fc.oneof(
                  invalidValue(p.schema, resolve),
                  fc.string({ unit: 'grapheme', maxLength: 200 }),
                );
        model.unknownParameter = fc.string({ maxLength: 20 });
        await fc.assert(
          fc.asyncProperty(
            fc.record(model, { requiredKeys: [] }),
            fc.boolean(),
            async (values, repeat) => {
              const qs = new URLSearchParams();
              for (const [k, v] of Object.entries(values)) {
                const text = typeof v === 'string' ? v : (JSON.stringify(v) ?? '');
                qs.append(k, text);
                if (repeat) qs.append(k, text);
              }
              const spec: RequestSpec = {
                method: op.method,
                path: `${fill(op, product.id)}?${qs}`,
                headers: adminHeaders,
              };
              await send(
                'query parameters',
                op,
                spec,
                qs.toString().slice(0, 80),
                op.method !== 'GET',
              );
            },
          ),
          { numRuns: runs },
        );
      }

      // A request line past the server's header size limit (refused before routing: one route will do).
      for (const op of operations.filter((o) => o.method === 'GET' && o.path === '/api/products')) {
        const spec: RequestSpec = {
          method: 'GET',
          path: `${fill(op, product.id)}?q=${'x'.repeat(20_000)}`,
          headers: adminHeaders,
        };
        await send('query parameters', op, spec, '20 KB query string', false);
      }

      // 4. Bodies that are not JSON objects of a sane size: broken, deep, huge, mislabelled.
      const rawBodies: { what: string; body: string | Buffer; type?: string }[] = [
        { what: 'broken JSON', body: '{"items": [' },
        { what: 'trailing garbage', body: '{"status":"confirmed"} x' },
        { what: 'single quotes', body: "{'status':'confirmed'}" },
        { what: 'not UTF-8', body: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]) },
        { what: 'a bare string', body: '"hello"' },
        { what: 'a bare number', body: '1e999' },
        { what: 'null', body: 'null' },
        { what: 'an array', body: '[]' },
        { what: 'empty body', body: '' },
        { what: 'nested arrays 10000 deep', body: deepNesting(10_000, 'array') },
        { what: 'nested objects 5000 deep', body: deepNesting(5000, 'object') },
        { what: 'body over the 64 KiB limit', body: JSON.stringify({ name: 'x'.repeat(70_000) }) },
        { what: '8 MiB body', body: Buffer.alloc(8 * 1024 * 1024, 0x20) },
        {
          what: '__proto__ poisoning',
          body: '{"__proto__":{"role":"admin"},"status":"confirmed"}',
        },
        { what: 'constructor poisoning', body: '{"constructor":{"prototype":{"role":"admin"}}}' },
        { what: 'duplicate keys', body: '{"status":"confirmed","status":"nonsense"}' },
        { what: 'null bytes', body: '{"name":"\\u0000","status":"\\u0000"}' },
        {
          what: 'form encoded',
          body: 'status=confirmed',
          type: 'application/x-www-form-urlencoded',
        },
        { what: 'text/plain', body: '{"status":"confirmed"}', type: 'text/plain' },
        { what: 'XML', body: '<status>confirmed</status>', type: 'application/xml' },
      ];
      for (const op of operations.filter((o) => o.body)) {
        for (const raw of rawBodies) {
          await send(
            'raw bodies',
            op,
            {
              method: op.method,
              ...bodyTarget(op, { 'content-type': raw.type ?? 'application/json' }),
              body: raw.body,
            },
            raw.what,
            true,
            raw.body.length > 1024 * 1024,
          );
        }
      }

      // 5. Tokens: forged from a real one, and random Authorization headers.
      const forged = forgedTokens(t.alice, jwtSecret);
      const forgedAdmin = forgedTokens(t.admin, jwtSecret);
      for (const op of operations.filter((o) => o.secured)) {
        const path = fill(op, idFor(op) ?? randomUUID());
        for (const [what, token] of [
          ...Object.entries(forged),
          ...Object.entries(forgedAdmin).map(([k, v]) => [`admin ${k}`, v] as const),
        ]) {
          const spec: RequestSpec = {
            method: op.method,
            path,
            headers: { authorization: `Bearer ${token}` },
          };
          if (op.body) spec.body = {};
          const status = (await send('forged tokens', op, spec, what, true))?.status;
          if (status !== 401)
            violations.push(
              `forged tokens ${op.method} ${op.path}: token "${what}" was not answered 401`,
            );
        }
      }
      const schemes = fc
        .oneof(
          fc.string({ maxLength: 300 }).map((s) => `Bearer ${s}`),
          fc.constantFrom(
            'Bearer',
            'Bearer ',
            'bearer x.y.z',
            'Basic YWRtaW46YWRtaW4=',
            `Token ${t.alice}`,
            `Bearer ${t.alice} ${t.admin}`,
            `Bearer  ${t.alice}x`,
          ),
          fc.string({ maxLength: 100 }),
        )
        .filter((h) => /^[\t\x20-\x7e]*$/.test(h));
      const securedOps = operations.filter((o) => o.secured);
      await fc.assert(
        fc.asyncProperty(schemes, fc.nat({ max: securedOps.length - 1 }), async (header, i) => {
          const op = securedOps[i] as Operation;
          const spec: RequestSpec = {
            method: op.method,
            path: fill(op, idFor(op) ?? randomUUID()),
            headers: { authorization: header },
          };
          if (op.body) spec.body = {};
          await send('bad Authorization headers', op, spec, header.slice(0, 40), true);
        }),
        { numRuns: runs },
      );

      // 6. The Idempotency-Key header out of bounds, with an otherwise valid order.
      const orderOp = operations.find(
        (o) => o.method === 'POST' && o.path === '/api/orders',
      ) as Operation;
      await fc.assert(
        fc.asyncProperty(
          fc
            .string({ minLength: 256, maxLength: 4000 })
            .filter((s) => /^[\x21-\x7e][\x20-\x7e]*[\x21-\x7e]$/.test(s)),
          async (key) => {
            const spec: RequestSpec = {
              method: 'POST',
              path: '/api/orders',
              headers: { ...bearer(t.alice), 'idempotency-key': key },
              body: { items: [{ productId: product.id, quantity: 1 }] },
            };
            await send('Idempotency-Key too long', orderOp, spec, `${key.length} characters`, true);
          },
        ),
        { numRuns: Math.ceil(runs / 3) },
      );

      // 7. Every class of code point in every place a client puts a string. NUL and lone
      // surrogates must be refused with a 400 that says why; the rest must never be a 5xx.
      const byClass: Record<string, Record<string, number>> = {};
      let unstorableSent = 0;
      let unstorableRefused = 0;
      const textReason =
        /U\+0000|not valid Unicode|percent-encoded UTF-8|not a valid url component|cursor is not valid/;
      const sendText = async (
        location: string,
        cls: CodePointClass,
        op: Operation,
        spec: RequestSpec,
        mustRefuse: boolean,
        transport?: () => Promise<HttpResponse>,
      ) => {
        const res = await send(
          `code points: ${location}`,
          op,
          spec,
          `${cls} in ${location}`,
          mustRefuse || unstorable.has(cls),
          false,
          transport,
        );
        byClass[cls] ??= {};
        const row = byClass[cls];
        row[location] = (row[location] ?? 0) + 1;
        // HTTP header bytes are Latin-1 text: only NUL is unstorable there, and the HTTP parser
        // refuses it before any route runs.
        if (!unstorable.has(cls) || location === 'headers' || !res) return;
        unstorableSent++;
        if (res.status === 400 && textReason.test(res.body)) unstorableRefused++;
        else
          violations.push(
            `${cls} in ${location} ${op.method} ${op.path}: ${res.status} without naming the text: ${res.body.slice(0, 160)}`,
          );
      };
      const perClass = Math.max(3, Math.ceil(runs / 6));
      const each = async (
        property: (cls: CodePointClass) => fc.IAsyncPropertyWithHooks<[string]>,
      ) => {
        for (const cls of codePointClasses) await fc.assert(property(cls), { numRuns: perClass });
      };
      for (const op of operations.filter((o) => o.path.includes('{id}')))
        await each((cls) =>
          fc.asyncProperty(textOf(cls), async (text) => {
            const spec: RequestSpec = {
              method: op.method,
              path: fill(op, percentEncode(text)),
              headers: adminHeaders,
            };
            if (op.body) spec.body = {};
            await sendText('path parameters', cls, op, spec, true);
          }),
        );
      for (const op of operations.filter((o) => o.parameters.some((p) => p.in === 'query'))) {
        const names = op.parameters.filter((p) => p.in === 'query').map((p) => p.name);
        await each((cls) =>
          fc.asyncProperty(textOf(cls), async (text) => {
            const name = names[text.length % names.length] as string;
            await sendText(
              'query parameters',
              cls,
              op,
              {
                method: op.method,
                path: `${fill(op, product.id)}?${name}=${percentEncode(text)}`,
                headers: adminHeaders,
              },
              op.method !== 'GET',
            );
          }),
        );
        if (names.includes('cursor'))
          await each((cls) =>
            fc.asyncProperty(textOf(cls), async (text) => {
              const forged = op.path.startsWith('/api/orders')
                ? { k: 'o', t: '2026-01-01T00:00:00.000000Z', i: text }
                : { k: 'p', n: text, i: product.id };
              const cursor = Buffer.from(JSON.stringify(forged)).toString('base64url');
              await sendText(
                'cursor contents',
                cls,
                op,
                {
                  method: op.method,
                  path: `${fill(op, product.id)}?cursor=${cursor}`,
                  headers: adminHeaders,
                },
                op.method !== 'GET',
              );
            }),
          );
      }
      // Headers as bytes on the wire (UTF-8; lone surrogates as the bytes UTF-8 would give them),
      // CR and LF left out: they end a header line rather than sit in one. The order names an
      // unknown product, so even an accepted key is released again (422).
      const orderBody = JSON.stringify({ items: [{ productId: randomUUID(), quantity: 1 }] });
      const bearerLine = `Authorization: Bearer ${t.alice}`;
      for (const header of ['Idempotency-Key', 'Authorization'])
        await each((cls) =>
          fc.asyncProperty(textOf(cls), async (text) => {
            const value = header === 'Authorization' ? `Bearer ${text}` : text;
            const bytes = Buffer.concat([
              Buffer.from(`${header}: `),
              wireBytes(value.replace(/[\r\n]/g, ' ')),
              Buffer.from(header === 'Authorization' ? '' : `\r\n${bearerLine}`),
            ]);
            await sendText(
              'headers',
              cls,
              orderOp,
              { method: 'POST', path: '/api/orders' },
              true,
              () =>
                rawRequest(
                  api.port,
                  'POST /api/orders HTTP/1.1\r\nHost: 127.0.0.1',
                  bytes,
                  orderBody,
                ),
            );
          }),
        );
      for (const op of operations.filter((o) => o.body))
        await each((cls) =>
          fc.asyncProperty(textOf(cls), async (text) => {
            const mutation = fc.sample(
              textInBody(op.body as Schema, resolve, text, !unstorable.has(cls)),
              1,
            )[0] as { body: unknown; what: string };
            await sendText(
              'JSON bodies',
              cls,
              op,
              { method: op.method, ...bodyTarget(op), body: mutation.body },
              true,
            );
          }),
        );

      // 8. Values just outside the bounds PostgreSQL enforces: timestamps (cursors), integers
      // (int4 columns, bigint, page sizes) and numeric precision (integers given as fractions).
      const ordersList = operations.find(
        (o) => o.method === 'GET' && o.path === '/api/orders',
      ) as Operation;
      const productsList = operations.find(
        (o) => o.method === 'GET' && o.path === '/api/products',
      ) as Operation;
      const productCreate = operations.find(
        (o) => o.method === 'POST' && o.path === '/api/products',
      ) as Operation;
      const orderCursor = (t: string) =>
        Buffer.from(JSON.stringify({ k: 'o', t, i: aliceOrder })).toString('base64url');
      const timestamps: [string, boolean][] = [
        ['0000-01-01T00:00:00.000000Z', true],
        ['0001-01-01T00:00:00.000000Z', false],
        ['9999-12-31T23:59:59.999999Z', false],
        ['10000-01-01T00:00:00.000000Z', true],
        ['2026-02-29T00:00:00.000000Z', true],
        ['2028-02-29T00:00:00.000000Z', false],
        ['2026-02-30T00:00:00.000000Z', true],
        ['2026-04-31T00:00:00.000000Z', true],
        ['2026-00-10T00:00:00.000000Z', true],
        ['2026-13-01T00:00:00.000000Z', true],
        ['2026-01-01T24:00:00.000000Z', true],
        ['2026-01-01T23:60:00.000000Z', true],
        ['2026-01-01T23:59:60.000000Z', true],
        ['2026-01-01T00:00:00.0000000Z', true],
        ['-000001-01-01T00:00:00.000000Z', true],
        ['294277-01-01T00:00:00.000000Z', true],
      ];
      for (const [t, refuse] of timestamps)
        await send(
          'PostgreSQL bounds',
          ordersList,
          { method: 'GET', path: `/api/orders?cursor=${orderCursor(t)}`, headers: adminHeaders },
          `cursor at ${t}`,
          refuse,
        );
      const integers = [
        2 ** 31,
        -(2 ** 31) - 1,
        2 ** 53 + 1,
        2 ** 63,
        1e21,
        1.5,
        1e-7,
        10_000_000.5,
      ];
      for (const n of integers) {
        await send(
          'PostgreSQL bounds',
          productsList,
          { method: 'GET', path: `/api/products?limit=${n}`, headers: adminHeaders },
          `limit ${n}`,
          true,
        );
        await send(
          'PostgreSQL bounds',
          productCreate,
          {
            method: 'POST',
            path: '/api/products',
            headers: adminHeaders,
            body: { sku: 'BOUNDS', name: 'Bounds', category: 'test', priceCents: n },
          },
          `priceCents ${n}`,
          true,
        );
        await send(
          'PostgreSQL bounds',
          orderOp,
          {
            method: 'POST',
            path: '/api/orders',
            headers: { ...bearer(t.alice), 'idempotency-key': randomUUID() },
            body: { items: [{ productId: product.id, quantity: n }] },
          },
          `quantity ${n}`,
          true,
        );
        await send(
          'PostgreSQL bounds',
          productsList,
          {
            method: 'GET',
            path: `/api/products?cursor=${Buffer.from(JSON.stringify({ k: 'p', n, i: product.id })).toString('base64url')}`,
          },
          `cursor name ${n}`,
          true,
        );
      }
      await send(
        'PostgreSQL bounds',
        orderOp,
        {
          method: 'POST',
          path: '/api/orders',
          headers: { ...bearer(t.alice), 'idempotency-key': randomUUID() },
          body: {
            items: [
              { productId: product.id, quantity: 1000 },
              { productId: product.id.toUpperCase(), quantity: 1 },
            ],
          },
        },
        'one product on two lines, 1001 in all',
        true,
      );

      const after = await storage(db.url);
      const health = await api.request({ method: 'GET', path: '/ready' });
      scenario.trials = Object.keys(counts).length;
      scenario.requests = requests;
      scenario.errors = violations.length;
      scenario.leaks = before === after ? 0 : 1;
      scenario.note(
        `${operations.length} operations from /openapi.json; ${requests} requests; fast-check, ${runs} runs per property (RELIABILITY_FUZZ_RUNS); bodies sent by an admin to real targets, so an accepted body would have been stored`,
      );
      scenario.note(
        `checked on every answer: status below 500, no stack trace or file path, no SQL or database message, errors as application/problem+json, bad input refused; afterwards every table equal to before (counts and md5 of all rows): ${before === after ? 'yes' : 'NO'}`,
      );
      scenario.detail(
        [
          '| input | requests | statuses |',
          '|---|---:|---|',
          ...Object.entries(counts).map(
            ([k, c]) =>
              `| ${k} | ${Object.values(c).reduce((a, b) => a + b, 0)} | ${Object.entries(c)
                .map(([s, n]) => `${s}: ${n}`)
                .join(', ')} |`,
          ),
        ].join('\n'),
      );
      scenario.note(
        'cases, each also a test of its own (order-food/test/api-bad-input.test.ts through inject and HTTP, database-load/test/bad-files.test.ts as processes): U+0000 or a lone surrogate in a query or path parameter, a stored header, a JSON body (values and keys) or a cursor is a 400 naming the field; query text that is not percent-encoded UTF-8 and bodies that are not UTF-8 are 400, never stored as U+FFFD; cursors with a date PostgreSQL refuses (year 0, 2026-02-30, hour 24) or extra fields are 400 invalid-cursor; lines naming one product are merged and 1001 in all is a 400; a second Authorization or Idempotency-Key header is a 400; a JSON text sent as text/plain is a 415; __proto__ and constructor.prototype keys are named as such; JSON nested 10000 deep is a 400; data files with U+0000, a lone surrogate, bytes that are not UTF-8, 2026-02-30, hour 24, year 0 or 10000, an offset beyond 15:59, a price of 2^31 or an order total beyond 2^53 stop the load naming file, line and field, nothing loaded',
      );
      scenario.note(
        `code point classes (${codePointClasses.join(', ')}) in path parameters, query parameters, cursor contents, headers and JSON bodies, ${perClass} runs per class and place: ${unstorableSent} requests carried NUL or a lone surrogate in a parsed string, ${unstorableRefused} were refused with a 400 naming the text (headers: refused by the HTTP parser or as another 4xx)`,
      );
      const locations = [...new Set(Object.values(byClass).flatMap((r) => Object.keys(r)))];
      scenario.detail(
        [
          `| code point class | ${locations.join(' | ')} |`,
          `|---|${locations.map(() => '---:').join('|')}|`,
          ...Object.entries(byClass).map(
            ([cls, row]) => `| ${cls} | ${locations.map((l) => row[l] ?? 0).join(' | ')} |`,
          ),
        ].join('\n'),
      );
      const cell = (text: string) => text.replaceAll('|', '\\|').replaceAll('\n', ' ');
      if (grouped.size > 0)
        scenario.detail(
          [
            '| violation | times | example |',
            '|---|---:|---|',
            ...[...grouped].map(([k, v]) => `| ${cell(k)} | ${v.count} | ${cell(v.example)} |`),
          ].join('\n'),
        );
      const unanswered = violations.filter(
        (v) =>
          v.includes('no response') ||
          v.includes('not answered 401') ||
          v.includes('without naming the text'),
      );
      for (const v of unanswered.slice(0, 10)) scenario.note(v);
      assert.equal(health.status, 200, 'the API is still ready after the fuzzing');
      assert.deepEqual(
        [...grouped.keys(), ...unanswered.slice(0, 5)],
        [],
        `no bad input got a 5xx, a stack trace, a leak or acceptance (${violations.length} answers)`,
      );
      assert.equal(after, before, 'nothing was stored');
    } finally {
      await api.stop();
    }
  });
});
