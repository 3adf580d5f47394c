import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The entry file of each program, run from source through tsx. */
export const programs = {
  'database-migration': join(repoRoot, 'database-migration/src/cli.ts'),
  'database-load': join(repoRoot, 'database-load/src/cli.ts'),
  'order-food': join(repoRoot, 'order-food/src/server.ts'),
} as const;

export type ProgramName = keyof typeof programs;

/**
 * The Node flags each image's ENTRYPOINT gives its program, for launchers that run it as the
 * image does (reliability/lib/previous-release.ts; bench/test/image.test.ts checks them).
 */
export const imageNodeFlags: Record<ProgramName, readonly string[]> = {
  'database-migration': [],
  'database-load': [],
  'order-food': ['--max-semi-space-size=8'],
};

export interface ProgramResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: Record<string, string | undefined>;
  /** Kill the process after this long (a bound, not an assertion). */
  timeoutMs?: number;
  cwd?: string;
  /** Modules the program imports before its entry (after tsx), such as a test clock. */
  imports?: string[];
}

/** Node arguments that run a TypeScript entry from source. */
export function nodeArgs(entry: string, args: string[] = [], imports: string[] = []): string[] {
  return [
    '--conditions=source',
    '--import',
    'tsx',
    ...imports.flatMap((m) => ['--import', m]),
    entry,
    ...args,
  ];
}

/** The environment every program gets in tests (telemetry off, the test runner's context out). */
export function childEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    LOG_LEVEL: 'info',
    OTEL_SDK_DISABLED: 'true',
    NODE_ENV: 'test',
  };
  delete env.NODE_TEST_CONTEXT;
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

/** Starts a program as a real process. */
export function startProgram(
  name: ProgramName | string,
  args: string[] = [],
  options: RunOptions = {},
): ChildProcess {
  const entry = name in programs ? programs[name as ProgramName] : name;
  return spawn(process.execPath, nodeArgs(entry, args, options.imports), {
    cwd: options.cwd ?? repoRoot,
    env: childEnv(options.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Runs a program to its end and returns its exit code and output. */
export function runProgram(
  name: ProgramName | string,
  args: string[] = [],
  options: RunOptions = {},
): Promise<ProgramResult> {
  return outcomeOf(startProgram(name, args, options), options.timeoutMs ?? 120_000);
}

/** A started program's exit and output; SIGKILLed after timeoutMs. */
export function outcomeOf(child: ChildProcess, timeoutMs: number): Promise<ProgramResult> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (c: Buffer) => {
    stdout += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}
