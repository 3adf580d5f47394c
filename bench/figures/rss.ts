import { mixedLoad } from '@order-food/platform/testing/mixed-load';
import autocannon from 'autocannon';
import type { BenchContext } from '../lib/context.js';
import { readMemory } from '../lib/proc.js';
import type { RunningServer } from '../lib/processes.js';
import { figure } from '../lib/report.js';
import { httpData } from '../lib/setup.js';
import { round } from '../lib/stats.js';
import { startApi } from './servers.js';
import type { GroupResult } from './types.js';

const mb = (bytes: number) => bytes / 2 ** 20;

/** The heap figures prom-client's default metrics publish, in MB. */
async function heapFigures(url: string): Promise<Record<string, number>> {
  const wanted: Record<string, string> = {
    nodejs_heap_size_used_bytes: 'heap used',
    nodejs_heap_size_total_bytes: 'heap total',
    nodejs_external_memory_bytes: 'external',
  };
  const out: Record<string, number> = {};
  try {
    const text = await (await fetch(`${url}/metrics`)).text();
    for (const line of text.split('\n')) {
      const [name, value] = line.split(' ');
      const label = name ? wanted[name] : undefined;
      if (label && value) out[label] = mb(Number(value));
    }
  } catch {
    // the figure stands without them
  }
  return out;
}

export async function apiRss(ctx: BenchContext): Promise<GroupResult> {
  const data = await httpData(ctx);
  const mix = mixedLoad(data);
  let api: RunningServer | undefined;
  try {
    api = await startApi(ctx, 'api-rss', data.url);
    const atStart = readMemory(api.pid);
    const seconds = ctx.scale.rssSeconds;
    // Each connection cycles through the mix (platform/testing/mixed-load.ts, which the reliability
    // suite's rolling update sends too): reads of both lists, filtered pages, an order placed.
    const started = performance.now();
    const result = await autocannon({
      url: api.url,
      connections: 10,
      duration: seconds,
      timeout: 30,
      requests: mix.map((step) => ({
        setupRequest: (req: object) => {
          const { kind: _kind, ...request } = step();
          return { ...req, ...request };
        },
      })),
    });
    const elapsed = (performance.now() - started) / 1000;
    const after = readMemory(api.pid);
    const heap = await heapFigures(api.url);
    const served = Object.values(result.statusCodeStats).reduce((n, s) => n + s.count, 0);
    const failed = result.non2xx + result.errors + result.timeouts;
    if (failed > served * 0.001)
      throw new Error(
        `mixed load: ${failed} of ${served} requests failed (${JSON.stringify(result.statusCodeStats)})`,
      );
    return {
      figures: [figure('api_rss_mb_after_60s', mb(after.rss))],
      details: {
        seconds,
        requests: served,
        rps: served / elapsed,
        statuses: result.statusCodeStats,
        rssAtStartMb: mb(atStart.rss),
        rssAfterMb: mb(after.rss),
        peakRssMb: mb(after.peak),
        heap,
      },
      markdown: [
        `The API with production defaults under ${seconds} s of closed-loop mixed load (autocannon, 10 connections, each cycling through GET /api/orders, GET /api/products, a filtered menu page, a filtered orders page and POST /api/orders), then VmRSS from /proc/PID/status.`,
        '',
        `- ${served} requests, ${Math.round(served / elapsed)} req/s, ${failed} failed`,
        `- RSS when ready ${round(mb(atStart.rss))} MB, after the load ${round(mb(after.rss))} MB, peak ${round(mb(after.peak))} MB`,
        `- V8 heap after the load (the API's /metrics): ${Object.entries(heap)
          .map(([k, v]) => `${k} ${round(v)} MB`)
          .join(', ')}`,
      ].join('\n'),
    };
  } finally {
    await api?.stop();
  }
}
