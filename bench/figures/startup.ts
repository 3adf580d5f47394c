import { randomUUID } from 'node:crypto';
import { runMode } from '../lib/build.js';
import type { BenchContext } from '../lib/context.js';
import { type ProgramName, programEntry, runOk, startServer } from '../lib/processes.js';
import { figure } from '../lib/report.js';
import { podEnv } from '../lib/setup.js';
import { median } from '../lib/stats.js';
import type { GroupResult } from './types.js';

const programsMeasured: ProgramName[] = ['database-migration', 'database-load', 'order-food'];

export async function startup(ctx: BenchContext): Promise<GroupResult> {
  const { mode, note } = await runMode(ctx);
  const db = await ctx.database('startup');
  const uid = randomUUID();
  // The database is already migrated and loaded, so the init containers do their no-op run.
  for (const program of ['database-migration', 'database-load'] as const) {
    await runOk(program, {
      entry: programEntry(program, mode),
      args: program === 'database-migration' ? ['migrate'] : ['load'],
      env: podEnv(ctx, db.url, program, uid),
      core: ctx.serverCore,
      logFile: ctx.logFile(`startup-prepare-${program}`),
    });
  }

  const once = async (program: ProgramName, telemetry: boolean, i: number): Promise<number> => {
    const env = {
      ...podEnv(ctx, db.url, program, uid),
      ...(telemetry ? {} : { OTEL_SDK_DISABLED: 'true' }),
    };
    const logFile = ctx.logFile(`startup-${program}-${telemetry ? 'on' : 'off'}-${i}`);
    const entry = programEntry(program, mode);
    if (program === 'order-food') {
      const started = performance.now();
      const api = await startServer({
        name: program,
        entry,
        env,
        core: ctx.serverCore,
        logFile,
        readyPath: '/health',
      });
      const ms = performance.now() - started;
      await api.stop();
      return ms;
    }
    const args = program === 'database-migration' ? ['migrate'] : ['load'];
    return (await runOk(program, { entry, args, env, core: ctx.serverCore, logFile })).ms;
  };

  const runs: Record<string, { on: number[]; off: number[] }> = {};
  for (const program of programsMeasured) {
    const r = { on: [] as number[], off: [] as number[] };
    for (let i = 1; i <= ctx.scale.startupRuns; i++) {
      r.on.push(await once(program, true, i));
      r.off.push(await once(program, false, i));
    }
    runs[program] = r;
  }
  await ctx.dropDatabase(db.name);

  const figures = programsMeasured.map((p) =>
    figure(`node_startup_ms.${p}`, median(runs[p]!.on), median(runs[p]!.off)),
  );
  return {
    figures,
    details: { mode: note, runs },
    markdown: [
      `Each program started as the pod starts it (${note}), with telemetry exporting to the local sink vs OTEL_SDK_DISABLED=true, alternating, median of ${ctx.scale.startupRuns}: database-migration and database-load run to exit 0 on a database they already prepared (their no-op path: what every pod start after the first does); the API until GET /health answers 200 (polled every 20 ms). Wall time from spawn, Node start-up included.`,
      '',
      '| program | with telemetry ms | SDK disabled ms |',
      '|---|--:|--:|',
      ...programsMeasured.map(
        (p) =>
          `| ${p} | ${Math.round(median(runs[p]!.on))} | ${Math.round(median(runs[p]!.off))} |`,
      ),
    ].join('\n'),
  };
}
