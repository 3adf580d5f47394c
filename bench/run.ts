/**
 * npm run bench [-- --quick] [-- --only ID[,ID…]] [-- --out DIR] [-- --keep]
 * Measures each figure of bench/README.md against a baseline in the same run. Only a full run
 * writes bench/results/latest.*; others write under bench/results/tmp/ (or --out).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { menuRead, ordersRead, poolerRead, tracingCost } from './figures/http.js';
import { loadFigures } from './figures/load.js';
import { localStart } from './figures/local-start.js';
import { ordersWrite } from './figures/orders-write.js';
import { imageSizes, podStartContainers } from './figures/pod-containers.js';
import { podStart } from './figures/pod-start.js';
import { apiRss } from './figures/rss.js';
import { startup } from './figures/startup.js';
import type { GroupResult, GroupRunner } from './figures/types.js';
import { BenchContext } from './lib/context.js';
import { machineInfo } from './lib/machine.js';
import { OtlpSink } from './lib/otlp-sink.js';
import { canPin, killLiveChildren, pinSelf, repoRoot } from './lib/processes.js';
import { performanceSection, replaceSection } from './lib/readme.js';
import {
  catalog,
  type Figure,
  figure,
  markdownTable,
  type Results,
  selectFigures,
} from './lib/report.js';

const runners: Record<string, GroupRunner> = {
  'orders-read': ordersRead,
  tracing: tracingCost,
  menu: menuRead,
  pooler: poolerRead,
  'orders-write': ordersWrite,
  load: loadFigures,
  'pod-start': podStart,
  'local-start': localStart,
  'pod-containers': podStartContainers,
  images: imageSizes,
  rss: apiRss,
  startup,
};

const groupTitles: Record<string, string> = {
  'orders-read': 'Orders read vs bare Fastify + pg',
  tracing: 'Tracing: 100 % exported vs SDK disabled',
  menu: 'Menu read (cache) vs bare Fastify + pg',
  pooler: 'Orders read through PgBouncer vs direct',
  'orders-write': 'Placing orders at a steady rate',
  load: 'Data load vs psql \\copy',
  'pod-start': 'Pod start to ready',
  'local-start': 'npm start on the embedded database, to ready',
  'pod-containers': "The chart's pod on podman, start to ready",
  images: 'Image sizes',
  rss: 'API memory under mixed load',
  startup: 'Program start-up with and without telemetry',
};

const usage = `usage: npm run bench [-- --quick] [-- --only ID[,ID…]] [-- --out DIR] [-- --keep]
  --quick      a fast smoke pass (also BENCH_QUICK=1): small counts, figures not comparable
  --only IDS   figure ids, id prefixes (node_startup_ms) or groups (${Object.keys(runners).join(', ')})
  --out DIR    where latest.md and latest.json go (default: bench/results for a full run,
               the run directory under bench/results/tmp otherwise)
  --keep       keep the bench databases (dropped by default)
  --readme     only rewrite README.md's Performance section from bench/results/latest.json
  --breakdown  the read figures also run the API without request logs, and without them and
               the tracing SDK, to tell its overhead apart
  --profile    servers write a .cpuprofile into the run directory (read it with
               bench/profile-summary.ts); profiled figures cost more and are not comparable
figures: ${catalog.map((s) => s.id).join(', ')}`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string', multiple: true },
      out: { type: 'string' },
      keep: { type: 'boolean', default: false },
      profile: { type: 'boolean', default: false },
      breakdown: { type: 'boolean', default: false },
      readme: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  if (values.readme) {
    const results = JSON.parse(
      readFileSync(join(repoRoot, 'bench', 'results', 'latest.json'), 'utf8'),
    ) as Results;
    const readme = join(repoRoot, 'README.md');
    writeFileSync(
      readme,
      replaceSection(
        readFileSync(readme, 'utf8'),
        performanceSection(results.figures, results.machine),
      ),
    );
    return 0;
  }
  const quick = values.quick || process.env.BENCH_QUICK === '1';
  const only = values.only?.flatMap((o) => o.split(',')).filter(Boolean);
  const selected = selectFigures(only);
  const groups = [...new Set(selected.map((s) => s.group))];
  const complete = selected.length === catalog.length && !values.profile;

  const cores = availableParallelism();
  const pinned = canPin(cores);
  // The load client (this process, the OTLP sink) on core 1; servers and programs on core 0.
  if (pinned) pinSelf(1);
  const sink = await new OtlpSink().start();
  const ctx = new BenchContext({
    quick,
    profile: values.profile,
    breakdown: values.breakdown,
    sink,
    serverCore: pinned ? 0 : undefined,
  });
  const outDir =
    values.out ?? (complete && !quick ? join(repoRoot, 'bench', 'results') : ctx.runDir);
  ctx.log(
    `${quick ? 'quick' : 'full'} run of ${groups.join(', ')}; ${pinned ? 'servers on core 0, client on core 1' : 'no CPU pinning (taskset missing or one core)'}; logs in ${ctx.runDir}`,
  );

  const started = Date.now();
  const figures: Figure[] = [];
  const details: Record<string, unknown> = {};
  const sections: string[] = [];
  let failures = 0;
  const stop = async () => {
    if (!values.keep) await ctx.dropAll();
    await sink.stop();
  };
  process.once('SIGINT', () => {
    killLiveChildren();
    stop().finally(() => process.exit(130));
  });

  try {
    for (const group of groups) {
      const t0 = Date.now();
      ctx.log(`${group}: start`);
      let result: GroupResult;
      try {
        result = await runners[group]!(ctx);
      } catch (err) {
        failures++;
        const message = (err as Error).stack ?? String(err);
        ctx.log(`${group}: FAILED: ${message}`);
        result = {
          figures: catalog.filter((s) => s.group === group).map((s) => figure(s.id, null)),
          details: { error: (err as Error).message },
          markdown: `Not measured: ${(err as Error).message.split('\n')[0]}`,
        };
      }
      const wanted = new Set(selected.map((s) => s.id));
      figures.push(...result.figures.filter((f) => wanted.has(f.id)));
      details[group] = { ...result.details, seconds: Math.round((Date.now() - t0) / 100) / 10 };
      sections.push(`## ${groupTitles[group] ?? group}\n\n${result.markdown}`);
      ctx.log(
        `${group}: ${result.figures.map((f) => `${f.id}=${f.value}${f.ratio === null ? '' : ` (ratio ${f.ratio})`}`).join(', ')} in ${Math.round((Date.now() - t0) / 1000)} s`,
      );
    }
  } finally {
    await stop();
  }

  const machine = await machineInfo({
    mode: quick ? 'quick' : 'full',
    pinning: pinned ? 'servers on core 0, load client on core 1 (taskset)' : 'none',
    loadClient: 'autocannon (closed loop); bench/lib/load.ts openLoop (fixed rate)',
    totalSeconds: Math.round((Date.now() - started) / 1000),
  });
  const results: Results = { machine, figures, details };
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(join(outDir, 'latest.md'), renderMarkdown(results, sections));
  ctx.log(`wrote ${join(outDir, 'latest.md')} and latest.json in ${machine.totalSeconds} s`);
  if (complete && !quick && values.out === undefined) {
    const readme = join(repoRoot, 'README.md');
    writeFileSync(
      readme,
      replaceSection(readFileSync(readme, 'utf8'), performanceSection(figures, machine)),
    );
    ctx.log('updated the Performance section of README.md');
  }
  process.stdout.write(`${markdownTable(figures)}\n`);
  return failures === 0 ? 0 : 1;
}

function renderMarkdown(results: Results, sections: string[]): string {
  const m = results.machine;
  let findings = '';
  try {
    findings = readFileSync(join(repoRoot, 'bench', 'findings.md'), 'utf8').trim();
  } catch {
    // no findings written yet
  }
  return [
    '# Benchmark results',
    '',
    `${m.date}, ${m.mode} run, ${m.totalSeconds} s. Machine: ${m.cores} cores (${m.cpu}), ${m.memoryMb} MB, Linux ${m.kernel}, Node ${m.node}, PostgreSQL ${m.postgresql}; Fastify ${m.fastify}, pg ${m.pg}, fast-jwt ${m.fastJwt}, autocannon ${m.autocannon}. ${m.pinning}.`,
    '',
    'Ratios are the baseline cost divided by ours (CPU per request, milliseconds, megabytes): higher is better, 1 means as cheap as the baseline. The primary figure for a server is its CPU time per request (utime+stime from /proc/PID/stat over a fixed number of requests), which holds steady on a shared machine where requests per second do not; req/s and latency are beside it.',
    '',
    markdownTable(results.figures),
    '',
    ...sections.flatMap((s) => [s, '']),
    ...(findings ? [findings, ''] : []),
  ].join('\n');
}

process.exitCode = await main().catch((err: Error) => {
  process.stderr.write(`bench: ${err.message}\n`);
  return 1;
});
