import {
  containerLogs,
  freePort,
  playPod,
  podForPodman,
  removePod,
  waitForReady,
} from '../../containers/lib/pod.js';
import { imageSizeMb, images, imagesMissing, programNames } from '../../containers/lib/podman.js';
import { render } from '../../order-food/test/deploy/render.js';
import type { BenchContext } from '../lib/context.js';
import { figure } from '../lib/report.js';
import { median } from '../lib/stats.js';
import type { GroupResult } from './types.js';

/** The images' sizes as podman reports them (scripts/containers/prepare.sh builds them). */
export async function imageSizes(): Promise<GroupResult> {
  const missing = imagesMissing();
  if (missing)
    return notMeasured(
      programNames.map((p) => `image_mb.${p}`),
      missing,
    );
  const sizes = programNames.map((p) => ({ program: p, mb: imageSizeMb(images[p]) }));
  return {
    figures: sizes.map((s) => figure(`image_mb.${s.program}`, s.mb)),
    details: { sizes },
    markdown: [
      'Each image as built by `npm run test:containers` (podman, from the Dockerfiles, on the local node:24 bookworm-slim base), size by `podman image inspect` (MB = 10^6 bytes).',
      '',
      '| image | MB |',
      '|---|--:|',
      ...sizes.map((s) => `| ${images[s.program]} | ${s.mb} |`),
    ].join('\n'),
  };
}

/** Telemetry off; a collector that answers; one that refuses; one whose name does not resolve. */
const collectors = [
  'telemetry_off',
  'collector_present',
  'collector_absent',
  'collector_unresolvable',
] as const;
type Collector = (typeof collectors)[number];

/**
 * The chart's pod on podman (`kube play`, chart CPU limits) until /ready 200 on a fresh database,
 * with traces to the bench's sink, a closed port, an unresolvable host, or telemetry off: a missing
 * collector must cost the start no more than a second over telemetry off.
 */
export async function podStartContainers(ctx: BenchContext): Promise<GroupResult> {
  const ids = collectors.map((c) => `pod_start_containers_ms.${c}`);
  const missing = imagesMissing();
  if (missing) return notMeasured(ids, missing);
  const runs: { collector: Collector; ms: number }[] = [];
  for (let i = 1; i <= ctx.scale.startupRuns; i++) {
    // Each round starts with another case, so none always pays for being first.
    const round = collectors.map((_, k) => collectors[(k + i) % collectors.length]!);
    for (const collector of round) {
      const db = await ctx.database('podc');
      const port = await freePort();
      const endpoint = {
        telemetry_off: '',
        collector_present: ctx.sink.url,
        collector_absent: `http://127.0.0.1:${await freePort()}`,
        collector_unresolvable: 'http://jaeger.invalid:4318',
      }[collector];
      const telemetry =
        collector === 'telemetry_off'
          ? ['--set', 'telemetry.enabled=false']
          : ['--set', `telemetry.otlpEndpoint=${endpoint}`];
      const played = podForPodman(
        render([
          '--set',
          `secret.databaseUrl=${db.url}`,
          '--set',
          `secret.jwtSecret=${ctx.jwtSecret}`,
          ...telemetry,
        ]),
        { name: `bench-pod-${process.pid}-${i}-${collector.replaceAll('_', '-')}`, port },
      );
      try {
        const started = performance.now();
        const result = await playPod(played);
        if (result.code !== 0) throw new Error(`podman kube play: ${result.stderr}`);
        await waitForReady(port, `${played.pod.metadata.name}-order-food`);
        runs.push({ collector, ms: Math.round(performance.now() - started) });
        ctx.log(`pod-containers: run ${i} ${collector}: ${runs.at(-1)!.ms} ms`);
      } catch (err) {
        for (const c of ['database-migration', 'database-load', 'order-food'])
          ctx.log(`${c}: ${await containerLogs(`${played.pod.metadata.name}-${c}`)}`);
        throw err;
      } finally {
        await removePod(played);
        await ctx.dropDatabase(db.name);
      }
    }
  }
  const med = (c: Collector) => median(runs.filter((r) => r.collector === c).map((r) => r.ms));
  return {
    figures: collectors.map((c) => figure(`pod_start_containers_ms.${c}`, med(c))),
    details: { runs },
    markdown: [
      `The chart rendered with its defaults (telemetry on), its pod adapted for podman by containers/lib/pod.ts and played with \`podman kube play --network host\` on a fresh database; from the play until GET /ready answers 200. CPU limits as in values.yaml (0.5 CPU per init container, 1 for the API). The collector is the bench's OTLP sink (present), a closed port (absent) or a name that does not resolve; or telemetry is off (\`telemetry.enabled=false\`). Median of ${ctx.scale.startupRuns}.`,
      '',
      '| telemetry | median ms | over telemetry off |',
      '|---|--:|--:|',
      ...collectors.map(
        (c) => `| ${c.replaceAll('_', ' ')} | ${med(c)} | ${med(c) - med('telemetry_off')} |`,
      ),
    ].join('\n'),
  };
}

function notMeasured(ids: string[], reason: string): GroupResult {
  return {
    figures: ids.map((id) => figure(id, null)),
    details: { skipped: reason },
    markdown: `Not measured: ${reason}.`,
  };
}
