import { startPgBouncer } from '@order-food/platform/testing/pgbouncer';
import { type AlternateOptions, alternate, type Round, type Summary } from '../lib/ab.js';
import type { BenchContext } from '../lib/context.js';
import type { HttpRequest } from '../lib/load.js';
import type { RunningServer } from '../lib/processes.js';
import { figure } from '../lib/report.js';
import { httpData } from '../lib/setup.js';
import { round } from '../lib/stats.js';
import { startApi, startBare, stopAll } from './servers.js';
import type { GroupResult } from './types.js';

function abOptions(ctx: BenchContext): Omit<AlternateOptions, 'contenders'> {
  return {
    rounds: ctx.scale.rounds,
    requestsPerRound: ctx.scale.roundRequests,
    roundSeconds: ctx.scale.roundSeconds,
    warmupRequests: ctx.scale.warmupRequests,
    connections: 10,
  };
}

/** The same request must give the same page from both servers: same query, same data. */
async function samePage(a: RunningServer, b: RunningServer, request: HttpRequest): Promise<void> {
  const get = async (s: RunningServer) => {
    const res = await fetch(`${s.url}${request.path}`, { headers: request.headers ?? {} });
    if (res.status !== 200) throw new Error(`${s.name} answered ${res.status} to ${request.path}`);
    return (await res.json()) as { items: { id: string }[]; nextCursor: string | null };
  };
  const [pa, pb] = await Promise.all([get(a), get(b)]);
  const ids = (p: typeof pa) => p.items.map((i) => i.id).join(',');
  if (ids(pa) !== ids(pb) || (pa.nextCursor === null) !== (pb.nextCursor === null))
    throw new Error(`${a.name} and ${b.name} return different pages for ${request.path}`);
  if (pa.items.length !== 20)
    throw new Error(`${request.path} returned ${pa.items.length} items, not a full page of 20`);
}

export function roundsTable(rounds: readonly Round[]): string {
  const lines = [
    '| round | server | requests | CPU µs/request | req/s | p50 ms | p99 ms |',
    '|--:|---|--:|--:|--:|--:|--:|',
  ];
  for (const r of rounds)
    lines.push(
      `| ${r.round} | ${r.contender} | ${r.responses} | ${round(r.cpuUsPerRequest)} | ${Math.round(r.rps)} | ${r.p50Ms} | ${r.p99Ms} |`,
    );
  return lines.join('\n');
}

function summaryLine(name: string, s: Summary): string {
  return `- **${name}**: ${round(s.cpuUsPerRequest)} µs CPU/request, ${Math.round(s.rps)} req/s, p50 ${s.p50Ms} ms, p99 ${s.p99Ms} ms (median of ${s.rounds} rounds)`;
}

function describeRun(ctx: BenchContext, perRound: number, levels: number[] = [10]): string {
  const s = ctx.scale;
  const sizing = s.roundSeconds
    ? ` (at least ${s.roundRequests}, and about ${s.roundSeconds} s at the fastest server's warm-up rate)`
    : '';
  return `Closed loop (autocannon, ${levels.join(' and ')} connections), ${s.warmupRequests} warm-up requests per server, then ${s.rounds} alternating rounds of ${perRound} requests${sizing}${levels.length > 1 ? ' at each level' : ''}; CPU = utime+stime of the server process over the round / requests.`;
}

/** Variants of the API that tell its overhead apart (--breakdown): each leaves one more part out. */
const breakdownVariants: { name: string; env: Record<string, string | undefined>; what: string }[] =
  [
    { name: 'api, LOG_LEVEL=warn', env: { LOG_LEVEL: 'warn' }, what: 'no request log line' },
    {
      name: 'api, LOG_LEVEL=warn, SDK disabled',
      env: { LOG_LEVEL: 'warn', OTEL_SDK_DISABLED: 'true' },
      what: 'no request log line and no tracing SDK',
    },
  ];

interface VersusBare {
  id: 'orders_read_vs_bare' | 'menu_read_vs_bare';
  label: string;
  request: HttpRequest;
  description: string;
  /**
   * Closed-loop connections to measure at: one figure `<id>.c<n>` per level, rounds of every level
   * interleaved on the same two servers; without it one figure `<id>` at 10.
   */
  levels?: number[];
}

/** The API with production defaults against the bare server, same request, same database. */
async function versusBare(ctx: BenchContext, v: VersusBare): Promise<GroupResult> {
  const data = await httpData(ctx);
  const servers: RunningServer[] = [];
  try {
    const variants = ctx.breakdown ? breakdownVariants : [];
    servers.push(
      ...(await Promise.all([
        startApi(ctx, `api-${v.label}`, data.url),
        startBare(ctx, data.url, `bare-${v.label}`),
        ...variants.map((x, i) => startApi(ctx, `api-${v.label}-variant${i + 1}`, data.url, x.env)),
      ])),
    );
    const [api, bare] = servers as [RunningServer, RunningServer];
    await samePage(api, bare, v.request);
    const sink0 = ctx.sink.spans;
    const names = ['api', 'bare', ...variants.map((x) => x.name)];
    const levels = v.levels ?? [10];
    const suffix = (n: number) => (v.levels ? ` c${n}` : '');
    const { rounds, summary, requestsPerRound } = await alternate({
      ...abOptions(ctx),
      contenders: levels.flatMap((n) =>
        servers.map((server, i) => ({
          name: `${names[i]!}${suffix(n)}`,
          server,
          request: v.request,
          connections: n,
        })),
      ),
    });
    const spans = ctx.sink.spans - sink0;
    const figures = levels.map((n) =>
      figure(
        v.levels ? `${v.id}.c${n}` : v.id,
        summary[`api${suffix(n)}`]!.cpuUsPerRequest,
        summary[`bare${suffix(n)}`]!.cpuUsPerRequest,
      ),
    );
    return {
      figures,
      details: { summary, rounds, customerOrders: data.customerOrders, spans },
      markdown: [
        `${v.description} ${describeRun(ctx, requestsPerRound, levels)}`,
        '',
        ...levels.flatMap((n) => [
          summaryLine(`API${suffix(n)}`, summary[`api${suffix(n)}`]!),
          summaryLine(`bare${suffix(n)}`, summary[`bare${suffix(n)}`]!),
          ...variants.map((x) =>
            summaryLine(`${x.name}${suffix(n)} (${x.what})`, summary[`${x.name}${suffix(n)}`]!),
          ),
        ]),
        `- spans the API exported: ${spans}`,
        '',
        roundsTable(rounds),
      ].join('\n'),
    };
  } finally {
    await stopAll(servers);
  }
}

export function ordersRead(ctx: BenchContext): Promise<GroupResult> {
  return httpData(ctx).then((data) =>
    versusBare(ctx, {
      id: 'orders_read_vs_bare',
      label: 'orders',
      request: {
        method: 'GET',
        path: '/api/orders?limit=20',
        headers: { authorization: `Bearer ${data.token}` },
      },
      levels: [10, 50],
      description: `GET /api/orders?limit=20 as one customer (${data.customerOrders} orders) with a bearer token. API with the chart's production defaults (ENVIRONMENT=production, LOG_LEVEL=info, 10 % parent-based trace sampling exported over OTLP/HTTP protobuf to a local sink, metrics on) vs the bare Fastify + pg server in bench/baseline (same fast-jwt verifier options, same three SQL statements: the caller's role, the page, its lines).`,
    }),
  );
}

export async function tracingCost(ctx: BenchContext): Promise<GroupResult> {
  const data = await httpData(ctx);
  const request: HttpRequest = {
    method: 'GET',
    path: '/api/orders?limit=20',
    headers: { authorization: `Bearer ${data.token}` },
  };
  let full: RunningServer | undefined;
  let off: RunningServer | undefined;
  try {
    [full, off] = await Promise.all([
      startApi(ctx, 'api-tracing-full', data.url, {
        OTEL_TRACES_SAMPLER: 'parentbased_always_on',
        OTEL_TRACES_SAMPLER_ARG: undefined,
      }),
      startApi(ctx, 'api-tracing-off', data.url, { OTEL_SDK_DISABLED: 'true' }),
    ]);
    const sink0 = ctx.sink.spans;
    const { rounds, summary, requestsPerRound } = await alternate({
      ...abOptions(ctx),
      contenders: [
        { name: 'tracing 100 %', server: full, request },
        { name: 'SDK disabled', server: off, request },
      ],
    });
    // Spans reach the sink in batches: give the last batch time to arrive before counting. Only
    // the fully traced server exports, so every span counted is one of its requests'.
    await new Promise((r) => setTimeout(r, 2500));
    const spans = ctx.sink.spans - sink0;
    const served =
      ctx.scale.warmupRequests +
      rounds.filter((r) => r.contender === 'tracing 100 %').reduce((n, r) => n + r.responses, 0);
    const a = summary['tracing 100 %']!;
    const b = summary['SDK disabled']!;
    return {
      figures: [figure('tracing_full_vs_off', a.cpuUsPerRequest, b.cpuUsPerRequest)],
      details: {
        full: a,
        off: b,
        rounds,
        spans,
        requests: served,
        spansPerRequest: spans / served,
      },
      markdown: [
        `GET /api/orders?limit=20, the same API started twice: every trace sampled (parentbased_always_on) and exported over OTLP/HTTP protobuf to a local sink that counts spans, vs OTEL_SDK_DISABLED=true. Both log at info and serve metrics. ${describeRun(ctx, requestsPerRound)}`,
        '',
        summaryLine('tracing 100 %', a),
        summaryLine('SDK disabled', b),
        `- the sink received ${spans} spans for ${served} fully traced requests (${round(spans / served)} per request: none dropped if that is the number of spans one request makes)`,
        '',
        roundsTable(rounds),
      ].join('\n'),
    };
  } finally {
    await stopAll([full, off]);
  }
}

export function menuRead(ctx: BenchContext): Promise<GroupResult> {
  return versusBare(ctx, {
    id: 'menu_read_vs_bare',
    label: 'menu',
    request: { method: 'GET', path: '/api/products' },
    description:
      'GET /api/products (first page of 20 of 1000 products) as users get it: the API with production defaults serves the page from its in-memory menu cache (invalidated over PostgreSQL LISTEN/NOTIFY), the bare server queries PostgreSQL for every request.',
  });
}

/**
 * The same API started twice on the same database: once through PgBouncer (Debian's, transaction
 * mode, default settings, started here on a free loopback port), once direct. What the pooler
 * costs the API per request: no session statement_timeout (transactions set it locally), and a
 * pooled server connection per statement.
 */
export async function poolerRead(ctx: BenchContext): Promise<GroupResult> {
  const data = await httpData(ctx);
  const request: HttpRequest = {
    method: 'GET',
    path: '/api/orders?limit=20',
    headers: { authorization: `Bearer ${data.token}` },
  };
  const bouncer = await startPgBouncer(data.url);
  let pooled: RunningServer | undefined;
  let direct: RunningServer | undefined;
  try {
    [pooled, direct] = await Promise.all([
      startApi(ctx, 'api-pgbouncer', bouncer.via(data.url)),
      startApi(ctx, 'api-direct', data.url),
    ]);
    await samePage(pooled, direct, request);
    const { rounds, summary, requestsPerRound } = await alternate({
      ...abOptions(ctx),
      contenders: [
        { name: 'through PgBouncer', server: pooled, request },
        { name: 'direct', server: direct, request },
      ],
    });
    const a = summary['through PgBouncer']!;
    const b = summary.direct!;
    return {
      figures: [figure('orders_read_pooler_vs_direct', a.cpuUsPerRequest, b.cpuUsPerRequest)],
      details: { pooled: a, direct: b, rounds },
      markdown: [
        `GET /api/orders?limit=20 as one customer, the API with production defaults started twice on the same database: through PgBouncer 1.18 (pool_mode=transaction, default settings) and direct. ${describeRun(ctx, requestsPerRound)}`,
        '',
        summaryLine('through PgBouncer', a),
        summaryLine('direct', b),
        '',
        roundsTable(rounds),
      ].join('\n'),
    };
  } finally {
    await stopAll([pooled, direct]);
    await bouncer.stop();
  }
}
