/**
 * The previous release, built as its images build it: the newest `v*` tag that is an ancestor of
 * HEAD and not HEAD itself, checked out in a detached git worktree, `npm ci` and `npm run build`
 * there. The build is kept under ~/.cache/order-food/releases/<commit>/ (the worktree is
 * unregistered once built), so a rerun starts the old programs at once.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import type { TestContext } from 'node:test';
import { promisify } from 'node:util';
import {
  childEnv,
  imageNodeFlags,
  outcomeOf,
  type ProgramName,
  type ProgramResult,
  type RunOptions,
  repoRoot,
} from '@order-food/platform/testing/run-program';
import type { Launcher } from './process.js';

const run = promisify(execFile);

export interface Release {
  tag: string;
  commit: string;
  /** The built tree (its workspaces' dist/, node_modules and migrations). */
  dir: string;
  /** How long `npm ci` and `npm run build` took when the build was made. */
  buildMs: number;
  /** Whether this run made the build (false: taken from the cache). */
  builtNow: boolean;
  /** Starts one of its programs as its image does: node with the image's flags on dist/. */
  start: Launcher;
}

const workspaces: Record<ProgramName, string> = {
  'database-migration': 'database-migration',
  'database-load': 'database-load',
  'order-food': 'order-food',
};

async function git(...args: string[]): Promise<string> {
  const { stdout } = await run('git', ['-C', repoRoot, ...args], { maxBuffer: 16 << 20 });
  return stdout.trim();
}

/** The newest `v*` tag reachable from HEAD that does not point at HEAD, with its commit. */
export async function previousTag(): Promise<{ tag: string; commit: string } | undefined> {
  const head = await git('rev-parse', 'HEAD');
  const lines = await git(
    'tag',
    '--merged',
    'HEAD',
    '--list',
    'v*',
    '--sort=-v:refname',
    '--format=%(refname:short) %(objectname) %(*objectname)',
  );
  for (const line of lines.split('\n').filter(Boolean)) {
    const [tag, object, peeled] = line.split(' ') as [string, string, string | undefined];
    // An annotated tag's commit is its peeled object; a lightweight tag names the commit itself.
    const commit = peeled || object;
    if (commit !== head) return { tag, commit };
  }
  return changelogRelease(head);
}

/**
 * A checkout without tags (a clone that left them out): the newest release CHANGELOG.md names
 * with its commit, when that commit is in this history and is not HEAD.
 */
async function changelogRelease(
  head: string,
): Promise<{ tag: string; commit: string } | undefined> {
  const path = join(repoRoot, 'CHANGELOG.md');
  const changelog = existsSync(path) ? readFileSync(path, 'utf8') : '';
  for (const [, tag, commit] of changelog.matchAll(/tag `(v[\d.]+)`, commit ([0-9a-f]{40})/g)) {
    if (commit === head) continue;
    const present = await git('merge-base', '--is-ancestor', commit!, 'HEAD').then(
      () => true,
      () => false,
    );
    if (present) return { tag: tag!, commit: commit! };
  }
  return undefined;
}

function cacheRoot(): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'order-food', 'releases');
}

/**
 * The previous release's build, or undefined after marking the test skipped with one line when
 * there is no such tag (a shallow clone has none); under CI=true that fails instead.
 */
export async function previousRelease(t: TestContext): Promise<Release | undefined> {
  // A checkout without git history cannot hold the previous release: nothing to build from.
  const history = await git('rev-parse', '--is-shallow-repository').then(
    (shallow) => shallow === 'false',
    () => false,
  );
  if (!history) {
    t.skip(`${repoRoot} has no full git history: the previous release cannot be built`);
    return undefined;
  }
  const found = await previousTag().catch((err: Error) => {
    throw new Error(`cannot read the git tags of ${repoRoot}: ${err.message}`);
  });
  if (!found) {
    const line =
      'no v* tag before HEAD, nor a release commit in CHANGELOG.md: the previous release cannot be built';
    if (process.env.CI === 'true') throw new Error(`CI=true: ${line}`);
    t.skip(line);
    return undefined;
  }
  return buildRelease(found.tag, found.commit);
}

interface Marker {
  tag: string;
  buildMs: number;
}

/** Builds tag (at commit) into the cache unless it is there already. */
export async function buildRelease(tag: string, commit: string): Promise<Release> {
  const root = cacheRoot();
  const dir = join(root, commit);
  const markerFile = join(dir, '.order-food-release.json');
  let marker: Marker;
  let builtNow = false;
  if (existsSync(markerFile)) {
    marker = JSON.parse(readFileSync(markerFile, 'utf8')) as Marker;
  } else {
    mkdirSync(root, { recursive: true });
    const tmp = join(root, `${commit}.building-${process.pid}`);
    const started = Date.now();
    try {
      await git('worktree', 'add', '--detach', tmp, commit);
      // This Node first on PATH: without install scripts the release's own node package is absent.
      const env = childEnv({
        npm_config_update_notifier: 'false',
        LOG_LEVEL: undefined,
        PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`,
      });
      const step = async (args: string[]) => {
        try {
          await run('npm', args, { cwd: tmp, env, timeout: 900_000, maxBuffer: 64 << 20 });
        } catch (err) {
          const e = err as { stdout?: string; stderr?: string; message: string };
          throw new Error(
            `building ${tag}: npm ${args.join(' ')} failed: ${e.message}\n${(e.stdout ?? '').slice(-2000)}\n${(e.stderr ?? '').slice(-2000)}`,
          );
        }
      };
      // As the images build: no install scripts (Node is here already), then every workspace's dist/.
      await step(['ci', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund']);
      await step(['run', 'build']);
      marker = { tag, buildMs: Date.now() - started };
      writeFileSync(join(tmp, '.order-food-release.json'), JSON.stringify(marker));
      // The checkout stays as a plain directory: drop its link to the repository, unregister it.
      rmSync(join(tmp, '.git'), { force: true });
      await git('worktree', 'prune');
      if (existsSync(markerFile)) rmSync(tmp, { recursive: true, force: true });
      else renameSync(tmp, dir);
      builtNow = true;
    } finally {
      if (existsSync(tmp)) {
        await git('worktree', 'remove', '--force', tmp).catch(() => undefined);
        rmSync(tmp, { recursive: true, force: true });
        await git('worktree', 'prune').catch(() => undefined);
      }
    }
  }
  const start: Launcher = (name, args, options) => startBuilt(dir, name, args, options);
  return { tag, commit, dir, buildMs: marker.buildMs, builtNow, start };
}

/** The bin entry of a program's workspace (dist/…), read from the release's own package.json. */
function entryOf(dir: string, program: ProgramName): string {
  const pkg = JSON.parse(readFileSync(join(dir, workspaces[program], 'package.json'), 'utf8')) as {
    bin?: Record<string, string>;
  };
  const bin = pkg.bin?.[program];
  if (!bin) throw new Error(`${program}'s package.json in ${dir} has no bin entry`);
  return join(dir, workspaces[program], bin);
}

function startBuilt(dir: string, name: string, args: string[], options: RunOptions): ChildProcess {
  if (!(name in workspaces)) throw new Error(`not a program of the release: ${name}`);
  const program = name as ProgramName;
  return spawn(process.execPath, [...imageNodeFlags[program], entryOf(dir, program), ...args], {
    cwd: options.cwd ?? dir,
    env: childEnv(options.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Runs one of the release's programs to its end. */
export function runBuilt(
  release: Release,
  program: ProgramName,
  args: string[],
  options: RunOptions = {},
): Promise<ProgramResult> {
  return outcomeOf(release.start(program, args, options), options.timeoutMs ?? 180_000);
}

const migrationsOf = (dir: string) => readdirSync(dir).filter((f) => /^\d+_.*\.sql$/.test(f));
const locksOrders = (sql: string) =>
  /\bALTER\s+TABLE\s+(IF\s+EXISTS\s+)?(ONLY\s+)?("?public"?\.)?"?orders"?\s/i.test(sql);

/**
 * HEAD's migrations when those the previous release lacks lock `orders`; otherwise (nothing
 * pending that does) a copy with one more that does, so the rehearsal always meets the lock.
 */
export function rehearsalMigrations(release: Release): {
  dir: string;
  pending: string[];
  added?: string;
} {
  const head = join(repoRoot, 'database-migration', 'migrations');
  const old = new Set(migrationsOf(join(release.dir, 'database-migration', 'migrations')));
  const pending = migrationsOf(head).filter((f) => !old.has(f));
  if (pending.some((f) => locksOrders(readFileSync(join(head, f), 'utf8'))))
    return { dir: head, pending };
  const dir = mkdtempSync(join(tmpdir(), 'rolling-update-migrations-'));
  for (const f of migrationsOf(head)) cpSync(join(head, f), join(dir, f));
  const next = Math.max(0, ...migrationsOf(head).map((f) => Number.parseInt(f, 10))) + 1;
  const added = `${String(next).padStart(4, '0')}_rehearsal_orders_column.sql`;
  writeFileSync(join(dir, added), 'ALTER TABLE orders ADD COLUMN rehearsal_note text;\n');
  return { dir, pending: [...pending, added], added };
}
