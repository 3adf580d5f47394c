import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { freePort } from '@order-food/platform/testing/free-port';
import {
  type ProgramName,
  type RunOptions,
  startProgram,
} from '@order-food/platform/testing/run-program';

export { freePort };

export type Launcher = (
  name: ProgramName | string,
  args: string[],
  options: RunOptions,
) => ChildProcess;

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A program started as a real process, its output kept (the last 256 KiB of each stream). */
export class Proc {
  readonly child: ChildProcess;
  readonly exited: Promise<Exit>;
  exit: Exit | undefined;
  #stdout = '';
  #stderr = '';
  readonly #listeners = new Set<(text: string) => void>();

  /** start launches the program: from source by default, or another build (previous-release.ts). */
  constructor(
    name: ProgramName | string,
    args: string[] = [],
    options: RunOptions = {},
    start: Launcher = startProgram,
  ) {
    this.child = start(name, args, options);
    const keep = (which: 'out' | 'err') => (chunk: Buffer) => {
      const text = chunk.toString();
      if (which === 'out') this.#stdout = (this.#stdout + text).slice(-262_144);
      else this.#stderr = (this.#stderr + text).slice(-262_144);
      for (const l of this.#listeners) l(text);
    };
    this.child.stdout?.on('data', keep('out'));
    this.child.stderr?.on('data', keep('err'));
    this.exited = new Promise((resolve) => {
      this.child.on('close', (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      });
      this.child.on('error', () => {
        this.exit ??= { code: null, signal: null };
        resolve(this.exit);
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get stdout(): string {
    return this.#stdout;
  }

  get stderr(): string {
    return this.#stderr;
  }

  get running(): boolean {
    return this.exit === undefined;
  }

  /** Resolves when the output (stdout or stderr) matches pattern; bounded by timeoutMs. */
  waitForOutput(pattern: RegExp, timeoutMs: number): Promise<boolean> {
    if (pattern.test(this.#stdout) || pattern.test(this.#stderr)) return Promise.resolve(true);
    return new Promise((resolve) => {
      let seen = '';
      const done = (v: boolean) => {
        clearTimeout(timer);
        this.#listeners.delete(listener);
        resolve(v);
      };
      const listener = (text: string) => {
        seen = (seen + text).slice(-65_536);
        if (pattern.test(seen)) done(true);
      };
      const timer = setTimeout(() => done(false), timeoutMs);
      this.#listeners.add(listener);
      void this.exited.then(() => done(pattern.test(seen)));
    });
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.running) this.child.kill(signal);
  }

  /** Kills the process (SIGKILL) if it still runs and waits for it to be gone. */
  async stop(): Promise<Exit> {
    this.kill('SIGKILL');
    return this.exited;
  }

  /** The last lines of output, for assertion messages. */
  tail(lines = 20): string {
    return `${this.#stdout}\n${this.#stderr}`.trim().split('\n').slice(-lines).join('\n');
  }

  /** Resident set size in MiB from /proc (Linux). */
  rssMiB(): number {
    return rssMiB(this.pid);
  }
}

export function rssMiB(pid: number): number {
  // The program runs under node started directly by spawn: the pid is the server's own.
  const status = readProc(`/proc/${pid}/status`);
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

function readProc(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
