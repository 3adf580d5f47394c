/**
 * The chart's pod on podman (containers/lib/chart-pod.ts): it starts in order with the chart's
 * settings applied, and `helm test` passes against it.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import {
  assertSecured,
  chartPod,
  describeChartPods,
  freshDatabase,
  inits,
  migrationFiles,
  play,
  states,
} from './lib/chart-pod.js';
import { containerLogs, runChartTest, waitForReady } from './lib/pod.js';

describeChartPods('the chart pod on podman: start', (suite) => {
  it('runs the init containers in order, each exits 0, then the API is ready; the settings hold; helm test passes', async () => {
    const db = await freshDatabase();
    const pod = await chartPod(db.url);
    await play(pod);
    await waitForReady(pod.port, pod.container('order-food'));

    const s = await states(pod);
    for (const c of inits) assert.equal(s[c]!.exitCode, 0, await containerLogs(pod.container(c)));
    assert.ok(s['database-migration']!.finishedAt <= s['database-load']!.startedAt);
    assert.ok(s['database-load']!.finishedAt <= s['order-food']!.startedAt);
    assert.equal(s['order-food']!.status, 'running');
    const migrations = await containerLogs(pod.container('database-migration'));
    assert.match(migrations, new RegExp(`"appliedCount":${migrationFiles.length}`));

    await assertSecured(pod);

    const menu = (await fetch(`http://127.0.0.1:${pod.port}/api/products`).then((r) =>
      r.json(),
    )) as { items: unknown[] };
    assert.ok(menu.items.length > 0, 'the loaded menu');
    await suite
      .receiver()
      .waitFor((spans) =>
        ['database-migration', 'database-load'].every((service) =>
          spans.some((span) => span.serviceName === service),
        ),
      );

    const chartTest = await runChartTest(pod.played);
    assert.equal(chartTest.code, 0, chartTest.output);
    assert.match(chartTest.output, /\/ready -> 200/);
  });
});
