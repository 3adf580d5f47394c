import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchContext } from '../lib/context.js';
import { runOk, startServer } from '../lib/processes.js';
import { figure } from '../lib/report.js';
import { median } from '../lib/stats.js';
import type { GroupResult } from './types.js';

type Run = 'first' | 'second';
const kinds: Run[] = ['first', 'second'];

/**
 * `npm start` with nothing configured, as a developer runs it: scripts/start.ts through tsx on
 * the embedded database, start to GET /ready 200, first on an empty data directory, then again on
 * the one it left. The baseline, side by side on its own directory: the floor any such start
 * pays (bench/baseline/pglite-open.ts: Node, tsx, PGlite opening the directory, one query).
 */
export async function localStart(ctx: BenchContext): Promise<GroupResult> {
  const ours: Record<Run, number[]> = { first: [], second: [] };
  const floor: Record<Run, number[]> = { first: [], second: [] };
  for (let i = 1; i <= ctx.scale.startupRuns; i++) {
    const dir = mkdtempSync(join(ctx.runDir, 'local-start-'));
    for (const kind of kinds) {
      const started = performance.now();
      const api = await startServer({
        name: 'npm-start',
        entry: 'scripts/start.ts',
        env: {
          DATABASE_URL: undefined,
          ENVIRONMENT: undefined,
          PGLITE_DATA_DIR: join(dir, 'start'),
        },
        core: ctx.serverCore,
        logFile: ctx.logFile(`local-start-${i}-${kind}`),
        readyPath: '/ready',
        readyTimeoutMs: 120_000,
      });
      ours[kind].push(performance.now() - started);
      await api.stop();
      const base = await runOk('pglite-open', {
        entry: 'bench/baseline/pglite-open.ts',
        env: { PGLITE_DATA_DIR: join(dir, 'floor') },
        core: ctx.serverCore,
        logFile: ctx.logFile(`local-start-${i}-${kind}-floor`),
        timeoutMs: 120_000,
      });
      floor[kind].push(base.ms);
    }
    rmSync(dir, { recursive: true, force: true });
  }
  return {
    figures: kinds.map((k) => figure(`local_start_ms.${k}`, median(ours[k]), median(floor[k]))),
    details: { ours, floor },
    markdown: [
      `\`npm start\` as a developer runs it (scripts/start.ts through tsx, nothing configured: embedded PGlite, ENVIRONMENT=development, no trace export), spawn to GET /ready 200 (polled every 20 ms), first on an empty data directory, then on the one it left; beside each, the floor every start on PGlite pays (Node, tsx, PGlite opening a directory of the same state and answering one query). Median of ${ctx.scale.startupRuns}.`,
      '',
      '| run | npm start ms | floor ms |',
      '|---|--:|--:|',
      ...kinds.map(
        (k) => `| ${k} | ${Math.round(median(ours[k]))} | ${Math.round(median(floor[k]))} |`,
      ),
    ].join('\n'),
  };
}
