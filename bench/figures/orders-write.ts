import { orderRequest as sharedOrderRequest } from '@order-food/platform/testing/mixed-load';
import type { BenchContext } from '../lib/context.js';
import { type HttpRequest, type OpenLoopResult, openLoop } from '../lib/load.js';
import { cpuMicros, readCpuTicks } from '../lib/proc.js';
import type { RunningServer } from '../lib/processes.js';
import { figure } from '../lib/report.js';
import { type HttpData, httpData } from '../lib/setup.js';
import { round } from '../lib/stats.js';
import { startApi } from './servers.js';
import type { GroupResult } from './types.js';

const p99Bound = 15;

/** POST /api/orders: three distinct products, a fresh Idempotency-Key each time. */
export function orderRequest(data: HttpData): () => HttpRequest {
  const next = sharedOrderRequest(data);
  return () => {
    const { kind: _kind, ...request } = next();
    return request;
  };
}

interface Step extends OpenLoopResult {
  rate: number;
  cpuUsPerRequest: number;
  sustained: boolean;
}

async function step(
  api: RunningServer,
  rate: number,
  seconds: number,
  request: () => HttpRequest,
): Promise<Step> {
  const before = readCpuTicks(api.pid);
  const r = await openLoop({ url: api.url, rate, seconds, request });
  await new Promise((res) => setTimeout(res, 100));
  const after = readCpuTicks(api.pid);
  return {
    ...r,
    rate,
    cpuUsPerRequest: cpuMicros(before, after) / Math.max(1, r.responses),
    sustained: r.failed === 0 && r.responses === r.scheduled && r.p99Ms <= p99Bound,
  };
}

function stepLine(s: Step): string {
  return `| ${s.rate} | ${s.responses} | ${s.failed} | ${round(s.rps)} | ${round(s.p50Ms)} | ${round(s.p99Ms)} | ${round(s.maxMs)} | ${round(s.cpuUsPerRequest)} | ${s.sustained ? 'yes' : 'no'} |`;
}

export async function ordersWrite(ctx: BenchContext): Promise<GroupResult> {
  const data = await httpData(ctx);
  const request = orderRequest(data);
  let api: RunningServer | undefined;
  try {
    api = await startApi(ctx, 'api-orders-write', data.url);
    // Warm-up at the target rate: JIT, the pool's connections, PostgreSQL's caches.
    await openLoop({ url: api.url, rate: 500, seconds: ctx.quick ? 2 : 5, request });
    const steady = await step(api, 500, ctx.scale.steadySeconds, request);
    if (steady.failed > 0)
      throw new Error(`POST /api/orders failed at 500 req/s: ${JSON.stringify(steady.statuses)}`);
    // The highest steady rate: from 500 up until a step is not served in full within the p99
    // bound, or down when 500 itself is not.
    const steps: Step[] = [];
    let best = steady.sustained ? 500 : 0;
    const rates = steady.sustained
      ? [750, 1000, 1250, 1500, 2000, 2500, 3000, 4000, 5000]
      : [400, 300, 200, 100];
    for (const rate of rates) {
      const s = await step(api, rate, ctx.scale.stepSeconds, request);
      steps.push(s);
      if (steady.sustained && !s.sustained) break;
      if (s.sustained) {
        best = Math.max(best, rate);
        if (!steady.sustained) break;
      }
    }
    return {
      figures: [
        figure('orders_p99_ms_at_500rps', steady.p99Ms),
        figure('orders_p50_ms_at_500rps', steady.p50Ms),
        figure('orders_max_sustainable_rps', best),
      ],
      details: { steady, steps },
      markdown: [
        `POST /api/orders (3 lines, a fresh Idempotency-Key per request, one customer) against the API with production defaults. Open loop: requests sent at evenly spaced instants whatever the server's pace, each timed from the instant it was due (no coordinated omission), keep-alive connections from a pool of up to 64. After a warm-up at 500 req/s, ${ctx.scale.steadySeconds} s at 500 req/s, then steps of ${ctx.scale.stepSeconds} s at rising rates until a step is not served in full with p99 <= ${p99Bound} ms (or at falling rates until one is, when 500 req/s is not).`,
        '',
        '| rate | responses | failed | achieved req/s | p50 ms | p99 ms | max ms | CPU µs/request | sustained |',
        '|--:|--:|--:|--:|--:|--:|--:|--:|---|',
        stepLine(steady),
        ...steps.map(stepLine),
      ].join('\n'),
    };
  } finally {
    await api?.stop();
  }
}
