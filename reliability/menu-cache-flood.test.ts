import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { Api, fileDatabase } from './lib/fixture.js';
import { query } from './lib/pg.js';
import { Scenario } from './lib/report.js';
import { round } from './lib/stats.js';

/** The chart's memory limit of the API container (order-food/helm/values.yaml). */
const limitMiB = 256;
const forged = 1000;
const concurrency = 10;

const scenario = new Scenario(
  'menu-cache-flood',
  'Menu cache under a flood of forged cursors over long descriptions',
);
const db = fileDatabase('cache_flood');

test(`${forged} anonymous requests with distinct forged cursors over long descriptions: RSS stays under the chart's ${limitMiB} MiB limit`, async () => {
  await scenario.run(async () => {
    // A hundred products with the longest description allowed: every page of 100 is ~220 kB.
    await query(
      db.url,
      `INSERT INTO products (sku, name, description, category, price_cents)
       SELECT 'FLOOD-' || i, 'Flood ' || lpad(i::text, 3, '0'), repeat('long description ', 117),
              'flood', 100 + i
         FROM generate_series(1, 100) AS i`,
    );
    const api = await Api.start({ databaseUrl: db.url });
    try {
      await api.waitReady();
      const before = api.proc.rssMiB();
      // Syntactically valid cursors a client made up: each names a different position before
      // every product, so each answers a full page.
      const cursors = Array.from({ length: forged }, () =>
        Buffer.from(JSON.stringify({ k: 'p', n: '', i: randomUUID() })).toString('base64url'),
      );
      const statuses: Record<string, number> = {};
      let peak = before;
      let next = 0;
      const worker = async () => {
        while (next < cursors.length) {
          const cursor = cursors[next++]!;
          const res = await api.request({
            method: 'GET',
            path: `/api/products?limit=100&category=flood&cursor=${cursor}`,
          });
          statuses[res.status] = (statuses[res.status] ?? 0) + 1;
          scenario.requests++;
          peak = Math.max(peak, api.proc.rssMiB());
        }
      };
      await Promise.all(Array.from({ length: concurrency }, worker));
      const after = api.proc.rssMiB();
      scenario.trials = 1;
      scenario.errors = forged - (statuses['200'] ?? 0);
      scenario.detail(
        [
          '| requests | answers | RSS before (MiB) | peak RSS (MiB) | RSS after (MiB) | limit (MiB) |',
          '|---:|---|---:|---:|---:|---:|',
          `| ${forged} | ${Object.entries(statuses)
            .map(([s, n]) => `${n} × ${s}`)
            .join(', ')} | ${round(before)} | ${round(peak)} | ${round(after)} | ${limitMiB} |`,
        ].join('\n'),
      );
      scenario.note(
        'forged cursors are never admitted to the menu cache (only first pages and the pages their nextCursor chain reaches are), and the cache is bounded by bytes (MENU_CACHE_MAX_MB, 16)',
      );
      assert.equal(statuses['200'], forged, `answers: ${JSON.stringify(statuses)}`);
      assert.ok(peak < limitMiB, `peak RSS ${round(peak)} MiB`);
    } finally {
      await api.proc.stop();
    }
  });
});
