import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createDatabase, dropDatabase } from './db.js';
import type { OtlpSink } from './otlp-sink.js';
import { repoRoot } from './processes.js';

/** How much work each benchmark does: full for the committed figures, quick for a smoke pass. */
export interface Scale {
  /** Requests per measured round (at least) and per warm-up, closed loop. */
  roundRequests: number;
  /** Rounds of at least this many seconds at the fastest warm-up rate (0: roundRequests only). */
  roundSeconds: number;
  warmupRequests: number;
  rounds: number;
  /** Seconds at the fixed 500 req/s, and per step of the rate search. */
  steadySeconds: number;
  stepSeconds: number;
  /** Orders in the small and the large generated data sets. */
  smallOrders: number;
  largeOrders: number;
  /** Seconds of mixed load before reading the API's RSS. */
  rssSeconds: number;
  /** Repetitions of the start-up measurements. */
  startupRuns: number;
}

export const scales: Record<'full' | 'quick', Scale> = {
  full: {
    roundRequests: 2500,
    // 2500 cached menu pages took the API 0.15 s, and such short rounds measured the page half as
    // dear again as rounds of 20 000 (bench/findings.md, "Round length").
    roundSeconds: 2,
    // Until the servers' request paths are optimized: after 2000 the API's CPU per request still
    // fell from round to round (152 → 80 µs over eight menu rounds), the bare server's less so.
    warmupRequests: 10_000,
    rounds: 8,
    steadySeconds: 15,
    stepSeconds: 3,
    smallOrders: 100_000,
    largeOrders: 1_000_000,
    rssSeconds: 60,
    startupRuns: 3,
  },
  quick: {
    roundRequests: 1000,
    roundSeconds: 0,
    warmupRequests: 500,
    rounds: 2,
    steadySeconds: 4,
    stepSeconds: 2,
    smallOrders: 10_000,
    largeOrders: 50_000,
    rssSeconds: 8,
    startupRuns: 1,
  },
};

export class BenchContext {
  readonly quick: boolean;
  /** Servers write a .cpuprofile into runDir when they stop (figures then cost more). */
  readonly profile: boolean;
  /** The read figures also measure API variants without request logs and without tracing. */
  readonly breakdown: boolean;
  readonly scale: Scale;
  readonly runDir: string;
  readonly sink: OtlpSink;
  /** Core for servers and the programs measured; undefined without pinning. */
  readonly serverCore: number | undefined;
  readonly jwtSecret = 'bench-jwt-secret-0123456789abcdef0123456789abcdef';
  readonly #databases = new Set<string>();
  readonly #stamp: string;
  #seq = 0;
  readonly #memo = new Map<string, Promise<unknown>>();

  constructor(options: {
    quick: boolean;
    profile?: boolean;
    breakdown?: boolean;
    sink: OtlpSink;
    serverCore: number | undefined;
  }) {
    this.quick = options.quick;
    this.profile = options.profile ?? false;
    this.breakdown = options.breakdown ?? false;
    this.scale = scales[options.quick ? 'quick' : 'full'];
    this.sink = options.sink;
    this.serverCore = options.serverCore;
    this.#stamp = `${new Date().toISOString().replace(/\D/g, '').slice(0, 14)}_${process.pid}`;
    this.runDir = join(repoRoot, 'bench', 'results', 'tmp', this.#stamp);
    mkdirSync(this.runDir, { recursive: true });
  }

  log(message: string): void {
    process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
  }

  logFile(name: string): string {
    return join(this.runDir, `${name}.log`);
  }

  /** Node options for a server: a CPU profile named after it when --profile is on. */
  nodeOptions(name: string): string[] {
    return this.profile
      ? ['--cpu-prof', `--cpu-prof-dir=${this.runDir}`, `--cpu-prof-name=${name}.cpuprofile`]
      : [];
  }

  /** A fresh database of the bench's own, dropped at the end of the run. */
  async database(label: string): Promise<{ name: string; url: string }> {
    const name = `bench_${label}_${this.#stamp}_${++this.#seq}`.toLowerCase();
    const url = await createDatabase(name);
    this.#databases.add(name);
    return { name, url };
  }

  async dropDatabase(name: string): Promise<void> {
    await dropDatabase(name);
    this.#databases.delete(name);
  }

  async dropAll(): Promise<void> {
    for (const name of [...this.#databases]) {
      await this.dropDatabase(name).catch((err: Error) =>
        this.log(`could not drop database ${name}: ${err.message}`),
      );
    }
  }

  /** Runs make once per key for the whole run (data sets and databases shared by figures). */
  once<T>(key: string, make: () => Promise<T>): Promise<T> {
    let p = this.#memo.get(key) as Promise<T> | undefined;
    if (!p) {
      p = make();
      this.#memo.set(key, p);
    }
    return p;
  }
}
