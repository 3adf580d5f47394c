/** Metric names: the catalogue /metrics must hold, and the names PromQL expressions read. */
import assert from 'node:assert/strict';
import { parser } from '@prometheus-io/lezer-promql';

/** Every metric the issue names: the catalogue /metrics must hold after a few requests. */
export const catalogue = [
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
export const kubeStateMetrics = new Set([
  'kube_pod_init_container_status_restarts_total',
  'kube_pod_init_container_status_last_terminated_reason',
  'kube_pod_init_container_status_waiting_reason',
  'kube_pod_init_container_status_ready',
  'kube_pod_status_ready',
  'kube_pod_container_info',
  'kube_pod_container_status_ready',
]);

/** Metric names a PromQL expression reads, from the Prometheus project's own grammar. */
export function metricNames(expr: string): string[] {
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
export function withoutVariables(expr: string): string {
  return expr
    .replaceAll('$__rate_interval', '5m')
    .replaceAll('$__interval', '1m')
    .replaceAll('$__range', '1h')
    .replace(/\$\{?(\w+)\}?/g, 'x');
}

/** Families in a Prometheus text exposition, with the series names a histogram adds. */
export function exportedNames(exposition: string): Set<string> {
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
