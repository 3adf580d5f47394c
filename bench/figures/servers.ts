import type { BenchContext } from '../lib/context.js';
import { programEntry, type RunningServer, startServer } from '../lib/processes.js';
import { apiEnv } from '../lib/setup.js';

export function startApi(
  ctx: BenchContext,
  name: string,
  url: string,
  overrides: Record<string, string | undefined> = {},
  readyPath = '/ready',
): Promise<RunningServer> {
  return startServer({
    name,
    entry: programEntry('order-food', 'source'),
    env: apiEnv(ctx, url, overrides),
    core: ctx.serverCore,
    logFile: ctx.logFile(name),
    readyPath,
  });
}

export function startBare(ctx: BenchContext, url: string): Promise<RunningServer> {
  return startServer({
    name: 'bare',
    entry: 'bench/baseline/server.ts',
    env: { DATABASE_URL: url, JWT_SECRET: ctx.jwtSecret, NODE_ENV: 'production' },
    core: ctx.serverCore,
    logFile: ctx.logFile('bare'),
  });
}

/** Stops every server whatever happens to the others. */
export async function stopAll(servers: (RunningServer | undefined)[]): Promise<void> {
  await Promise.all(servers.map((s) => s?.stop()));
}
