import { closedLoop, type HttpRequest, type LoadResult } from './load.js';
import { cpuMicros, readCpuTicks } from './proc.js';
import type { RunningServer } from './processes.js';
import { median } from './stats.js';

export interface Contender {
  name: string;
  server: RunningServer;
  request: HttpRequest | (() => HttpRequest);
  /** Closed-loop connections for this contender's rounds (default: the options'). */
  connections?: number;
}

export interface Round {
  contender: string;
  round: number;
  responses: number;
  cpuUsPerRequest: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
}

export interface Summary {
  /** Median over rounds of the server's CPU time per request, µs. */
  cpuUsPerRequest: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  rounds: number;
}

export interface AlternateOptions {
  contenders: Contender[];
  rounds: number;
  /** Requests per measured round: the least, when roundSeconds asks for more. */
  requestsPerRound: number;
  /**
   * Rounds long enough that every server's take at least about this many seconds (the fastest
   * warm-up rate decides): a round of a fraction of a second measured a cheap page half as dear
   * again as a long one (bench/findings.md, "Round length").
   */
  roundSeconds?: number;
  warmupRequests: number;
  connections?: number;
}

/** Requests per round: requestsPerRound, or more for fast servers (roundSeconds). */
export function roundSize(
  options: Pick<AlternateOptions, 'requestsPerRound' | 'roundSeconds'>,
  warmupRates: readonly number[],
): number {
  const fastest = Math.max(...warmupRates);
  if (!options.roundSeconds || !Number.isFinite(fastest)) return options.requestsPerRound;
  const wanted = Math.round((fastest * options.roundSeconds) / 500) * 500;
  return Math.max(options.requestsPerRound, wanted);
}

const settle = () => new Promise((r) => setTimeout(r, 100));

function check(name: string, result: LoadResult): void {
  if (result.failed > Math.max(1, result.responses * 0.001)) {
    throw new Error(
      `${name}: ${result.failed} of ${result.responses} requests failed (${JSON.stringify(result.statuses)})`,
    );
  }
}

/** One measured round: the server's utime+stime before and after a fixed number of requests. */
export async function measureRound(
  contender: Contender,
  amount: number,
  connections: number,
): Promise<Omit<Round, 'round'>> {
  const { server } = contender;
  const before = readCpuTicks(server.pid);
  const result = await closedLoop({
    url: server.url,
    request: contender.request,
    amount,
    connections,
  });
  await settle();
  const after = readCpuTicks(server.pid);
  check(contender.name, result);
  return {
    contender: contender.name,
    responses: result.responses,
    cpuUsPerRequest: cpuMicros(before, after) / result.responses,
    rps: result.rps,
    p50Ms: result.p50Ms,
    p99Ms: result.p99Ms,
  };
}

/**
 * Warm-up for each server (once, however many contenders share it), then rounds A B A B …;
 * medians per contender.
 */
export async function alternate(
  options: AlternateOptions,
): Promise<{ rounds: Round[]; summary: Record<string, Summary>; requestsPerRound: number }> {
  const connections = options.connections ?? 10;
  const warmed = new Set<RunningServer>();
  const warmupRates: number[] = [];
  for (const c of options.contenders) {
    if (warmed.has(c.server)) continue;
    warmed.add(c.server);
    const warmup = await closedLoop({
      url: c.server.url,
      request: c.request,
      amount: options.warmupRequests,
      connections,
    });
    check(`${c.name} warm-up`, warmup);
    warmupRates.push(warmup.rps);
  }
  const amount = roundSize(options, warmupRates);
  const rounds: Round[] = [];
  for (let i = 1; i <= options.rounds; i++) {
    for (const c of options.contenders) {
      const n = c.connections ?? connections;
      rounds.push({ ...(await measureRound(c, amount, n)), round: i });
    }
  }
  const summary: Record<string, Summary> = {};
  for (const c of options.contenders) {
    const mine = rounds.filter((r) => r.contender === c.name);
    summary[c.name] = {
      cpuUsPerRequest: median(mine.map((r) => r.cpuUsPerRequest)),
      rps: median(mine.map((r) => r.rps)),
      p50Ms: median(mine.map((r) => r.p50Ms)),
      p99Ms: median(mine.map((r) => r.p99Ms)),
      rounds: mine.length,
    };
  }
  return { rounds, summary, requestsPerRound: amount };
}
