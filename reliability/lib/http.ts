import http from 'node:http';
import net from 'node:net';
import { quantile } from './stats.js';

export interface RequestSpec {
  method: string;
  path: string;
  headers?: Record<string, string>;
  /** A string or Buffer is sent as is; anything else as JSON. */
  body?: unknown;
  /** A label for grouping results (e.g. "menu", "order"). */
  kind?: string;
}

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface Sample {
  kind: string;
  /** ms since the generator started */
  start: number;
  end: number;
  status?: number;
  /** A transport failure (refused, reset, timed out) instead of a response. */
  error?: string;
  body?: string;
}

function encode(spec: RequestSpec): { headers: Record<string, string>; payload?: Buffer } {
  const headers: Record<string, string> = { ...(spec.headers ?? {}) };
  if (spec.body === undefined) return { headers };
  let payload: Buffer;
  if (Buffer.isBuffer(spec.body)) payload = spec.body;
  else if (typeof spec.body === 'string') payload = Buffer.from(spec.body);
  else payload = Buffer.from(JSON.stringify(spec.body));
  const hasType = Object.keys(headers).some((h) => h.toLowerCase() === 'content-type');
  if (!hasType) headers['content-type'] = 'application/json';
  headers['content-length'] = String(payload.length);
  return { headers, payload };
}

/** One HTTP request with a hard bound: rejects on transport errors and after timeoutMs. */
export function request(
  baseUrl: string,
  spec: RequestSpec,
  { timeoutMs = 15_000, agent }: { timeoutMs?: number; agent?: http.Agent } = {},
): Promise<HttpResponse> {
  const url = new URL(spec.path, baseUrl);
  const { headers, payload } = encode(spec);
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: spec.method, headers, agent: agent ?? false, timeout: timeoutMs },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    const timer = setTimeout(() => {
      req.destroy(new Error(`no complete response within ${timeoutMs} ms`));
    }, timeoutMs);
    req.on('close', () => clearTimeout(timer));
    req.on('timeout', () => req.destroy(new Error(`socket idle for ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}

export interface LoadOptions {
  baseUrl: string;
  /** Requests started per second (an open model: the rate holds whatever the latency). */
  rate: number;
  /** What to send as the n-th request. */
  next: (n: number) => RequestSpec;
  timeoutMs?: number;
  /** Bound on requests in flight; a request that would exceed it is recorded as an error. */
  maxInFlight?: number;
  /** Keep response bodies of these kinds (e.g. to read the ids of created orders). */
  keepBodies?: readonly string[];
}

/** Sends requests at a fixed rate until stop(); records every outcome. */
export class LoadGenerator {
  readonly samples: Sample[] = [];
  readonly #agent: http.Agent;
  readonly #t0 = performance.now();
  #timer: NodeJS.Timeout | undefined;
  #sent = 0;
  #inFlight = new Set<Promise<void>>();
  #startedAt = 0;

  constructor(readonly options: LoadOptions) {
    this.#agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  }

  now(): number {
    return performance.now() - this.#t0;
  }

  get sent(): number {
    return this.#sent;
  }

  get inFlight(): number {
    return this.#inFlight.size;
  }

  start(): this {
    this.#startedAt = this.now();
    const tick = () => {
      const due = Math.floor(((this.now() - this.#startedAt) / 1000) * this.options.rate);
      while (this.#sent < due) this.#fire(this.#sent++);
    };
    this.#timer = setInterval(tick, 5);
    return this;
  }

  /** Stops sending and waits (bounded by the request timeout) for requests in flight. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await Promise.allSettled([...this.#inFlight]);
    this.#agent.destroy();
  }

  #fire(n: number): void {
    const spec = this.options.next(n);
    const kind = spec.kind ?? `${spec.method} ${spec.path}`;
    const start = this.now();
    if (this.#inFlight.size >= (this.options.maxInFlight ?? 2000)) {
      this.samples.push({ kind, start, end: start, error: 'client: too many requests in flight' });
      return;
    }
    const keep = this.options.keepBodies?.includes(kind) ?? false;
    const p = request(this.options.baseUrl, spec, {
      timeoutMs: this.options.timeoutMs ?? 15_000,
      agent: this.#agent,
    }).then(
      (res) => {
        const sample: Sample = { kind, start, end: this.now(), status: res.status };
        if (keep || res.status >= 500) sample.body = res.body.slice(0, 2000);
        this.samples.push(sample);
      },
      (err: Error & { code?: string }) => {
        this.samples.push({ kind, start, end: this.now(), error: err.code ?? err.message });
      },
    );
    this.#inFlight.add(p);
    void p.finally(() => this.#inFlight.delete(p));
  }
}

export interface Summary {
  requests: number;
  ok: number;
  byStatus: Record<string, number>;
  transportErrors: number;
  p50: number;
  p99: number;
  max: number;
}

export function summarize(samples: readonly Sample[]): Summary {
  const byStatus: Record<string, number> = {};
  let ok = 0;
  let transportErrors = 0;
  for (const s of samples) {
    const key = s.status !== undefined ? String(s.status) : (s.error ?? 'error');
    byStatus[key] = (byStatus[key] ?? 0) + 1;
    if (s.status !== undefined && s.status < 400) ok++;
    if (s.status === undefined) transportErrors++;
  }
  const durations = samples.map((s) => s.end - s.start);
  return {
    requests: samples.length,
    ok,
    byStatus,
    transportErrors,
    p50: quantile(durations, 0.5),
    p99: quantile(durations, 0.99),
    max: durations.length ? durations.reduce((m, d) => (d > m ? d : m), 0) : Number.NaN,
  };
}

/**
 * One request written byte for byte on its own connection (Connection: close), for what Node's
 * client refuses to send: header values holding control characters or any byte sequence.
 */
export function rawRequest(
  port: number,
  head: string,
  headerBytes: Buffer,
  body: string,
  timeoutMs = 15_000,
): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.setTimeout(timeoutMs, () =>
      socket.destroy(new Error(`no complete response within ${timeoutMs} ms`)),
    );
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const end = text.indexOf('\r\n\r\n');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
      if (status === 0 || end === -1) {
        reject(new Error(`no HTTP response: ${JSON.stringify(text.slice(0, 100))}`));
        return;
      }
      const headers: http.IncomingHttpHeaders = {};
      for (const line of text.slice(0, end).split('\r\n').slice(1)) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
      }
      resolve({ status, headers, body: text.slice(end + 4) });
    });
    // write, not end: a server that refuses the request while its socket is half closed by the
    // client may no longer be able to answer.
    socket.write(
      Buffer.concat([
        Buffer.from(`${head}\r\n`, 'latin1'),
        headerBytes,
        Buffer.from(
          `\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
        ),
      ]),
    );
  });
}
