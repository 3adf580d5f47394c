import { test } from 'node:test';
import fc from 'fast-check';
import { percentEncode, textOf } from './lib/code-points.js';
import { Api, fileDatabase } from './lib/fixture.js';
import { Fuzz, runs } from './lib/fuzz.js';
import { badIds, badQuery, boundIntegers, boundTimestamps } from './lib/fuzz-inputs.js';
import type { RequestSpec } from './lib/http.js';
import { Scenario } from './lib/report.js';

const scenario = new Scenario(
  'bad-input-parameters',
  'Bad input: path and query parameters of every route from the OpenAPI document',
);
const db = fileDatabase('fuzz_parameters');

test(`fuzzing every path and query parameter (${runs} runs per property): never a 5xx, never a stack trace, nothing stored`, async () => {
  await scenario.run(async () => {
    const api = await Api.start({ databaseUrl: db.url, env: { LOG_LEVEL: 'error' } });
    try {
      const fuzz = await Fuzz.start(api, db.url);
      const { product, aliceOrder, adminHeaders, fill } = fuzz;

      // Path parameters: wrong types, long and unicode strings, null bytes, traversal.
      for (const op of fuzz.withId()) {
        await fc.assert(
          fc.asyncProperty(badIds, async (id) => {
            const spec: RequestSpec = {
              method: op.method,
              path: fill(op, encodeURIComponent(id)),
              headers: adminHeaders,
            };
            if (op.body) spec.body = {};
            await fuzz.send(
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

      // Query parameters: wrong types, huge numbers, unicode, forged cursors, repeats.
      for (const op of fuzz.withQuery()) {
        await fc.assert(
          fc.asyncProperty(
            badQuery(op, fuzz.resolve, fuzz.realCursor),
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
              await fuzz.send(
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
      const productsList = fuzz.find('GET', '/api/products');
      await fuzz.send(
        'query parameters',
        productsList,
        { method: 'GET', path: `/api/products?q=${'x'.repeat(20_000)}`, headers: adminHeaders },
        '20 KB query string',
        false,
      );

      // Every class of code point in path parameters, query parameters and cursor contents. NUL
      // and lone surrogates must be refused with a 400 that says why; the rest never a 5xx.
      for (const op of fuzz.withId())
        await fuzz.eachClass((cls) =>
          fc.asyncProperty(textOf(cls), async (text) => {
            const spec: RequestSpec = {
              method: op.method,
              path: fill(op, percentEncode(text)),
              headers: adminHeaders,
            };
            if (op.body) spec.body = {};
            await fuzz.sendText('path parameters', cls, op, spec, true);
          }),
        );
      for (const op of fuzz.withQuery()) {
        const names = op.parameters.filter((p) => p.in === 'query').map((p) => p.name);
        await fuzz.eachClass((cls) =>
          fc.asyncProperty(textOf(cls), async (text) => {
            const name = names[text.length % names.length] as string;
            await fuzz.sendText(
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
          await fuzz.eachClass((cls) =>
            fc.asyncProperty(textOf(cls), async (text) => {
              const forged = op.path.startsWith('/api/orders')
                ? { k: 'o', t: '2026-01-01T00:00:00.000000Z', i: text }
                : { k: 'p', n: text, i: product.id };
              const cursor = Buffer.from(JSON.stringify(forged)).toString('base64url');
              await fuzz.sendText(
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

      // Values just outside the bounds PostgreSQL enforces: timestamps (cursors), integers (page
      // sizes, a cursor's name) and numeric precision (integers given as fractions).
      const ordersList = fuzz.find('GET', '/api/orders');
      const orderCursor = (t: string) =>
        Buffer.from(JSON.stringify({ k: 'o', t, i: aliceOrder })).toString('base64url');
      for (const [t, refuse] of boundTimestamps)
        await fuzz.send(
          'PostgreSQL bounds',
          ordersList,
          { method: 'GET', path: `/api/orders?cursor=${orderCursor(t)}`, headers: adminHeaders },
          `cursor at ${t}`,
          refuse,
        );
      for (const n of boundIntegers) {
        await fuzz.send(
          'PostgreSQL bounds',
          productsList,
          { method: 'GET', path: `/api/products?limit=${n}`, headers: adminHeaders },
          `limit ${n}`,
          true,
        );
        await fuzz.send(
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

      await fuzz.finish(
        scenario,
        "sent by an admin to real objects (alice's order, a product), so an accepted request would have acted",
      );
    } finally {
      await api.stop();
    }
  });
});
