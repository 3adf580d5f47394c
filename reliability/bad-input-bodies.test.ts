import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import fc from 'fast-check';
import { textOf, unstorable } from './lib/code-points.js';
import { Api, bearer, fileDatabase } from './lib/fixture.js';
import { Fuzz, runs } from './lib/fuzz.js';
import { boundIntegers, rawBodies } from './lib/fuzz-inputs.js';
import { Scenario } from './lib/report.js';
import { invalidBody, type Schema, textInBody } from './lib/schema-arbitraries.js';

const scenario = new Scenario(
  'bad-input-bodies',
  'Bad input: request bodies of every route from the OpenAPI document',
);
const db = fileDatabase('fuzz_bodies');

test(`fuzzing every request body (${runs} runs per property): never a 5xx, never a stack trace, nothing stored`, async () => {
  await scenario.run(async () => {
    const api = await Api.start({ databaseUrl: db.url, env: { LOG_LEVEL: 'error' } });
    try {
      const fuzz = await Fuzz.start(api, db.url);
      const { t, product, resolve } = fuzz;

      // Bodies that break their schema in one place, sent by an admin to a real target.
      for (const op of fuzz.withBody()) {
        await fc.assert(
          fc.asyncProperty(invalidBody(op.body as Schema, resolve), async (m) => {
            await fuzz.send(
              'invalid bodies',
              op,
              { method: op.method, ...fuzz.bodyTarget(op), body: m.body },
              m.what,
              true,
            );
          }),
          { numRuns: runs },
        );
      }

      // Bodies that are not JSON objects of a sane size: broken, deep, huge, mislabelled.
      for (const op of fuzz.withBody()) {
        for (const raw of rawBodies) {
          await fuzz.send(
            'raw bodies',
            op,
            {
              method: op.method,
              ...fuzz.bodyTarget(op, { 'content-type': raw.type ?? 'application/json' }),
              body: raw.body,
            },
            raw.what,
            true,
            raw.body.length > 1024 * 1024,
          );
        }
      }

      // Every class of code point in the strings of a JSON body: NUL and lone surrogates must be
      // refused with a 400 that says why; the rest must never be a 5xx.
      for (const op of fuzz.withBody())
        await fuzz.eachClass((cls) =>
          fc.asyncProperty(textOf(cls), async (text) => {
            const mutation = fc.sample(
              textInBody(op.body as Schema, resolve, text, !unstorable.has(cls)),
              1,
            )[0] as { body: unknown; what: string };
            await fuzz.sendText(
              'JSON bodies',
              cls,
              op,
              { method: op.method, ...fuzz.bodyTarget(op), body: mutation.body },
              true,
            );
          }),
        );

      // Integers just outside what PostgreSQL stores (int4 columns, bigint) and integers given
      // as fractions, in a new product's price and an order's quantity.
      const productCreate = fuzz.find('POST', '/api/products');
      const orderOp = fuzz.find('POST', '/api/orders');
      const sendOrder = (items: { productId: string; quantity: unknown }[], what: string) =>
        fuzz.send(
          'PostgreSQL bounds',
          orderOp,
          {
            method: 'POST',
            path: '/api/orders',
            headers: { ...bearer(t.alice), 'idempotency-key': randomUUID() },
            body: { items },
          },
          what,
          true,
        );
      for (const n of boundIntegers) {
        await fuzz.send(
          'PostgreSQL bounds',
          productCreate,
          {
            method: 'POST',
            path: '/api/products',
            headers: fuzz.adminHeaders,
            body: { sku: 'BOUNDS', name: 'Bounds', category: 'test', priceCents: n },
          },
          `priceCents ${n}`,
          true,
        );
        await sendOrder([{ productId: product.id, quantity: n }], `quantity ${n}`);
      }
      await sendOrder(
        [
          { productId: product.id, quantity: 1000 },
          { productId: product.id.toUpperCase(), quantity: 1 },
        ],
        'one product on two lines, 1001 in all',
      );

      await fuzz.finish(
        scenario,
        'bodies sent by an admin to real targets, so an accepted body would have been stored',
        [
          'cases, each also a test of its own (order-food/test/api-bad-input.test.ts through inject and HTTP, database-load/test/bad-files.test.ts as processes): U+0000 or a lone surrogate in a query or path parameter, a stored header, a JSON body (values and keys) or a cursor is a 400 naming the field; query text that is not percent-encoded UTF-8 and bodies that are not UTF-8 are 400, never stored as U+FFFD; cursors with a date PostgreSQL refuses (year 0, 2026-02-30, hour 24) or extra fields are 400 invalid-cursor; lines naming one product are merged and 1001 in all is a 400; a second Authorization or Idempotency-Key header is a 400; a JSON text sent as text/plain is a 415; __proto__ and constructor.prototype keys are named as such; JSON nested 10000 deep is a 400; data files with U+0000, a lone surrogate, bytes that are not UTF-8, 2026-02-30, hour 24, year 0 or 10000, an offset beyond 15:59, a price of 2^31 or an order total beyond 2^53 stop the load naming file, line and field, nothing loaded',
        ],
      );
    } finally {
      await api.stop();
    }
  });
});
