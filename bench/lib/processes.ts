import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { closeSync, createWriteStream, openSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '@order-food/platform/testing/free-port';
import { readMemory } from './proc.js';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

interface Program {
  /** The source entry, run through tsx. */
  source: string;
  /** The built entry (dist/: the bundle's entry, which turns on the compile cache beside it). */
  dist: string;
  /** The Node flags of the image's ENTRYPOINT before the entry (bench/test/image.test.ts). */
  nodeFlags: readonly string[];
  /** The environment the image's runtime stage sets for the program. */
  env: Readonly<Record<string, string>>;
}

/** The three programs, as their images run them (scripts/bundle.ts, the Dockerfiles). */
export const programs = {
  'database-migration': {
    source: 'database-migration/src/cli.ts',
    dist: 'database-migration/dist/cli.js',
    nodeFlags: [],
    env: {},
  },
  'database-load': {
    source: 'database-load/src/cli.ts',
    dist: 'database-load/dist/cli.js',
    nodeFlags: [],
    env: {},
  },
  'order-food': {
    source: 'order-food/src/server.ts',
    dist: 'order-food/dist/server.js',
    nodeFlags: ['--max-semi-space-size=8'],
    env: { MALLOC_ARENA_MAX: '2' },
  },
} as const satisfies Record<string, Program>;
export type ProgramName = keyof typeof programs;

/** The program whose built entry this is, if any. */
function builtProgram(entry: string | undefined): Program | undefined {
  return Object.values(programs).find((p) => p.dist === entry);
}
export type RunMode = 'source' | 'dist';

/**
 * Node arguments for an entry file: compiled JavaScript as the images run it; TypeScript through tsx (the workspaces'
 * sources, which import each other through the "source" condition), or with 'strip' through
 * Node's own type stripping (a self-contained file: no loader left running).
 */
export function entryArgs(entry: string, typescript: 'tsx' | 'strip' = 'tsx'): string[] {
  const file = join(repoRoot, entry);
  // The images' ENTRYPOINT: node [flags] <workspace>/dist/<entry>.js (source maps are opt-in there).
  if (entry.endsWith('.js')) return [...(builtProgram(entry)?.nodeFlags ?? []), file];
  if (typescript === 'strip') return [file];
  return ['--conditions=source', '--import', 'tsx', file];
}

export function programEntry(name: ProgramName, mode: RunMode): string {
  return programs[name][mode];
}

let tasksetWorks: boolean | undefined;

/** Whether CPU pinning is possible: taskset present and more than one core to pin to. */
export function canPin(cores: number): boolean {
  if (tasksetWorks === undefined) {
    try {
      execFileSync('taskset', ['-c', '0', 'true'], { stdio: 'ignore' });
      tasksetWorks = true;
    } catch {
      tasksetWorks = false;
    }
  }
  return tasksetWorks && cores >= 2;
}

/** Pins this process and all its threads (the load client) to one core. */
export function pinSelf(core: number): void {
  execFileSync('taskset', ['-a', '-p', '-c', String(core), String(process.pid)], {
    stdio: 'ignore',
  });
}

export interface SpawnOptions {
  /** Entry relative to the repository root (.ts through tsx, .js directly). */
  entry?: string;
  /** Or any other command and its arguments (psql). */
  command?: string[];
  typescript?: 'tsx' | 'strip';
  args?: string[];
  env?: Record<string, string | undefined>;
  /** Core to pin to, or undefined for no pinning. */
  core?: number | undefined;
  /** stdout and stderr go to this file (logs are part of the cost, and readable afterwards). */
  logFile: string;
  /**
   * Hand the output over a pipe that this process copies into logFile, as a container runtime
   * reads a container's stdout, instead of letting the child write the file itself.
   */
  pipeOutput?: boolean;
  nodeOptions?: string[];
}

export function childEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(env)) {
    if (name.startsWith('OTEL_') || name.startsWith('npm_') || name === 'NODE_TEST_CONTEXT')
      delete env[name];
  }
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

/** Every child still running, so an interrupted run can stop what it started. */
const live = new Set<ChildProcess>();

export function killLiveChildren(): void {
  for (const child of live) child.kill('SIGKILL');
}

function track(child: ChildProcess): ChildProcess {
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

/** taskset execs the program in place, so the child's pid is the program's pid. */
function pinned(core: number | undefined, args: string[]): string[] {
  return core === undefined ? args : ['taskset', '-c', String(core), ...args];
}

export function spawnPinned(options: SpawnOptions): ChildProcess {
  const args = options.command
    ? options.command
    : [
        process.execPath,
        ...(options.nodeOptions ?? []),
        ...entryArgs(options.entry ?? '', options.typescript),
        ...(options.args ?? []),
      ];
  if (options.pipeOutput) {
    const [cmd, ...argv] = pinned(options.core, args);
    const child = spawn(cmd!, argv, {
      cwd: repoRoot,
      env: childEnv({ ...builtProgram(options.entry)?.env, ...options.env }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const file = createWriteStream(options.logFile, { flags: 'a' });
    let open = 2;
    const done = () => {
      if (--open === 0) file.end();
    };
    child.stdout?.on('end', done).pipe(file, { end: false });
    child.stderr?.on('end', done).pipe(file, { end: false });
    return track(child);
  }
  const fd = openSync(options.logFile, 'a');
  try {
    const [cmd, ...argv] = pinned(options.core, args);
    return track(
      spawn(cmd!, argv, {
        cwd: repoRoot,
        env: childEnv({ ...builtProgram(options.entry)?.env, ...options.env }),
        stdio: ['ignore', fd, fd],
      }),
    );
  } finally {
    closeSync(fd);
  }
}

export function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls url until it answers 200, the child exits, or the bound passes. */
export async function waitForOk(
  url: string,
  child: ChildProcess,
  timeoutMs: number,
  intervalMs = 20,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`exited (${child.exitCode ?? child.signalCode}) before ${url} answered 200`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await sleep(intervalMs);
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs} ms`);
}

export interface RunningServer {
  name: string;
  pid: number;
  url: string;
  logFile: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

export function stopChild(child: ChildProcess, timeoutMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export interface ServerOptions extends Omit<SpawnOptions, 'env'> {
  name: string;
  env?: Record<string, string | undefined>;
  readyPath?: string;
  readyTimeoutMs?: number;
}

/** Starts a server on a free port (PORT, HOST) and waits until readyPath answers 200. */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const port = await freePort();
  const child = spawnPinned({
    ...options,
    pipeOutput: true,
    env: { ...options.env, PORT: String(port), HOST: '127.0.0.1' },
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForOk(
      `${url}${options.readyPath ?? '/health'}`,
      child,
      options.readyTimeoutMs ?? 60_000,
    );
  } catch (err) {
    await stopChild(child);
    throw new Error(`${options.name}: ${(err as Error).message}\n${tail(options.logFile)}`);
  }
  return {
    name: options.name,
    pid: child.pid!,
    url,
    logFile: options.logFile,
    child,
    stop: () => stopChild(child),
  };
}

export interface RunResult {
  code: number | null;
  ms: number;
  /** Peak resident set size seen (VmHWM), bytes; 0 when the process was too short to sample. */
  peakRss: number;
}

/** Runs a program to its end, timing it and sampling its peak RSS. */
export async function runToExit(
  options: SpawnOptions & { timeoutMs?: number },
): Promise<RunResult> {
  const started = performance.now();
  const child = spawnPinned(options);
  let peakRss = 0;
  const sample = () => {
    try {
      if (child.pid) peakRss = Math.max(peakRss, readMemory(child.pid).peak);
    } catch {
      // exited between samples
    }
  };
  const sampler = setInterval(sample, 25);
  const killer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 600_000);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (c) => resolve(c));
  });
  const ms = performance.now() - started;
  clearInterval(sampler);
  clearTimeout(killer);
  return { code, ms, peakRss };
}

/** Runs a program and fails with its log tail unless it exits 0. */
export async function runOk(
  what: string,
  options: SpawnOptions & { timeoutMs?: number },
): Promise<RunResult> {
  const result = await runToExit(options);
  if (result.code !== 0) throw new Error(`${what} exited ${result.code}\n${tail(options.logFile)}`);
  return result;
}
