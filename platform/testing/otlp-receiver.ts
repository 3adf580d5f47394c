import { randomInt } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeTraceRequest } from './otlp-protobuf.js';

export interface ReceivedSpan {
  serviceName: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  status: { code?: number; message?: string };
  attributes: Record<string, unknown>;
  resource: Record<string, unknown>;
  events: { name: string; attributes: Record<string, unknown> }[];
}

type AnyValue = {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
  arrayValue?: { values?: AnyValue[] };
};
type KeyValue = { key: string; value: AnyValue };

function value(v: AnyValue | undefined): unknown {
  if (!v) return undefined;
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.arrayValue) return (v.arrayValue.values ?? []).map(value);
  return undefined;
}

function attrs(list: KeyValue[] | undefined): Record<string, unknown> {
  return Object.fromEntries((list ?? []).map((kv) => [kv.key, value(kv.value)]));
}

/** Ids arrive as hex in OTLP/JSON; some exporters send base64. */
function hexId(id: string | undefined): string {
  if (!id) return '';
  return /^[0-9a-f]+$/i.test(id) ? id.toLowerCase() : Buffer.from(id, 'base64').toString('hex');
}

/**
 * A small OTLP/HTTP receiver for tests: start it, point OTEL_EXPORTER_OTLP_ENDPOINT at url with
 * OTEL_EXPORTER_OTLP_PROTOCOL=http/json (env()), then read spans. It takes http/protobuf too, the
 * programs' default, for tests that run them with no OTEL_* variable of their own.
 */
export class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  requests = 0;
  #server: Server;
  url = '';

  constructor() {
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.requests++;
        if (req.method === 'POST' && req.url?.startsWith('/v1/traces')) {
          try {
            const body = Buffer.concat(chunks);
            this.#ingest(
              req.headers['content-type']?.startsWith('application/x-protobuf')
                ? decodeTraceRequest(body)
                : JSON.parse(body.toString('utf8')),
            );
          } catch {
            res.writeHead(400).end();
            return;
          }
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
  }

  // biome-ignore lint/suspicious/noExplicitAny: OTLP/JSON payload
  #ingest(body: any): void {
    for (const rs of body.resourceSpans ?? []) {
      const resource = attrs(rs.resource?.attributes);
      for (const ss of rs.scopeSpans ?? []) {
        for (const s of ss.spans ?? []) {
          this.spans.push({
            serviceName: String(resource['service.name'] ?? ''),
            traceId: hexId(s.traceId),
            spanId: hexId(s.spanId),
            parentSpanId: hexId(s.parentSpanId),
            name: s.name,
            kind: s.kind,
            startTimeUnixNano: String(s.startTimeUnixNano),
            endTimeUnixNano: String(s.endTimeUnixNano),
            status: s.status ?? {},
            attributes: attrs(s.attributes),
            resource,
            // biome-ignore lint/suspicious/noExplicitAny: OTLP/JSON payload
            events: (s.events ?? []).map((e: any) => ({
              name: e.name,
              attributes: attrs(e.attributes),
            })),
          });
        }
      }
    }
  }

  /** Listens on a free port of 127.0.0.1, or where told (rejects when that port is taken). */
  async start(where: { host?: string; port?: number } = {}): Promise<this> {
    const host = where.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(where.port ?? 0, host, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    this.url = `http://${host}:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  /** Environment for a child process that should export here. */
  env(): Record<string, string> {
    return {
      OTEL_EXPORTER_OTLP_ENDPOINT: this.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_BSP_SCHEDULE_DELAY: '100',
    };
  }

  byService(name: string): ReceivedSpan[] {
    return this.spans.filter((s) => s.serviceName === name);
  }

  async waitFor(predicate: (spans: ReceivedSpan[]) => boolean, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.spans)) {
      if (Date.now() > deadline)
        throw new Error(
          `expected spans did not arrive; got ${this.spans.map((s) => `${s.serviceName}:${s.name}`).join(', ')}`,
        );
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

/**
 * A receiver on a fixed port (a program's configuration names it, as the seed's Jaeger URL maps to
 * 4318) of a random loopback address 127.x.y.z, so that no other test's receiver or a collector on
 * 127.0.0.1 is in the way; or why there is none.
 */
export async function receiverOnLoopback(port: number): Promise<OtlpReceiver | string> {
  let reason = '';
  for (let attempt = 0; attempt < 5; attempt++) {
    const host = `127.${randomInt(1, 255)}.${randomInt(0, 256)}.${randomInt(1, 255)}`;
    try {
      return await new OtlpReceiver().start({ host, port });
    } catch (err) {
      reason = (err as Error).message;
    }
  }
  const why = `port ${port} cannot be had on a loopback address (${reason}): is a collector listening on 0.0.0.0:${port}?`;
  // As with a missing tool: a test that cannot run is a failure under CI=true, not a skip.
  if (process.env.CI === 'true') throw new Error(`CI=true: ${why}`);
  return why;
}
