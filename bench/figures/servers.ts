import { runMode } from '../lib/build.js';
import type { BenchContext } from '../lib/context.js';
import { programEntry, type RunningServer, startServer } from '../lib/processes.js';
import { apiEnv } from '../lib/setup.js';

/** The API as the image runs it: compiled dist/ when it builds, else from source through tsx. */
export async function startApi(
  ctx: BenchContext,
  name: string,
  url: string,
  overrides: Record<string, string | undefined> = {},
  readyPath = '/ready',
): Promise<RunningServer> {
  const { mode } = await runMode(ctx);
  return startServer({
    name,
    entry: programEntry('order-food', mode),
    env: apiEnv(ctx, url, overrides),
    core: ctx.serverCore,
    logFile: ctx.logFile(name),
    nodeOptions: ctx.nodeOptions(name),
    readyPath,
  });
}

/** The bare server, without a loader when the API runs compiled (so neither carries tsx). */
export async function startBare(
  ctx: BenchContext,
  url: string,
  name = 'bare',
): Promise<RunningServer> {
  const { mode } = await runMode(ctx);
  return startServer({
    name,
    entry: 'bench/baseline/server.ts',
    typescript: mode === 'dist' ? 'strip' : 'tsx',
    env: { DATABASE_URL: url, JWT_SECRET: ctx.jwtSecret, NODE_ENV: 'production' },
    core: ctx.serverCore,
    logFile: ctx.logFile(name),
    nodeOptions: ctx.nodeOptions(name),
  });
}

/** Stops every server whatever happens to the others. */
export async function stopAll(servers: (RunningServer | undefined)[]): Promise<void> {
  await Promise.all(servers.map((s) => s?.stop()));
}
