import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import {
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  type SpanExporter,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import { FailFastExporter } from '../src/fail-fast-exporter.js';
import { freePort } from '../testing/free-port.js';
import { OtlpReceiver } from '../testing/otlp-receiver.js';

/** Real finished spans, as a batch processor hands them to its exporter. */
function spans(name: string): ReadableSpan[] {
  const memory = new InMemorySpanExporter();
  const provider = new TracerProvider({
    spanProcessors: [new SimpleSpanProcessor({ exporter: memory })],
  });
  provider.getTracer('test').startSpan(name).end();
  return memory.getFinishedSpans();
}

test('a refused endpoint: the batch fails at once, later ones are not sent; a collector that comes up gets the next', async () => {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/v1/traces`;
  // A real OTLP exporter that would retry a refused connection for up to ten minutes, counted.
  const otlp = new OTLPTraceExporter({ url, timeoutMillis: 600_000 });
  let sent = 0;
  const counted: SpanExporter = {
    export: (batch, done) => {
      sent++;
      otlp.export(batch, done);
    },
    shutdown: () => otlp.shutdown(),
  };
  const exporter = new FailFastExporter(counted, url, 600_000);
  const send = (batch: ReadableSpan[]) =>
    new Promise<ExportResult>((resolve) => exporter.export(batch, resolve));

  const refused = await send(spans('while away'));
  assert.equal(refused.code, ExportResultCode.FAILED);
  assert.match(String(refused.error?.message), /ECONNREFUSED/);
  // The first batch went out beside the check (its retries go on unheard); once the endpoint is
  // known to refuse, a batch is not handed over at all.
  assert.equal(sent, 1);
  const still = await send(spans('still away'));
  assert.equal(still.code, ExportResultCode.FAILED);
  assert.equal(sent, 1, 'the batch was dropped, not handed to the retrying exporter');

  const receiver = await new OtlpReceiver().start({ port });
  try {
    const delivered = await send(spans('once back'));
    assert.equal(delivered.code, ExportResultCode.SUCCESS);
    assert.equal(sent, 2);
    const names = receiver.spans.map((s) => s.name);
    assert.ok(names.includes('once back'), names.join());
    assert.ok(!names.includes('still away'), names.join());
    // While exports succeed, a batch goes straight to the exporter.
    assert.equal((await send(spans('again'))).code, ExportResultCode.SUCCESS);
    assert.equal(sent, 3);
  } finally {
    await exporter.shutdown();
    await receiver.stop();
  }
});
