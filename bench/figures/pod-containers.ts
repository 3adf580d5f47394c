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

type Collector = 'collector_absent' | 'collector_present';

/**
 * The chart's pod on podman: `podman kube play` (init containers run to their end) until the API
 * answers /ready 200, on a fresh database, under the chart's CPU limits (kube play applies the
 * resources of values.yaml to each container). Traces go to the bench's sink, or to a closed port.
 */
export async function podStartContainers(ctx: BenchContext): Promise<GroupResult> {
  const ids = ['collector_absent', 'collector_present'].map((c) => `pod_start_containers_ms.${c}`);
  const missing = imagesMissing();
  if (missing) return notMeasured(ids, missing);
  const runs: { collector: Collector; ms: number }[] = [];
  for (let i = 1; i <= ctx.scale.startupRuns; i++) {
    for (const collector of ['collector_absent', 'collector_present'] as const) {
      const db = await ctx.database('podc');
      const port = await freePort();
      const endpoint =
        collector === 'collector_present' ? ctx.sink.url : `http://127.0.0.1:${await freePort()}`;
      const played = podForPodman(
        render([
          '--set',
          `secret.databaseUrl=${db.url}`,
          '--set',
          `secret.jwtSecret=${ctx.jwtSecret}`,
          '--set',
          `telemetry.otlpEndpoint=${endpoint}`,
        ]),
        { name: `bench-pod-${process.pid}-${i}-${collector.split('_')[1]}`, port },
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
    figures: [
      figure('pod_start_containers_ms.collector_absent', med('collector_absent')),
      figure('pod_start_containers_ms.collector_present', med('collector_present')),
    ],
    details: { runs },
    markdown: [
      `The chart rendered with its defaults (telemetry on), its pod adapted for podman by containers/lib/pod.ts and played with \`podman kube play --network host\` on a fresh database; from the play until GET /ready answers 200. CPU limits as in values.yaml (0.5 CPU per init container, 1 for the API). The collector is the bench's OTLP sink (present) or a closed port (absent). Median of ${ctx.scale.startupRuns}.`,
      '',
      '| collector | median ms |',
      '|---|--:|',
      `| absent (closed port) | ${med('collector_absent')} |`,
      `| present (the sink) | ${med('collector_present')} |`,
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
