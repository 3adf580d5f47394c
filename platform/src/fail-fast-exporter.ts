import { connect } from 'node:net';
import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';
import { describeError } from './errors.js';

/**
 * Whether a connection to the endpoint opens: undefined when it does, else why not (refused, a
 * name that does not resolve, no route, no answer within the bound).
 */
export function probeEndpoint(endpoint: string, timeoutMs: number): Promise<string | undefined> {
  const abort = new AbortController();
  return new Promise<string | undefined>((resolve) => {
    const url = new URL(endpoint);
    const socket = connect({
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port: Number(url.port) || (url.protocol === 'https:' ? 443 : 80),
      signal: abort.signal,
      timeout: timeoutMs,
    });
    socket.once('connect', () => resolve(undefined));
    socket.once('timeout', () => resolve(`no connection within ${timeoutMs} ms`));
    socket.once('error', (err) => resolve(describeError(err)));
  }).finally(() => abort.abort());
}

/**
 * An exporter that drops a batch at once, with the reason, while its endpoint accepts no
 * connection, instead of retrying it until the export timeout: a collector that is not there
 * costs one refused connection per batch, not seconds. The first batch is sent while a connection
 * is tried beside it (no added wait when the collector is there); after a failure each batch first
 * checks that a connection opens; while exports succeed, none does.
 */
export class FailFastExporter implements SpanExporter {
  #state: 'unknown' | 'up' | 'down' = 'unknown';
  readonly #inner: SpanExporter;
  readonly #endpoint: string;
  readonly #probeTimeoutMs: number;

  constructor(inner: SpanExporter, endpoint: string, probeTimeoutMs: number) {
    this.#inner = inner;
    this.#endpoint = endpoint;
    this.#probeTimeoutMs = probeTimeoutMs;
  }

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    let settled = false;
    const finish = (result: ExportResult) => {
      if (settled) return;
      settled = true;
      done(result);
    };
    const send = () =>
      this.#inner.export(spans, (result) => {
        this.#state = result.code === ExportResultCode.SUCCESS ? 'up' : 'down';
        finish(result);
      });
    const state = this.#state;
    if (state === 'up') {
      send();
      return;
    }
    // First contact: send now; a refusal seen first answers for it (the exporter's retries of that
    // one batch go on unheard).
    if (state === 'unknown') send();
    void probeEndpoint(this.#endpoint, this.#probeTimeoutMs).then((reason) => {
      if (reason !== undefined) {
        this.#state = 'down';
        finish({ code: ExportResultCode.FAILED, error: new Error(reason) });
      } else if (state === 'down') send();
    });
  }

  shutdown(): Promise<void> {
    return this.#inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.#inner.forceFlush?.() ?? Promise.resolve();
  }
}
