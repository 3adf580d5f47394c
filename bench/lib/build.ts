import { execFile } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { BenchContext } from './context.js';
import { childEnv, programs, type RunMode, repoRoot } from './processes.js';

const run = promisify(execFile);

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

/**
 * Whether each program's bundle (dist/<entry>.bundle.js) is at least as new as every source it is
 * built from: its workspace's src/, platform/src/ and the bundler.
 */
export function distIsFresh(): boolean {
  const shared = [
    ...sources(join(repoRoot, 'platform', 'src')),
    join(repoRoot, 'scripts/bundle.ts'),
  ];
  for (const program of Object.values(programs)) {
    const bundle = join(repoRoot, program.dist.replace(/\.js$/, '.bundle.js'));
    if (!existsSync(bundle) || !existsSync(join(repoRoot, program.dist))) return false;
    const built = statSync(bundle).mtimeMs;
    const workspace = program.dist.split('/')[0]!;
    for (const file of [...sources(join(repoRoot, workspace, 'src')), ...shared]) {
      if (statSync(file).mtimeMs > built) return false;
    }
  }
  return true;
}

/**
 * Fills each program's compile cache as the images' build does (`node dist/<entry>.js --help`,
 * Dockerfiles), so that the measured starts read it instead of the first one writing it.
 */
async function fillCompileCaches(): Promise<void> {
  for (const program of Object.values(programs)) {
    await run(process.execPath, [join(repoRoot, program.dist), '--help'], {
      cwd: repoRoot,
      env: childEnv(),
      timeout: 60_000,
    });
  }
}

/**
 * The start-up figures measure what the images run: the bundled dist/ (no TypeScript loader), its
 * compile cache filled.
 * Builds it (npm run build) when it is missing or older than the sources; falls back to running
 * from source, and says so, if the build fails (or, in a quick run, instead of building).
 */
export function runMode(ctx: BenchContext): Promise<{ mode: RunMode; note: string }> {
  return ctx.once('run-mode', async () => {
    if (distIsFresh()) {
      await fillCompileCaches();
      return { mode: 'dist' as const, note: 'bundled dist/ (up to date)' };
    }
    if (ctx.quick)
      return { mode: 'source' as const, note: 'source through tsx (quick run: dist/ is stale)' };
    ctx.log('dist/ is missing or stale: npm run build');
    try {
      await run('npm', ['run', 'build'], { cwd: repoRoot, timeout: 300_000 });
      await fillCompileCaches();
      return { mode: 'dist' as const, note: 'bundled dist/ (built by this run)' };
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
