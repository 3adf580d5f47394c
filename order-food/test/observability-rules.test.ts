/**
 * The alert rules evaluated by Prometheus' own engine (`promtool test rules`) on made-up series:
 * each alert fires on the situation it is for, after its `for`, and stays quiet otherwise.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { requireTool } from '@order-food/platform/testing/require-tool';
import { repoRoot } from '@order-food/platform/testing/run-program';
import { parse, stringify } from 'yaml';

const dir = mkdtempSync(join(tmpdir(), 'obs-rules-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Rule {
  alert?: string;
  annotations?: Record<string, string>;
}

/**
 * The rules without their annotations: promtool compares annotations verbatim, and their
 * templates are checked by `promtool check rules`; here the expressions, `for` and labels count.
 */
function bareRules(): string {
  const rules = parse(
    readFileSync(join(repoRoot, 'order-food/helm/files/prometheus-rules.yaml'), 'utf8'),
  ) as { groups: { rules: Rule[] }[] };
  for (const group of rules.groups) for (const rule of group.rules) delete rule.annotations;
  const path = join(dir, 'rules.yaml');
  writeFileSync(path, stringify(rules));
  return path;
}

interface Scenario {
  name: string;
  series: Record<string, string>;
  at: string;
  alert: string;
  expect: Record<string, string>[];
}

const api = (pod: string) => `namespace="shop", pod="${pod}", job="order-food"`;
const build = (pod: string) => `orderfood_build_info{${api(pod)}, version="1.0.0", revision="r"}`;
const requests = (pod: string, status: string) =>
  `http_server_request_duration_seconds_count{${api(pod)}, method="GET", route="/api/products", status_code="${status}"}`;
const bucket = (pod: string, le: string) =>
  `http_server_request_duration_seconds_bucket{${api(pod)}, method="GET", route="/api/products", status_code="200", le="${le}"}`;

const scenarios: Scenario[] = [
  {
    name: 'an init container in CrashLoopBackOff for 5 minutes',
    series: {
      'kube_pod_init_container_status_waiting_reason{namespace="shop", pod="order-food-1", container="database-migration", reason="CrashLoopBackOff"}':
        '1x20',
      'kube_pod_init_container_status_waiting_reason{namespace="shop", pod="order-food-2", container="database-load", reason="PodInitializing"}':
        '1x20',
    },
    at: '10m',
    alert: 'OrderFoodInitContainerFailing',
    expect: [
      {
        severity: 'critical',
        namespace: 'shop',
        pod: 'order-food-1',
        container: 'database-migration',
        reason: 'CrashLoopBackOff',
      },
    ],
  },
  {
    name: 'in CrashLoopBackOff for less than 5 minutes: not yet',
    series: {
      'kube_pod_init_container_status_waiting_reason{namespace="shop", pod="order-food-1", container="database-migration", reason="CrashLoopBackOff"}':
        '_x6 1x4',
    },
    at: '10m',
    alert: 'OrderFoodInitContainerFailing',
    expect: [],
  },
  {
    name: 'an init container restarted',
    series: {
      'kube_pod_init_container_status_restarts_total{namespace="shop", pod="order-food-1", container="database-load"}':
        '0 0 0 1 1 1 1',
      'kube_pod_init_container_status_restarts_total{namespace="shop", pod="order-food-2", container="database-migration"}':
        '0x6',
      'kube_pod_init_container_status_restarts_total{namespace="shop", pod="other-1", container="setup"}':
        '0 1 2 3 4 5 6',
    },
    at: '6m',
    alert: 'OrderFoodInitContainerRestarting',
    expect: [
      { severity: 'warning', namespace: 'shop', pod: 'order-food-1', container: 'database-load' },
    ],
  },
  {
    name: 'the last recorded set-up step failed',
    series: {
      [`orderfood_setup_step_success{${api('order-food-1')}, step="database-migration"}`]: '0x10',
      [`orderfood_setup_step_success{${api('order-food-1')}, step="database-load"}`]: '1x10',
    },
    at: '10m',
    alert: 'OrderFoodSetupStepFailed',
    expect: [
      { severity: 'warning', namespace: 'shop', job: 'order-food', step: 'database-migration' },
    ],
  },
  {
    name: 'two pods report different schema versions for 15 minutes',
    series: {
      [`orderfood_schema_version{${api('order-food-1')}}`]: '3x30',
      [`orderfood_schema_version{${api('order-food-2')}}`]: '2x30',
    },
    at: '20m',
    alert: 'OrderFoodSchemaVersionMismatch',
    expect: [{ severity: 'warning', namespace: 'shop', job: 'order-food' }],
  },
  {
    name: 'pods that agree on the schema version',
    series: {
      [`orderfood_schema_version{${api('order-food-1')}}`]: '2x10 3x20',
      [`orderfood_schema_version{${api('order-food-2')}}`]: '2x10 3x20',
    },
    at: '30m',
    alert: 'OrderFoodSchemaVersionMismatch',
    expect: [],
  },
  {
    name: '10 % of requests answer 5xx',
    series: {
      [build('order-food-1')]: '1x20',
      [requests('order-food-1', '200')]: '0+540x20',
      [requests('order-food-1', '500')]: '0+60x20',
    },
    at: '15m',
    alert: 'OrderFoodHighErrorRatio',
    expect: [{ severity: 'critical', namespace: 'shop', job: 'order-food' }],
  },
  {
    name: '1 % of requests answer 5xx: quiet',
    series: {
      [build('order-food-1')]: '1x20',
      [requests('order-food-1', '200')]: '0+594x20',
      [requests('order-food-1', '500')]: '0+6x20',
    },
    at: '15m',
    alert: 'OrderFoodHighErrorRatio',
    expect: [],
  },
  {
    name: 'another service failing with the same metric name: not ours',
    series: {
      'http_server_request_duration_seconds_count{namespace="shop", pod="payments-1", job="payments", method="GET", route="/pay", status_code="500"}':
        '0+600x20',
    },
    at: '15m',
    alert: 'OrderFoodHighErrorRatio',
    expect: [],
  },
  {
    name: 'p99 above 1 s for 10 minutes',
    series: {
      [build('order-food-1')]: '1x30',
      [bucket('order-food-1', '0.5')]: '0+50x30',
      [bucket('order-food-1', '1')]: '0+60x30',
      [bucket('order-food-1', '2.5')]: '0+100x30',
      [bucket('order-food-1', '+Inf')]: '0+100x30',
    },
    at: '20m',
    alert: 'OrderFoodHighLatencyP99',
    expect: [{ severity: 'warning', namespace: 'shop', job: 'order-food' }],
  },
  {
    name: 'p99 under 1 s: quiet',
    series: {
      [build('order-food-1')]: '1x30',
      [bucket('order-food-1', '0.5')]: '0+99.5x30',
      [bucket('order-food-1', '1')]: '0+100x30',
      [bucket('order-food-1', '+Inf')]: '0+100x30',
    },
    at: '20m',
    alert: 'OrderFoodHighLatencyP99',
    expect: [],
  },
  {
    name: 'callers wait for a pool connection for 5 minutes',
    series: {
      [build('order-food-1')]: '1x20',
      [build('order-food-2')]: '1x20',
      [`db_client_connections{${api('order-food-1')}, state="waiting"}`]: '3x20',
      [`db_client_connections{${api('order-food-2')}, state="waiting"}`]: '0x20',
    },
    at: '10m',
    alert: 'OrderFoodDatabasePoolExhausted',
    expect: [{ severity: 'warning', namespace: 'shop', pod: 'order-food-1' }],
  },
  {
    name: 'an order-food pod not ready for 10 minutes; another service not ours',
    series: {
      'kube_pod_status_ready{namespace="shop", pod="order-food-1", condition="false"}': '1x20',
      'kube_pod_status_ready{namespace="shop", pod="order-food-2", condition="false"}': '0x20',
      'kube_pod_status_ready{namespace="shop", pod="payments-1", condition="false"}': '1x20',
      'kube_pod_container_info{namespace="shop", pod="order-food-1", container="order-food"}':
        '1x20',
      'kube_pod_container_info{namespace="shop", pod="order-food-2", container="order-food"}':
        '1x20',
      'kube_pod_container_info{namespace="shop", pod="payments-1", container="payments"}': '1x20',
    },
    at: '15m',
    alert: 'OrderFoodPodsNotReady',
    expect: [{ severity: 'warning', namespace: 'shop', pod: 'order-food-1' }],
  },
];

test('every alert of the rules file has a scenario that fires it', () => {
  const rules = parse(
    readFileSync(join(repoRoot, 'order-food/helm/files/prometheus-rules.yaml'), 'utf8'),
  ) as { groups: { rules: Rule[] }[] };
  const alerts = rules.groups.flatMap((g) => g.rules.flatMap((r) => (r.alert ? [r.alert] : [])));
  for (const alert of alerts)
    assert.ok(
      scenarios.some((s) => s.alert === alert && s.expect.length > 0),
      `${alert} is tested`,
    );
});

test('promtool evaluates the rules: each alert fires when it should and only then', (t) => {
  if (!requireTool(t, 'promtool', 'prometheus')) return;
  const rulesPath = bareRules();
  const tests = scenarios.map((s) => ({
    name: s.name,
    interval: '1m',
    input_series: Object.entries(s.series).map(([series, values]) => ({ series, values })),
    alert_rule_test: [
      {
        eval_time: s.at,
        alertname: s.alert,
        exp_alerts: s.expect.map((labels) => ({ exp_labels: labels })),
      },
    ],
  }));
  const testPath = join(dir, 'tests.yaml');
  writeFileSync(testPath, stringify({ rule_files: [rulesPath], evaluation_interval: '1m', tests }));
  const result = spawnSync('promtool', ['test', 'rules', testPath], { encoding: 'utf8' });
  assert.equal(result.status, 0, `${result.stdout}${result.stderr}`);
});
