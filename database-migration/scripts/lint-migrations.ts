/**
 * `npm run lint:migrations [-- --dir DIR]` (part of `npm run lint`): squawk over the migration
 * files, with the repository's .squawk.toml. Files the runner wraps in a transaction are linted as
 * such (--assume-in-transaction); "-- migrate:no-transaction" files are linted as running
 * statement by statement, where CREATE INDEX CONCURRENTLY belongs.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, runCli } from '@order-food/platform/cli';
import { OperationalError, UsageError } from '@order-food/platform/errors';
import { defaultMigrationsDir } from '../src/config.js';
import { loadMigrations } from '../src/migration-files.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const squawkConfig = join(repoRoot, '.squawk.toml');

/** The squawk binary's launcher, as the squawk-cli package declares it. */
function squawkBin(): string {
  const require = createRequire(import.meta.url);
  const manifest = require.resolve('squawk-cli/package.json');
  const { bin } = JSON.parse(readFileSync(manifest, 'utf8')) as { bin: { squawk: string } };
  return join(dirname(manifest), bin.squawk);
}

/** A squawk that cannot start (its platform's binary not installed) is not a finding. */
function assertSquawkRuns(): void {
  const r = spawnSync(process.execPath, [squawkBin(), '--version'], { encoding: 'utf8' });
  if (r.status !== 0)
    throw new OperationalError(
      `squawk does not run here: ${(r.error?.message ?? r.stderr).trim().split('\n')[0]}`,
    );
}

function squawk(args: string[]): number {
  const r = spawnSync(process.execPath, [squawkBin(), '--config', squawkConfig, ...args], {
    cwd: repoRoot,
    stdio: 'inherit',
  });
  if (r.error) throw new OperationalError(`squawk could not run: ${r.error.message}`);
  return r.status ?? 1;
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2), ['dir'], []);
  if (args.command !== undefined || args.positionals.length > 0)
    throw new UsageError(
      `lint-migrations takes only --dir DIR, got "${[args.command, ...args.positionals].join(' ')}"`,
    );
  const dir = (args.flags.dir as string | undefined) ?? defaultMigrationsDir;
  // The runner's own checks first (names, directives, COMMIT in a transactional file).
  const files = await loadMigrations(dir);
  const shown = (path: string) => relative(repoRoot, path) || path;
  // squawk reads its paths as glob patterns: a [, * or ? of a directory name is matched literally.
  const literal = (path: string) => shown(path).replace(/[[*?]/g, '[$&]');
  const inTransaction = files.filter((f) => f.transactional).map((f) => literal(f.path));
  const alone = files.filter((f) => !f.transactional).map((f) => literal(f.path));
  assertSquawkRuns();
  let failed = false;
  // squawk refuses an empty list of paths: each kind is linted only when there is one.
  if (inTransaction.length > 0)
    failed = squawk(['--assume-in-transaction', ...inTransaction]) !== 0;
  if (alone.length > 0) failed = squawk(['--no-assume-in-transaction', ...alone]) !== 0 || failed;
  if (failed)
    throw new OperationalError(
      `squawk found migrations that would block or break the running release (above); put the change in a safer form, see docs/DEPLOYMENT.md "Before a rollout"`,
    );
  process.stdout.write(
    `lint-migrations: ${files.length} file(s) in ${shown(dir)} pass squawk (${alone.length} outside a transaction)\n`,
  );
  return 0;
}

await runCli('lint-migrations', main);
