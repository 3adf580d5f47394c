import { execFile } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import type { BenchContext } from './context.js';
import { type RunMode, repoRoot } from './processes.js';

const run = promisify(execFile);
const workspaces = ['platform', 'database-migration', 'database-load', 'order-food'];

function sources(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? sources(join(dir, e.name))
      : e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')
        ? [join(dir, e.name)]
        : [],
  );
}

/** Whether every workspace's dist/ holds a .js at least as new as each of its src/*.ts. */
export function distIsFresh(): boolean {
  for (const ws of workspaces) {
    const src = join(repoRoot, ws, 'src');
    for (const file of sources(src)) {
      const js = join(repoRoot, ws, 'dist', relative(src, file)).replace(/\.ts$/, '.js');
      if (!existsSync(js) || statSync(js).mtimeMs < statSync(file).mtimeMs) return false;
    }
  }
  return true;
}

/**
 * The start-up figures measure what the images run: the compiled dist/ (no TypeScript loader).
 * Builds it (npm run build) when it is missing or older than the sources; falls back to running
 * from source, and says so, if the build fails (or, in a quick run, instead of building).
 */
export function runMode(ctx: BenchContext): Promise<{ mode: RunMode; note: string }> {
  return ctx.once('run-mode', async () => {
    if (distIsFresh()) return { mode: 'dist' as const, note: 'compiled dist/ (up to date)' };
    if (ctx.quick)
      return { mode: 'source' as const, note: 'source through tsx (quick run: dist/ is stale)' };
    ctx.log('dist/ is missing or stale: npm run build');
    try {
      await run('npm', ['run', 'build'], { cwd: repoRoot, timeout: 300_000 });
      return { mode: 'dist' as const, note: 'compiled dist/ (built by this run)' };
    } catch (err) {
      const message =
        (err as { stdout?: string }).stdout?.split('\n').find((l) => l.includes('error')) ??
        String(err);
      ctx.log(`npm run build failed (${message}); start-up figures run from source through tsx`);
      return {
        mode: 'source' as const,
        note: `source through tsx (npm run build failed: ${message})`,
      };
    }
  });
}
