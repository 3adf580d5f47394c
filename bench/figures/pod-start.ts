import { randomUUID } from 'node:crypto';
import { runMode } from '../lib/build.js';
import type { BenchContext } from '../lib/context.js';
import { programEntry, runOk, startServer } from '../lib/processes.js';
import { figure } from '../lib/report.js';
import { podEnv } from '../lib/setup.js';
import { median } from '../lib/stats.js';
import type { GroupResult } from './types.js';

interface PodRun {
  migrationMs: number;
  loadMs: number;
  apiMs: number;
  totalMs: number;
}

export async function podStart(ctx: BenchContext): Promise<GroupResult> {
  const { mode, note } = await runMode(ctx);
  const runs: PodRun[] = [];
  for (let i = 1; i <= ctx.scale.startupRuns; i++) {
    const db = await ctx.database('pod');
    const uid = randomUUID();
    const started = performance.now();
    await runOk('database-migration', {
      entry: programEntry('database-migration', mode),
      args: ['migrate'],
      env: podEnv(ctx, db.url, 'database-migration', uid),
      core: ctx.serverCore,
      logFile: ctx.logFile(`pod-${i}-migration`),
      timeoutMs: 60_000,
    });
    const migrated = performance.now();
    await runOk('database-load', {
      entry: programEntry('database-load', mode),
      args: ['load'],
      env: podEnv(ctx, db.url, 'database-load', uid),
      core: ctx.serverCore,
      logFile: ctx.logFile(`pod-${i}-load`),
      timeoutMs: 60_000,
    });
    const loaded = performance.now();
    const api = await startServer({
      name: 'api-pod',
      entry: programEntry('order-food', mode),
      env: podEnv(ctx, db.url, 'order-food', uid),
      core: ctx.serverCore,
      logFile: ctx.logFile(`pod-${i}-api`),
      readyPath: '/ready',
      readyTimeoutMs: 30_000,
    });
    const ready = performance.now();
    await api.stop();
    await ctx.dropDatabase(db.name);
    runs.push({
      migrationMs: migrated - started,
      loadMs: loaded - migrated,
      apiMs: ready - loaded,
      totalMs: ready - started,
    });
  }
  const med = (k: keyof PodRun) => Math.round(median(runs.map((r) => r[k])));
  return {
    figures: [figure('pod_start_to_ready_ms', median(runs.map((r) => r.totalMs)))],
    details: { mode: note, runs },
    markdown: [
      `The pod's sequence as three processes on a fresh, empty PostgreSQL database, each started when the previous exited 0, with the chart's environment (traces exported to the local sink: init containers sample every trace, the API 10 %), run from ${note}: \`database-migration migrate\`, \`database-load load\` (the bundled default data set), then the API until GET /ready answers 200 (polled every 20 ms). Median of ${runs.length}.`,
      '',
      `| step | median ms |`,
      `|---|--:|`,
      `| database-migration | ${med('migrationMs')} |`,
      `| database-load | ${med('loadMs')} |`,
      `| API start to /ready 200 | ${med('apiMs')} |`,
      `| total | ${med('totalMs')} |`,
    ].join('\n'),
  };
}
