import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { countSpansJson, countSpansProtobuf } from './protobuf.js';

/**
 * An OTLP/HTTP traces endpoint that accepts every export and only counts it (requests, bytes,
 * spans): a receiver that decoded everything would spend the load client's core.
 */
export class OtlpSink {
  requests = 0;
  bytes = 0;
  spans = 0;
  malformed = 0;
  url = '';
  #server: Server;

  constructor() {
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const json = String(req.headers['content-type'] ?? '').includes('json');
        this.requests++;
        this.bytes += body.length;
        try {
          this.spans += json ? countSpansJson(body.toString('utf8')) : countSpansProtobuf(body);
        } catch {
          this.malformed++;
        }
        // An empty ExportTraceServiceResponse: '{}' in JSON, zero bytes in protobuf.
        res
          .writeHead(200, { 'content-type': json ? 'application/json' : 'application/x-protobuf' })
          .end(json ? '{}' : undefined);
      });
    });
  }

  snapshot(): { requests: number; bytes: number; spans: number } {
    return { requests: this.requests, bytes: this.bytes, spans: this.spans };
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
