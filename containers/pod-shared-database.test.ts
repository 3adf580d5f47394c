/**
 * Chart pods on podman (containers/lib/chart-pod.ts) sharing one database: a second pod's init
 * containers are no-ops, three pods started together apply each migration and the data set once.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { sql } from '@order-food/platform/testing/test-database';
import {
  chartPod,
  describeChartPods,
  freshDatabase,
  inits,
  migrationFiles,
  play,
  states,
} from './lib/chart-pod.js';
import { containerLogs, waitForExit, waitForReady } from './lib/pod.js';
import { podman } from './lib/podman.js';

describeChartPods('the chart pod on podman: pods sharing a database', () => {
  it('a second pod on the same database: both init containers are no-ops; `podman pod stop` drains', async () => {
    const db = await freshDatabase();
    const first = await chartPod(db.url);
    await play(first);
    await waitForReady(first.port, first.container('order-food'));
    const second = await chartPod(db.url);
    await play(second);
    await waitForReady(second.port, second.container('order-food'));

    const s = await states(second);
    for (const c of inits) assert.equal(s[c]!.exitCode, 0);
    assert.match(
      await containerLogs(second.container('database-migration')),
      /"appliedCount":0,"alreadyApplied":\d+.*migration run finished/,
    );
    assert.match(
      await containerLogs(second.container('database-load')),
      /data set already loaded in this mode; nothing to do/,
    );

    // SIGTERM to every container: the API answers /ready 503 while it drains, then exits 0.
    const stop = podman(['pod', 'stop', '--time', '60', second.name]);
    let drained = 0;
    for (let i = 0; i < 100 && drained !== 503; i++) {
      drained = await fetch(`http://127.0.0.1:${second.port}/ready`).then(
        (r) => r.status,
        () => 0,
      );
      if (drained !== 503) await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(drained, 503, '/ready answers 503 during the drain');
    assert.equal((await stop).code, 0);
    const api = await waitForExit(second.container('order-food'));
    assert.equal(api.exitCode, 0, await containerLogs(second.container('order-food')));
    assert.match(await containerLogs(second.container('order-food')), /shut down cleanly/);
  });

  it('three pods started together on a fresh database: each migration and the data set applied once, all ready', async () => {
    const db = await freshDatabase();
    const trio = await Promise.all([chartPod(db.url), chartPod(db.url), chartPod(db.url)]);
    await Promise.all(trio.map((pod) => play(pod)));
    await Promise.all(trio.map((pod) => waitForReady(pod.port, pod.container('order-food'))));
    for (const pod of trio) {
      const s = await states(pod);
      for (const c of inits) assert.equal(s[c]!.exitCode, 0);
    }
    const applied = await sql<{ version: number; n: string }>(
      db,
      'SELECT version, count(*) AS n FROM schema_migrations WHERE success GROUP BY version',
    );
    assert.equal(applied.length, migrationFiles.length);
    assert.ok(applied.every((row) => Number(row.n) === 1));
    const runs = await sql<{ total: string; applying: string; pods: string }>(
      db,
      `SELECT sum(applied_count) AS total, count(*) FILTER (WHERE applied_count > 0) AS applying,
              count(DISTINCT applied_by) AS pods
         FROM schema_migration_runs WHERE success`,
    );
    assert.equal(Number(runs[0]!.total), migrationFiles.length, 'each migration applied once');
    assert.equal(Number(runs[0]!.pods), 3, 'every pod ran its migration');
    const loads = await sql<{ outcome: string }>(db, 'SELECT outcome FROM data_load_history');
    assert.equal(loads.filter((l) => l.outcome === 'loaded').length, 1, 'the data set loaded once');
    const products = await sql<{ n: string }>(db, 'SELECT count(*) AS n FROM products');
    const menu = (await fetch(`http://127.0.0.1:${trio[2]!.port}/api/products?limit=100`).then(
      (r) => r.json(),
    )) as { items: unknown[] };
    assert.equal(menu.items.length, Number(products[0]!.n));
  });
});
