import { Agent, request as httpRequest } from 'node:http';
import autocannon from 'autocannon';
import { percentile } from './stats.js';

export interface HttpRequest {
  method: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

export interface LoadResult {
  /** Responses received (any status). */
  responses: number;
  /** Responses with a 2xx status. */
  ok: number;
  /** Responses with another status, plus connection errors and timeouts. */
  failed: number;
  seconds: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  statuses: Record<string, number>;
}

export interface ClosedLoopOptions {
  url: string;
  /** The request, or a function making each request (fresh Idempotency-Key and the like). */
  request: HttpRequest | (() => HttpRequest);
  /** A fixed number of requests, so CPU per request divides by a known count. */
  amount?: number;
  /** Or a duration in seconds. */
  duration?: number;
  connections?: number;
}

/** Closed-loop load from autocannon: `connections` requests in flight, each sent on the last's reply. */
export async function closedLoop(options: ClosedLoopOptions): Promise<LoadResult> {
  const { request } = options;
  const requests =
    typeof request === 'function'
      ? [{ setupRequest: (req: object) => ({ ...req, ...request() }) }]
      : [
          {
            method: request.method,
            path: request.path,
            headers: request.headers ?? {},
            ...(request.body === undefined ? {} : { body: request.body }),
          },
        ];
  const started = performance.now();
  let last = started;
  const run = autocannon({
    url: options.url,
    connections: options.connections ?? 10,
    pipelining: 1,
    timeout: 30,
    requests,
    ...(options.amount ? { amount: options.amount } : { duration: options.duration ?? 10 }),
  });
  run.on('response', () => {
    last = performance.now();
  });
  const result = await run;
  const statuses: Record<string, number> = {};
  let responses = 0;
  for (const [code, { count }] of Object.entries(result.statusCodeStats)) {
    statuses[code] = count;
    responses += count;
  }
  const failed = result.non2xx + result.errors + result.timeouts;
  // autocannon's own duration is in whole seconds, and with a fixed amount it returns on its
  // next one-second tick: time the round from its start to the last response instead.
  const seconds = (last - started) / 1000;
  return {
    responses,
    ok: result['2xx'],
    failed,
    seconds,
    rps: responses / seconds,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    statuses,
  };
}

export interface OpenLoopOptions {
  url: string;
  /** Requests per second, sent at even intervals whatever the server's pace. */
  rate: number;
  seconds: number;
  request: () => HttpRequest;
  timeoutMs?: number;
  maxSockets?: number;
}

export interface OpenLoopResult extends LoadResult {
  /** Requests scheduled; fewer responses than this means the server fell behind. */
  scheduled: number;
  maxMs: number;
}

/**
 * Open-loop load at a fixed rate. autocannon's rate limit sends each second's quota in a burst at
 * the start of the second, which measures burst queueing rather than latency at a steady rate;
 * this client spaces requests evenly and times each one from when it was due (not when it was
 * sent), so a stalled server shows up in the percentiles instead of being hidden by a slower send.
 */
export async function openLoop(options: OpenLoopOptions): Promise<OpenLoopResult> {
  const target = new URL(options.url);
  const agent = new Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 64 });
  const timeoutMs = options.timeoutMs ?? 10_000;
  const intervalNs = 1e9 / options.rate;
  const total = Math.round(options.rate * options.seconds);
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let ok = 0;
  let failed = 0;
  let sent = 0;
  let done = 0;
  const start = process.hrtime.bigint();

  const fire = (due: bigint, finish: () => void) => {
    const r = options.request();
    const body = r.body === undefined ? undefined : Buffer.from(r.body);
    const req = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        method: r.method,
        path: r.path,
        agent,
        timeout: timeoutMs,
        headers: {
          ...(r.headers ?? {}),
          ...(body ? { 'content-type': 'application/json', 'content-length': body.length } : {}),
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => {
          const ms = Number(process.hrtime.bigint() - due) / 1e6;
          latencies.push(ms);
          const code = String(res.statusCode);
          statuses[code] = (statuses[code] ?? 0) + 1;
          if (res.statusCode && res.statusCode >= 200 && res.statusCode < 300) ok++;
          else failed++;
          finish();
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => {
      failed++;
      statuses.error = (statuses.error ?? 0) + 1;
      finish();
    });
    req.end(body);
  };

  await new Promise<void>((resolve) => {
    const finish = () => {
      done++;
      if (done === total) resolve();
    };
    const tick = () => {
      const elapsed = Number(process.hrtime.bigint() - start);
      const due = Math.min(total, Math.floor(elapsed / intervalNs) + 1);
      while (sent < due) {
        fire(start + BigInt(Math.round(sent * intervalNs)), finish);
        sent++;
      }
      if (sent < total) setTimeout(tick, 1);
    };
    if (total === 0) resolve();
    else tick();
  });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  agent.destroy();
  return {
    scheduled: total,
    responses: latencies.length,
    ok,
    failed,
    seconds,
    rps: latencies.length / seconds,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    maxMs: latencies.length ? latencies.reduce((a, b) => (a > b ? a : b)) : Number.NaN,
    statuses,
  };
}
