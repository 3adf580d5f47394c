/**
 * The pod start as real processes: database-migration, database-load and the API export to an
 * OTLP/HTTP receiver started here, as one trace; the API's /metrics holds the whole catalogue and
 * passes promtool; the dashboard and the alert rules name only metrics that exist.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { podStartIds } from '@order-food/platform/telemetry';
import { freePort } from '@order-food/platform/testing/free-port';
import { OtlpReceiver, type ReceivedSpan } from '@order-food/platform/testing/otlp-receiver';
import { requireTool } from '@order-food/platform/testing/require-tool';
import { repoRoot, runProgram } from '@order-food/platform/testing/run-program';
import {
  createTestDatabase,
  sql,
  type TestDatabase,
} from '@order-food/platform/testing/test-database';
import { parser } from '@prometheus-io/lezer-promql';
import { parse as parseYaml } from 'yaml';
import { createTokenService } from '../src/token.js';
import { type ApiProcess, startApiProcess } from './helpers.js';

const jwtSecret = randomBytes(24).toString('hex');

/** Every metric the issue names: the catalogue /metrics must hold after a few requests. */
const catalogue = [
  'http_server_request_duration_seconds',
  'http_server_active_requests',
  'db_client_connections',
  'db_client_operation_duration_seconds',
  'orderfood_orders_created_total',
  'orderfood_order_value_cents',
  'orderfood_order_status_transitions_total',
  'orderfood_idempotent_replays_total',
  'orderfood_setup_step_duration_seconds',
  'orderfood_setup_step_success',
  'orderfood_setup_step_last_run_timestamp_seconds',
  'orderfood_schema_version',
  'orderfood_dataset_info',
  'orderfood_build_info',
];

/** What kube-state-metrics exports that the rules and the dashboard may use. */
const kubeStateMetrics = new Set([
  'kube_pod_init_container_status_restarts_total',
  'kube_pod_init_container_status_last_terminated_reason',
  'kube_pod_init_container_status_waiting_reason',
  'kube_pod_init_container_status_ready',
  'kube_pod_status_ready',
  'kube_pod_container_info',
  'kube_pod_container_status_ready',
]);

function telemetryEnv(receiver: OtlpReceiver, extra: Record<string, string | undefined> = {}) {
  return {
    ...receiver.env(),
    OTEL_SDK_DISABLED: 'false',
    OTEL_SERVICE_NAME: undefined,
    OTEL_TRACES_SAMPLER: undefined,
    TRACEPARENT: undefined,
    POD_UID: undefined,
    JAEGER_ENDPOINT: undefined,
    ...extra,
  };
}

function newTraceparent(): { traceId: string; traceparent: string } {
  const traceId = randomBytes(16).toString('hex');
  return { traceId, traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` };
}

type Api = ApiProcess;

const startApi = (env: Record<string, string | undefined>) =>
  startApiProcess({ JWT_SECRET: jwtSecret, ...env });

async function stopApi(api: Api | undefined): Promise<number | null> {
  if (!api || api.child.exitCode !== null) return api?.child.exitCode ?? null;
  const closed = new Promise<number | null>((resolve) => api.child.on('close', resolve));
  api.child.kill('SIGTERM');
  const bound = setTimeout(() => api.child.kill('SIGKILL'), 30_000);
  const code = await closed;
  clearTimeout(bound);
  return code;
}

/** Metric names a PromQL expression reads, from the Prometheus project's own grammar. */
function metricNames(expr: string): string[] {
  const names: string[] = [];
  const tree = parser.parse(expr);
  let error = false;
  tree.iterate({
    enter: (node) => {
      if (node.type.isError) error = true;
      if (node.type.name === 'VectorSelector') {
        const id = node.node.getChild('Identifier');
        if (id) names.push(expr.slice(id.from, id.to));
        else {
          // {__name__="…"} selects by name too.
          const m = /__name__\s*=\s*"([^"]+)"/.exec(expr.slice(node.from, node.to));
          if (m?.[1]) names.push(m[1]);
        }
      }
    },
  });
  assert.ok(!error, `PromQL does not parse: ${expr}`);
  return names;
}

/** Grafana variables substituted with plausible values, so an expression parses as PromQL. */
function withoutVariables(expr: string): string {
  return expr
    .replaceAll('$__rate_interval', '5m')
    .replaceAll('$__interval', '1m')
    .replaceAll('$__range', '1h')
    .replace(/\$\{?(\w+)\}?/g, 'x');
}

/** Families in a Prometheus text exposition, with the series names a histogram adds. */
function exportedNames(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const line of exposition.split('\n')) {
    const m = /^# TYPE (\S+) (\S+)/.exec(line);
    if (!m) continue;
    const [, name, type] = m;
    names.add(name!);
    if (type === 'histogram' || type === 'summary')
      for (const suffix of ['_bucket', '_count', '_sum']) names.add(`${name}${suffix}`);
  }
  return names;
}

describe('the pod start as three processes, one trace', () => {
  const receiver = new OtlpReceiver();
  let db: TestDatabase;
  let api: Api | undefined;
  let metricsText = '';
  const start = newTraceparent();

  before(async () => {
    await receiver.start();
    db = await createTestDatabase('obs_pipeline');
  });

  after(async () => {
    await stopApi(api);
    await receiver.stop();
    await db?.drop();
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

describe('the pod start with POD_UID', () => {
  const receiver = new OtlpReceiver();
  let db: TestDatabase;

  before(async () => {
    await receiver.start();
    db = await createTestDatabase('obs_pod');
  });

  after(async () => {
    await receiver.stop();
    await db?.drop();
  });

  test('one trace from the pod UID: a pod start root and the three programs beneath it', async () => {
    const uid = randomUUID();
    const ids = podStartIds(uid);
    const env = telemetryEnv(receiver, { DATABASE_URL: db.url, POD_UID: uid });
    assert.equal((await runProgram('database-migration', [], { env })).code, 0);
    assert.equal((await runProgram('database-load', [], { env })).code, 0);
    const api = await startApi(env);
    try {
      await receiver.waitFor(
        (spans) => spans.some((s) => s.traceId === ids.traceId && s.name === 'order-food start'),
        20_000,
      );
    } finally {
      assert.equal(await stopApi(api), 0, 'the API shuts down cleanly on SIGTERM');
    }
    const trace = receiver.spans.filter((s) => s.traceId === ids.traceId);
    const root = trace.filter((s) => s.parentSpanId === '');
    assert.equal(root.length, 1, 'one root');
    assert.equal(root[0]!.name, 'pod start');
    assert.equal(root[0]!.spanId, ids.spanId);
    for (const service of ['database-migration', 'database-load', 'order-food'])
      assert.ok(
        trace.some((s) => s.serviceName === service && s.parentSpanId === ids.spanId),
        `${service} hangs from the pod start`,
      );
    const spanIds = new Set(trace.map((s) => s.spanId));
    for (const s of trace)
      assert.ok(s.parentSpanId === '' || spanIds.has(s.parentSpanId), `${s.name} has its parent`);
  });
});

describe('failures and a missing collector', () => {
  const receiver = new OtlpReceiver();
  let db: TestDatabase;

  before(async () => {
    await receiver.start();
    db = await createTestDatabase('obs_fail');
  });

  after(async () => {
    await receiver.stop();
    await db?.drop();
  });

  test('a failing database-load and database-migration exit 1 after their spans arrived', async () => {
    // The schema is not there yet: database-load refuses to run.
    const loadTrace = newTraceparent();
    const load = await runProgram('database-load', [], {
      env: telemetryEnv(receiver, {
        DATABASE_URL: db.url,
        TRACEPARENT: loadTrace.traceparent,
        OTEL_BSP_SCHEDULE_DELAY: '30000',
      }),
    });
    assert.equal(load.code, 1, load.stderr);
    const loadSpans = receiver.spans.filter((s) => s.traceId === loadTrace.traceId);
    assert.ok(loadSpans.length > 0, 'database-load spans arrived before it exited');
    assert.ok(loadSpans.every((s) => s.serviceName === 'database-load'));
    assert.ok(
      loadSpans.some((s) => s.status.code === 2),
      'the failure is an error status on its span',
    );

    const dir = mkdtempSync(join(tmpdir(), 'obs-migrations-'));
    writeFileSync(join(dir, '0001_broken.sql'), 'CREATE TABLE broken (id integer;\n');
    const migrationTrace = newTraceparent();
    const migration = await runProgram('database-migration', ['migrate', '--dir', dir], {
      env: telemetryEnv(receiver, {
        DATABASE_URL: db.url,
        TRACEPARENT: migrationTrace.traceparent,
        OTEL_BSP_SCHEDULE_DELAY: '30000',
      }),
    });
    assert.equal(migration.code, 1, migration.stderr);
    const migrationSpans = receiver.spans.filter((s) => s.traceId === migrationTrace.traceId);
    assert.ok(migrationSpans.length > 0, 'database-migration spans arrived before it exited');
    assert.ok(migrationSpans.some((s) => s.status.code === 2));
  });

  test('with nothing listening at the OTLP endpoint all three programs succeed, each with one warning', async () => {
    const port = await freePort();
    const endpoint = `http://127.0.0.1:${port}/v1/traces`;
    const env = {
      ...telemetryEnv(receiver, {
        DATABASE_URL: db.url,
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
        TRACEPARENT: newTraceparent().traceparent,
      }),
    };
    /** One line of the program's own logger names the endpoint; nothing else is about it. */
    const assertOneWarning = (service: string, output: string) => {
      const lines = output.split('\n').filter((l) => l.includes('telemetry:'));
      assert.equal(lines.length, 1, output);
      const line = JSON.parse(lines[0]!) as Record<string, unknown>;
      assert.equal(line.level, 'warn');
      assert.equal(line.service, service);
      assert.equal(typeof line.time, 'string');
      assert.equal(line.endpoint, endpoint);
      assert.match(String(line.error), /ECONNREFUSED/);
      assert.doesNotMatch(output, /"stack"|\n\s+at /, 'no stack trace');
    };
    const migration = await runProgram('database-migration', [], { env });
    assert.equal(migration.code, 0, migration.stderr);
    assertOneWarning('database-migration', migration.stdout + migration.stderr);
    const load = await runProgram('database-load', [], { env });
    assert.equal(load.code, 0, load.stderr);
    assertOneWarning('database-load', load.stdout + load.stderr);
    const api = await startApi(env);
    const products = await fetch(`${api.url}/api/products`);
    assert.equal(products.status, 200);
    assert.equal(await stopApi(api), 0, api.output());
    assertOneWarning('order-food', api.output());
  });
});
