/** One figure of latest.json. Ratios are "higher is better": baseline cost divided by ours. */
export interface Figure {
  id: string;
  value: number | null;
  unit: string;
  baseline: number | null;
  ratio: number | null;
  /** e.g. "ratio >= 0.8" or "value <= 15"; null when the figure is only watched. */
  goal: string | null;
  /** null when there is no goal or the figure could not be measured. */
  met: boolean | null;
}

export interface Goal {
  on: 'ratio' | 'value';
  op: '>=' | '<=';
  limit: number;
}

export interface FigureSpec {
  id: string;
  unit: string;
  goal: Goal | null;
  /** The benchmark that produces it; selecting any figure of a group runs the whole group. */
  group: string;
  title: string;
}

export const catalog: readonly FigureSpec[] = [
  ...[10, 50].map(
    (n): FigureSpec => ({
      id: `orders_read_vs_bare.c${n}`,
      group: 'orders-read',
      unit: 'µs CPU/request',
      goal: { on: 'ratio', op: '>=', limit: 0.8 },
      title: `GET /api/orders?limit=20, production defaults, vs bare Fastify + pg, ${n} connections`,
    }),
  ),
  {
    id: 'tracing_full_vs_off',
    group: 'tracing',
    unit: 'µs CPU/request',
    goal: { on: 'ratio', op: '>=', limit: 0.7 },
    title: 'GET /api/orders?limit=20, 100 % of spans exported, vs OTEL_SDK_DISABLED=true',
  },
  {
    id: 'menu_read_vs_bare',
    group: 'menu',
    unit: 'µs CPU/request',
    goal: { on: 'ratio', op: '>=', limit: 2.5 },
    title: 'GET /api/products (page of 20) from the menu cache vs bare Fastify + pg querying it',
  },
  {
    id: 'orders_read_pooler_vs_direct',
    group: 'pooler',
    unit: 'µs CPU/request',
    goal: null,
    title: "GET /api/orders?limit=20: the API's CPU through PgBouncer (transaction mode) vs direct",
  },
  {
    id: 'orders_p99_ms_at_500rps',
    group: 'orders-write',
    unit: 'ms',
    goal: { on: 'value', op: '<=', limit: 15 },
    title: 'POST /api/orders (3 items, Idempotency-Key) at a steady 500 req/s: p99',
  },
  {
    id: 'orders_p50_ms_at_500rps',
    group: 'orders-write',
    unit: 'ms',
    goal: null,
    title: 'POST /api/orders at a steady 500 req/s: p50',
  },
  {
    id: 'orders_max_sustainable_rps',
    group: 'orders-write',
    unit: 'req/s',
    goal: null,
    title: 'POST /api/orders: highest steady rate served in full with p99 <= 15 ms',
  },
  {
    id: 'load_1m_vs_psql_copy',
    group: 'load',
    unit: 'ms',
    goal: { on: 'ratio', op: '>=', limit: 0.6 },
    title: 'first load of a generated 1M-order data set vs psql \\copy of the same rows',
  },
  {
    id: 'load_rerun_ms',
    group: 'load',
    unit: 'ms',
    goal: { on: 'value', op: '<=', limit: 100 },
    title: 'the loader run again on the unchanged 1M-order data set (in-process time)',
  },
  {
    id: 'load_peak_rss_1m_vs_100k',
    group: 'load',
    unit: 'MB',
    goal: { on: 'ratio', op: '>=', limit: 0.8 },
    title: "the loader's peak RSS loading 1M orders vs 100k orders (flat: ratio near 1)",
  },
  {
    id: 'pod_start_to_ready_ms',
    group: 'pod-start',
    unit: 'ms',
    goal: { on: 'value', op: '<=', limit: 1500 },
    title: 'migration + load + API as three processes, default data, start to /ready 200',
  },
  {
    id: 'local_start_ms.first',
    group: 'local-start',
    unit: 'ms',
    goal: { on: 'value', op: '<=', limit: 8000 },
    title: 'npm start on an empty data directory, spawn to /ready 200, vs the PGlite floor',
  },
  {
    id: 'local_start_ms.second',
    group: 'local-start',
    unit: 'ms',
    goal: { on: 'value', op: '<=', limit: 3000 },
    title: 'npm start again on the data it left, spawn to /ready 200, vs the PGlite floor',
  },
  {
    id: 'api_rss_mb_after_60s',
    group: 'rss',
    unit: 'MB',
    goal: { on: 'value', op: '<=', limit: 150 },
    title: 'API resident memory after 60 s of mixed load',
  },
  ...(
    ['telemetry_off', 'collector_present', 'collector_absent', 'collector_unresolvable'] as const
  ).map((c) => ({
    id: `pod_start_containers_ms.${c}`,
    group: 'pod-containers',
    unit: 'ms',
    goal: null,
    title: `the chart's pod on podman, kube play to /ready 200, ${c.replaceAll('_', ' ')}`,
  })),
  ...(['database-migration', 'database-load', 'order-food'] as const).map((p) => ({
    id: `image_mb.${p}`,
    group: 'images',
    unit: 'MB',
    goal: null,
    title: `${p} image size (podman image inspect)`,
  })),
  ...(['database-migration', 'database-load', 'order-food'] as const).map((p) => ({
    id: `node_startup_ms.${p}`,
    group: 'startup',
    unit: 'ms',
    goal: null,
    title: `${p} start-up with telemetry vs OTEL_SDK_DISABLED=true`,
  })),
];

export function formatGoal(goal: Goal | null): string | null {
  return goal ? `${goal.on} ${goal.op} ${goal.limit}` : null;
}

export function meets(
  goal: Goal | null,
  value: number | null,
  ratio: number | null,
): boolean | null {
  if (!goal) return null;
  const x = goal.on === 'ratio' ? ratio : value;
  if (x === null || !Number.isFinite(x)) return null;
  return goal.op === '>=' ? x >= goal.limit : x <= goal.limit;
}

export function specOf(id: string): FigureSpec {
  const spec = catalog.find((s) => s.id === id);
  if (!spec) throw new Error(`unknown figure id ${id}`);
  return spec;
}

/**
 * Builds a figure from its measurements. With a baseline, ratio = baseline / value: both are
 * costs (CPU per request, milliseconds, megabytes), so a ratio above 1 means cheaper than the
 * baseline.
 */
export function figure(id: string, value: number | null, baseline: number | null = null): Figure {
  const spec = specOf(id);
  const ratio =
    value !== null &&
    baseline !== null &&
    value > 0 &&
    Number.isFinite(value) &&
    Number.isFinite(baseline)
      ? baseline / value
      : null;
  return {
    id,
    value: value === null ? null : roundFig(value),
    unit: spec.unit,
    baseline: baseline === null ? null : roundFig(baseline),
    ratio: ratio === null ? null : Math.round(ratio * 1000) / 1000,
    goal: formatGoal(spec.goal),
    met: meets(spec.goal, value, ratio),
  };
}

function roundFig(x: number): number {
  if (!Number.isFinite(x)) return x;
  return Math.abs(x) >= 100 ? Math.round(x) : Math.round(x * 100) / 100;
}

/** Figure ids selected by --only: exact ids, or a prefix ("node_startup_ms"), or a group name. */
export function selectFigures(only: readonly string[] | undefined): FigureSpec[] {
  if (!only || only.length === 0) return [...catalog];
  const picked = catalog.filter((s) =>
    only.some((o) => s.id === o || s.id.startsWith(`${o}.`) || s.group === o),
  );
  const unknown = only.filter(
    (o) => !catalog.some((s) => s.id === o || s.id.startsWith(`${o}.`) || s.group === o),
  );
  if (unknown.length > 0)
    throw new Error(
      `unknown figure ${unknown.join(', ')}; known: ${catalog.map((s) => s.id).join(', ')}`,
    );
  return picked;
}

export interface Results {
  machine: Record<string, unknown>;
  figures: Figure[];
  /** Per-figure detail: rounds, req/s, percentiles, counts. */
  details: Record<string, unknown>;
}

function cell(x: number | null | boolean | string): string {
  if (x === null) return '–';
  if (typeof x === 'boolean') return x ? 'yes' : '**no**';
  return String(x);
}

export function markdownTable(figures: readonly Figure[]): string {
  const lines = [
    '| figure | value | unit | baseline | ratio | goal | met |',
    '|---|--:|---|--:|--:|---|---|',
  ];
  for (const f of figures) {
    lines.push(
      `| \`${f.id}\` | ${cell(f.value)} | ${f.unit} | ${cell(f.baseline)} | ${cell(f.ratio)} | ${cell(f.goal)} | ${cell(f.met)} |`,
    );
  }
  return lines.join('\n');
}
