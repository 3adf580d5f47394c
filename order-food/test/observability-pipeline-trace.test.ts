/**
 * The pod start as real processes: database-migration, database-load and the API export to an
 * OTLP/HTTP receiver started here, as one trace; the API's /metrics holds the whole catalogue and
 * passes promtool; the dashboard and the alert rules name only metrics that exist.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { OtlpReceiver, ReceivedSpan } from '@order-food/platform/testing/otlp-receiver';
import { requireTool } from '@order-food/platform/testing/require-tool';
import { repoRoot, runProgram } from '@order-food/platform/testing/run-program';
import { sql, type TestDatabase } from '@order-food/platform/testing/test-database';
import { parse as parseYaml } from 'yaml';
import { createTokenService } from '../src/token.js';
import type { ApiProcess } from './helpers.js';
import {
  catalogue,
  exportedNames,
  kubeStateMetrics,
  metricNames,
  withoutVariables,
} from './observability-metric-names.js';
import {
  jwtSecret,
  newTraceparent,
  pipelineOfFile,
  startApi,
  stopApi,
  telemetryEnv,
} from './observability-pipeline-setup.js';

let receiver: OtlpReceiver;
let db: TestDatabase;
pipelineOfFile('obs_pipeline', (opened) => ({ receiver, db } = opened));

describe('the pod start as three processes, one trace', () => {
  let api: ApiProcess | undefined;
  let metricsText = '';
  const start = newTraceparent();

  // Before the file's receiver stops: the API flushes its last spans to it on the way out.
  after(async () => {
    await stopApi(api);
  });

  test('migration, load and the API export their spans with one trace id, in order', async () => {
    const env = telemetryEnv(receiver, {
      DATABASE_URL: db.url,
      TRACEPARENT: start.traceparent,
      // Only the flush at exit can deliver the spans of a short program within this delay.
      OTEL_BSP_SCHEDULE_DELAY: '30000',
    });
    const migration = await runProgram('database-migration', [], { env });
    assert.equal(migration.code, 0, migration.stderr);
    const migrationSpans = receiver.spans.filter(
      (s) => s.traceId === start.traceId && s.serviceName === 'database-migration',
    );
    assert.ok(migrationSpans.length > 0, 'database-migration spans arrived before it exited');

    const load = await runProgram('database-load', [], { env });
    assert.equal(load.code, 0, load.stderr);
    const loadSpans = receiver.spans.filter(
      (s) => s.traceId === start.traceId && s.serviceName === 'database-load',
    );
    assert.ok(loadSpans.length > 0, 'database-load spans arrived before it exited');

    api = await startApi({ ...env, OTEL_BSP_SCHEDULE_DELAY: '100' });
    await receiver.waitFor(
      (spans) => spans.some((s) => s.traceId === start.traceId && s.name === 'order-food start'),
      20_000,
    );

    const trace = receiver.spans.filter((s) => s.traceId === start.traceId);
    const parentId = start.traceparent.split('-')[2];
    const tops = (service: string) =>
      trace.filter((s) => s.serviceName === service && s.parentSpanId === parentId);
    const first = (spans: ReceivedSpan[]) =>
      spans.reduce((a, b) => (BigInt(a.startTimeUnixNano) <= BigInt(b.startTimeUnixNano) ? a : b));
    const [m, l, a] = ['database-migration', 'database-load', 'order-food'].map((service) => {
      const spans = tops(service);
      assert.ok(spans.length > 0, `${service} has a span under the TRACEPARENT`);
      return first(spans);
    });
    assert.ok(BigInt(m!.endTimeUnixNano) <= BigInt(l!.startTimeUnixNano), 'migration, then load');
    assert.ok(BigInt(l!.endTimeUnixNano) <= BigInt(a!.startTimeUnixNano), 'load, then the API');
    assert.equal(a!.name, 'order-food start');
    // Every span of the three programs is in the tree: each parent is in the trace or the sender's.
    const ids = new Set(trace.map((s) => s.spanId));
    for (const s of trace)
      assert.ok(
        s.parentSpanId === parentId || ids.has(s.parentSpanId),
        `${s.serviceName} ${s.name} hangs from a span of the trace`,
      );
  });

  test('requests make server spans and fill the metric catalogue, which passes promtool', async (t) => {
    assert.ok(api, 'the API runs');
    const [alice] = await sql<{ id: string }>(db, 'SELECT id FROM users WHERE email = $1', [
      'alice@example.com',
    ]);
    assert.ok(alice, 'the default data set has alice');
    const token = createTokenService(jwtSecret, 3600).sign({
      userId: alice.id,
      role: 'customer',
    });
    const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const menu = (await (await fetch(`${api.url}/api/products`)).json()) as {
      items: { id: string }[];
    };
    assert.ok(menu.items.length > 0);
    const body = JSON.stringify({ items: [{ productId: menu.items[0]!.id, quantity: 2 }] });
    const key = randomUUID();
    const placed = await fetch(`${api.url}/api/orders`, {
      method: 'POST',
      headers: { ...auth, 'idempotency-key': key },
      body,
    });
    assert.equal(placed.status, 201);
    const order = (await placed.json()) as { id: string };
    const replay = await fetch(`${api.url}/api/orders`, {
      method: 'POST',
      headers: { ...auth, 'idempotency-key': key },
      body,
    });
    assert.equal(replay.status, 201);
    assert.equal(replay.headers.get('idempotent-replayed'), 'true');
    const cancel = await fetch(`${api.url}/api/orders/${order.id}/cancel`, {
      method: 'POST',
      headers: { authorization: auth.authorization },
    });
    assert.equal(cancel.status, 200);
    assert.equal((await fetch(`${api.url}/api/orders/${randomUUID()}`)).status, 401);

    await receiver.waitFor(
      (spans) => spans.some((s) => s.name === 'HTTP POST /api/orders'),
      20_000,
    );
    const server = receiver.spans.find((s) => s.name === 'HTTP POST /api/orders')!;
    assert.equal(server.serviceName, 'order-food');
    assert.equal(server.attributes['http.route'], '/api/orders');
    assert.equal(server.attributes['http.response.status_code'], 201);
    await receiver.waitFor((spans) => spans.some((s) => s.parentSpanId === server.spanId));
    const text = JSON.stringify(receiver.spans);
    for (const secret of ['alice@example.com', token, jwtSecret])
      assert.ok(!text.includes(secret), 'no personal data or secret in any span');

    const res = await fetch(`${api.url}/metrics`);
    assert.equal(res.status, 200);
    metricsText = await res.text();
    const exported = exportedNames(metricsText);
    for (const name of catalogue) assert.ok(exported.has(name), `/metrics has ${name}`);
    for (const series of [
      /^http_server_request_duration_seconds_count\{method="POST",route="\/api\/orders",status_code="201"\} 2$/m,
      /^orderfood_orders_created_total 1$/m,
      /^orderfood_idempotent_replays_total 1$/m,
      /^orderfood_order_status_transitions_total\{from="pending",to="cancelled"\} 1$/m,
      /^orderfood_schema_version [2-9]\d*$/m,
      /^orderfood_setup_step_success\{step="database-migration"\} 1$/m,
      /^orderfood_setup_step_success\{step="database-load"\} 1$/m,
      /^orderfood_dataset_info\{hash="[0-9a-f]{64}"\} 1$/m,
      /^db_client_connections\{state="idle"\} \d+$/m,
      /^db_client_connections_max [1-9]\d*$/m,
    ])
      assert.match(metricsText, series);
    assert.doesNotMatch(metricsText, /route="\/(metrics|health|ready)"/);

    if (!requireTool(t, 'promtool', 'prometheus')) return;
    const promtool = spawnSync('promtool', ['check', 'metrics'], {
      input: metricsText,
      encoding: 'utf8',
    });
    assert.equal(promtool.status, 0, `${promtool.stdout}${promtool.stderr}`);
  });

  test('the dashboard and the alert rules name only metrics that exist, and promtool accepts the rules', (t) => {
    assert.ok(metricsText, 'the previous test read /metrics');
    const exported = exportedNames(metricsText);

    const rulesFile = join(repoRoot, 'order-food/helm/files/prometheus-rules.yaml');
    const rules = parseYaml(readFileSync(rulesFile, 'utf8')) as {
      groups: {
        name: string;
        rules: {
          record?: string;
          alert?: string;
          expr: string;
          annotations?: Record<string, string>;
        }[];
      }[];
    };
    const recorded = new Set(
      rules.groups.flatMap((g) => g.rules.flatMap((r) => (r.record ? [r.record] : []))),
    );
    const known = (name: string) =>
      exported.has(name) || kubeStateMetrics.has(name) || recorded.has(name);

    const alerts = rules.groups.flatMap((g) => g.rules.filter((r) => r.alert));
    const runbooks = readFileSync(join(repoRoot, 'docs/OBSERVABILITY.md'), 'utf8');
    for (const rule of rules.groups.flatMap((g) => g.rules)) {
      for (const name of metricNames(rule.expr))
        assert.ok(
          known(name),
          `rule ${rule.alert ?? rule.record} reads ${name}, which nobody exports`,
        );
    }
    for (const alert of alerts) {
      assert.ok(alert.annotations?.summary, `${alert.alert} has a summary`);
      const anchor = alert.annotations?.runbook_url?.split('#')[1];
      assert.equal(anchor, alert.alert!.toLowerCase(), `${alert.alert} links its runbook`);
      assert.match(
        runbooks,
        new RegExp(`^###? ${alert.alert}$`, 'm'),
        `docs/OBSERVABILITY.md has a runbook section for ${alert.alert}`,
      );
    }
    for (const topic of [
      'kube_pod_init_container_status_restarts_total',
      'kube_pod_init_container_status_waiting_reason',
      'orderfood_schema_version',
      'db_client_connections',
      'kube_pod_status_ready',
    ])
      assert.ok(
        alerts.some((a) => metricNames(a.expr).includes(topic)),
        `an alert watches ${topic}`,
      );

    const dashboard = JSON.parse(
      readFileSync(join(repoRoot, 'order-food/helm/files/grafana-dashboard.json'), 'utf8'),
    ) as {
      panels: { title: string; type: string; targets?: { expr: string }[] }[];
      templating: { list: { query?: string | { query: string } }[] };
    };
    const exprs: string[] = [];
    for (const panel of dashboard.panels)
      for (const target of panel.targets ?? []) exprs.push(target.expr);
    for (const variable of dashboard.templating.list) {
      const q = typeof variable.query === 'string' ? variable.query : variable.query?.query;
      const m = /^label_values\((.+),\s*\w+\)$/.exec(q ?? '');
      if (m?.[1]) exprs.push(m[1]);
    }
    assert.ok(exprs.length >= 20, 'the dashboard has its panels');
    const used = new Set<string>();
    for (const expr of exprs)
      for (const name of metricNames(withoutVariables(expr))) {
        used.add(name);
        assert.ok(
          exported.has(name) || kubeStateMetrics.has(name),
          `the dashboard reads ${name}, which nobody exports`,
        );
      }
    for (const name of catalogue)
      assert.ok(
        [...used].some((u) => u === name || u.startsWith(`${name}_`)),
        `the dashboard shows ${name}`,
      );

    if (!requireTool(t, 'promtool', 'prometheus')) return;
    const check = spawnSync('promtool', ['check', 'rules', rulesFile], { encoding: 'utf8' });
    assert.equal(check.status, 0, `${check.stdout}${check.stderr}`);
  });
});
