/**
 * The chart's pod on podman (containers/lib/chart-pod.ts) with the seed's init container env and
 * a receiver standing in for Jaeger: the pod start is one trace across its containers.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { podStartIds } from '@order-food/platform/telemetry';
import { type ReceivedSpan, receiverOnLoopback } from '@order-food/platform/testing/otlp-receiver';
import {
  chartPod,
  containerEnv,
  describeChartPods,
  freshDatabase,
  inits,
  play,
  states,
} from './lib/chart-pod.js';
import { containerLogs, waitForReady } from './lib/pod.js';

describeChartPods('the chart pod on podman: the pod start trace', () => {
  it("the seed's initContainers env as written, a receiver standing in for Jaeger on 4318: the pod start is one trace", async (t) => {
    // Jaeger's OTLP port is fixed by the mapping: the receiver has it on a loopback address of its
    // own, which the pod's containers reach on the host network.
    const jaeger = await receiverOnLoopback(4318);
    if (typeof jaeger === 'string') {
      t.skip(jaeger);
      return;
    }
    try {
      const host = new URL(jaeger.url).hostname;
      // The seed's list, with the receiver's host for Jaeger's.
      const env = [
        { name: 'JAEGER_ENDPOINT', value: `http://${host}:14268/api/traces` },
        { name: 'ENVIRONMENT', value: 'kubernetes' },
        { name: 'SERVICE_VERSION', value: '1.0.0' },
      ];
      const db = await freshDatabase();
      // The API has the chart's telemetry settings, its endpoint (http://jaeger:4318 by default)
      // on the receiver's host too.
      const pod = await chartPod(db.url, {
        values: { initContainers: { databaseMigration: { env }, databaseLoad: { env } } },
        otlpEndpoint: `http://${host}:4318`,
      });
      await play(pod);
      await waitForReady(pod.port, pod.container('order-food'));
      const s = await states(pod);
      for (const c of inits) {
        const log = await containerLogs(pod.container(c));
        assert.equal(s[c]!.exitCode, 0, log);
        const lines = log.split('\n').filter((l) => l.includes("is Jaeger's legacy collector URL"));
        assert.equal(lines.length, 1, `${c} says once where its traces go:\n${log}`);
        assert.equal(JSON.parse(lines[0]!).level, 'info', lines[0]);
        assert.ok(lines[0]!.includes(`JAEGER_ENDPOINT=http://${host}:14268/api/traces`), lines[0]);
        assert.ok(lines[0]!.includes(`http://${host}:4318/v1/traces`), lines[0]);
      }

      // The pod start trace: its ids come from the pod's UID, the same in every container.
      const uids = new Set<string | undefined>();
      for (const c of [...inits, 'order-food'])
        uids.add((await containerEnv(pod.container(c))).get('POD_UID'));
      assert.equal(uids.size, 1, `one POD_UID: ${[...uids].join(', ')}`);
      const [uid] = uids;
      assert.ok(uid, 'POD_UID is set');
      const ids = podStartIds(uid);

      // A request with the pod start's context, as a smoke check after a deploy sends it.
      const request = await fetch(`http://127.0.0.1:${pod.port}/api/product`, {
        headers: { traceparent: `00-${ids.traceId}-${ids.spanId}-01` },
      });
      assert.equal(request.status, 200);
      const expected: [string, string][] = [
        ['database-migration', 'pod start'],
        ['database-migration', 'migration.execute'],
        ['database-load', 'dataload.execute'],
        ['order-food', 'order-food start'],
        ['order-food', 'HTTP GET /api/product'],
      ];
      // A bound for spans that never come, not a timing assertion.
      await jaeger.waitFor(
        (spans) =>
          expected.every(([service, name]) =>
            spans.some(
              (span) =>
                span.traceId === ids.traceId && span.serviceName === service && span.name === name,
            ),
          ),
        180_000,
      );

      const trace = jaeger.spans.filter((span) => span.traceId === ids.traceId);
      const one = (service: string, name: string): ReceivedSpan => {
        const found = trace.filter((span) => span.serviceName === service && span.name === name);
        assert.equal(
          found.length,
          1,
          `${service}: ${name} once in the pod start trace; it has ${trace.map((span) => `${span.serviceName}:${span.name}`).join(', ')}`,
        );
        return found[0]!;
      };
      const [root, execute, dataload, start, http] = expected.map(([service, name]) =>
        one(service, name),
      );
      assert.equal(root!.spanId, ids.spanId);
      for (const span of [execute!, dataload!, start!, http!])
        assert.equal(span.parentSpanId, ids.spanId, `${span.name} hangs from the pod start`);
      for (const [earlier, later] of [
        [execute!, dataload!],
        [dataload!, start!],
      ] as const)
        assert.ok(
          BigInt(later.startTimeUnixNano) >= BigInt(earlier.endTimeUnixNano),
          `${later.name} began after ${earlier.name} ended`,
        );
      // The seed's values are the init containers'; the API keeps the chart's environment.
      for (const span of [execute!, dataload!]) {
        assert.equal(span.resource['deployment.environment.name'], 'kubernetes', span.name);
        assert.equal(span.resource['service.version'], '1.0.0', span.name);
      }
      assert.equal(start!.resource['deployment.environment.name'], 'production');
    } finally {
      await jaeger.stop();
    }
  });
});
