import type { PoolStats, QueryObserver } from '@order-food/platform/database';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export type SetupStep = 'database-migration' | 'database-load';

export interface SetupStepState {
  step: SetupStep;
  durationSeconds: number;
  success: boolean;
  lastRunTimestampSeconds: number;
}

/**
 * The service's metric catalogue on a registry of its own (tests build several apps in one
 * process). Names follow Prometheus and OpenTelemetry conventions; labels are bounded: the route
 * template, never the raw URL.
 */
export class Metrics {
  readonly registry = new Registry();

  readonly httpDuration = new Histogram({
    name: 'http_server_request_duration_seconds',
    help: 'Duration of HTTP requests served, by method, route template and status code',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  /**
   * Requests in flight by method, counted in a plain map and copied into the gauge when it is
   * scraped: two label lookups in prom-client on every request cost more than the count itself.
   */
  readonly #inFlight = new Map<string, number>();

  readonly httpInFlight = new Gauge({
    name: 'http_server_active_requests',
    help: 'HTTP requests being served now',
    labelNames: ['method'] as const,
    registers: [this.registry],
    collect: () => {
      for (const [method, n] of this.#inFlight) this.httpInFlight.set({ method }, n);
    },
  });

  requestStarted(method: string): void {
    this.#inFlight.set(method, (this.#inFlight.get(method) ?? 0) + 1);
  }

  requestEnded(method: string): void {
    this.#inFlight.set(method, (this.#inFlight.get(method) ?? 0) - 1);
  }

  readonly dbQueryDuration = new Histogram({
    name: 'db_client_operation_duration_seconds',
    help: 'Duration of database statements, by operation and outcome',
    labelNames: ['operation', 'outcome'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
    registers: [this.registry],
  });

  readonly ordersCreated = new Counter({
    name: 'orderfood_orders_created_total',
    help: 'Orders placed through the API',
    registers: [this.registry],
  });

  readonly orderValue = new Histogram({
    name: 'orderfood_order_value_cents',
    help: 'Total of each order placed, in cents',
    buckets: [500, 1000, 2000, 3000, 5000, 7500, 10_000, 20_000, 50_000, 100_000],
    registers: [this.registry],
  });

  readonly orderStatusTransitions = new Counter({
    name: 'orderfood_order_status_transitions_total',
    help: 'Order status changes, by previous and new status',
    labelNames: ['from', 'to'] as const,
    registers: [this.registry],
  });

  readonly idempotentReplays = new Counter({
    name: 'orderfood_idempotent_replays_total',
    help: 'POST /api/orders answered from a stored response for a repeated Idempotency-Key',
    registers: [this.registry],
  });

  readonly setupStepDuration = new Gauge({
    name: 'orderfood_setup_step_duration_seconds',
    help: 'Duration of the last run of each pod set-up step (init container), from its history table',
    labelNames: ['step'] as const,
    registers: [this.registry],
  });

  readonly setupStepSuccess = new Gauge({
    name: 'orderfood_setup_step_success',
    help: '1 when the last run of the set-up step succeeded, 0 when it failed',
    labelNames: ['step'] as const,
    registers: [this.registry],
  });

  readonly setupStepLastRun = new Gauge({
    name: 'orderfood_setup_step_last_run_timestamp_seconds',
    help: 'Unix time the set-up step last finished',
    labelNames: ['step'] as const,
    registers: [this.registry],
  });

  readonly schemaVersion = new Gauge({
    name: 'orderfood_schema_version',
    help: 'Highest database schema migration version applied',
    registers: [this.registry],
  });

  readonly datasetInfo = new Gauge({
    name: 'orderfood_dataset_info',
    help: 'Content hash of the initial data set last loaded (value is always 1)',
    labelNames: ['hash'] as const,
    registers: [this.registry],
  });

  readonly buildInfo = new Gauge({
    name: 'orderfood_build_info',
    help: 'Version and revision of the running build (value is always 1)',
    labelNames: ['version', 'revision'] as const,
    registers: [this.registry],
  });

  readonly #poolConnections = new Gauge({
    name: 'db_client_connections',
    help: 'Database pool connections by state: total open, idle, and callers waiting for one',
    labelNames: ['state'] as const,
    registers: [this.registry],
  });

  readonly #poolMax = new Gauge({
    name: 'db_client_connections_max',
    help: 'Most connections the database pool may open',
    registers: [this.registry],
  });

  #poolStats: (() => PoolStats) | undefined;

  constructor(build: { version: string; revision: string }) {
    collectDefaultMetrics({ register: this.registry });
    // Gauges named like counters fail `promtool check metrics`; the per-type gauges without the
    // suffix (nodejs_active_handles …) carry the same figures.
    for (const name of [
      'nodejs_active_handles_total',
      'nodejs_active_requests_total',
      'nodejs_active_resources_total',
    ])
      this.registry.removeSingleMetric(name);
    this.buildInfo.set({ version: build.version, revision: build.revision }, 1);
    const stats = () => this.#poolStats?.();
    const gauge = this.#poolConnections;
    // Read at scrape time, so the figure is current and costs nothing between scrapes.
    Object.assign(gauge, {
      collect() {
        const s = stats();
        if (!s) return;
        gauge.set({ state: 'total' }, s.total);
        gauge.set({ state: 'idle' }, s.idle);
        gauge.set({ state: 'waiting' }, s.waiting);
      },
    });
  }

  /** Where pool figures come from, once the database exists; max is the pool's size. */
  watchPool(stats: () => PoolStats, max?: number): void {
    this.#poolStats = stats;
    if (max !== undefined) this.#poolMax.set(max);
  }

  /** Give this to the database adapter so every statement is timed. */
  readonly queryObserver: QueryObserver = (operation, seconds, ok) => {
    this.dbQueryDuration.observe({ operation, outcome: ok ? 'success' : 'error' }, seconds);
  };

  setSetupStep(state: SetupStepState): void {
    this.setupStepDuration.set({ step: state.step }, state.durationSeconds);
    this.setupStepSuccess.set({ step: state.step }, state.success ? 1 : 0);
    this.setupStepLastRun.set({ step: state.step }, state.lastRunTimestampSeconds);
  }

  setDataset(hash: string): void {
    this.datasetInfo.reset();
    this.datasetInfo.set({ hash }, 1);
  }
}
