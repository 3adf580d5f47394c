import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { trace } from '@opentelemetry/api';
import { createLogger } from '@order-food/platform/logger';
import { shutdownTelemetry, startTelemetry } from '@order-food/platform/telemetry';
import { OtlpReceiver } from '@order-food/platform/testing/otlp-receiver';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { Metrics } from '../src/metrics.js';
import { tracing } from '../src/plugins/tracing.js';

const receiver = new OtlpReceiver();
const metrics = new Metrics({ version: '1.2.3', revision: 'abc' });
const logLines: Record<string, unknown>[] = [];
let app: FastifyInstance;
const childTracer = trace.getTracer('test');
/** Holds POST /api/slow until opened; reached(n) resolves once n requests wait there. */
function gate() {
  let open = () => {};
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  let waiting = 0;
  let onArrival = () => {};
  return {
    resolve: open,
    async pass() {
      waiting++;
      onArrival();
      await promise;
    },
    reached(n: number) {
      return new Promise<void>((resolve) => {
        onArrival = () => {
          if (waiting >= n) resolve();
        };
        onArrival();
      });
    },
  };
}
let slowGate = gate();

before(async () => {
  await receiver.start();
  await startTelemetry('order-food', {
    ...receiver.env(),
    OTEL_BSP_SCHEDULE_DELAY: '20',
  });
  const logger = createLogger('order-food', 'info', {
    write: (line: string) => {
      logLines.push(JSON.parse(line));
    },
  });
  app = Fastify({ loggerInstance: logger }) as unknown as FastifyInstance;
  await app.register(tracing, { metrics });
  app.addHook('onResponse', async (request, reply) => {
    request.log.info({ status: reply.statusCode }, 'request completed');
  });
  app.get('/health', async () => ({ status: 'ok' }));
  app.get('/metrics', async () => 'x');
  const thing = async (request: FastifyRequest) => {
    request.log.info('reading a thing');
    const { id } = request.params as { id: string };
    return { id };
  };
  app.get('/api/things/:id', thing);
  app.post('/api/things/:id', thing);
  app.post('/api/things', async (request) => {
    // A span made in the handler after the body was parsed must hang from the server span.
    const span = childTracer.startSpan('place thing');
    span.end();
    return { got: request.body };
  });
  app.get('/api/broken', async () => {
    throw new Error('database said no');
  });
  app.get('/api/teapot', async (_request, reply) => reply.code(418).send({ short: 'and stout' }));
  app.post('/api/slow', async () => {
    await slowGate.pass();
    return { done: true };
  });
  await app.ready();
});

after(async () => {
  await app?.close();
  await shutdownTelemetry();
  await receiver.stop();
});

test('a server span per request, named by route template, child of the incoming traceparent', async () => {
  const traceId = '0af7651916cd43dd8448eb211c80319c';
  const parentId = 'b7ad6b7169203331';
  const res = await app.inject({
    method: 'GET',
    url: '/api/things/42?secret=1',
    headers: {
      traceparent: `00-${traceId}-${parentId}-01`,
      'user-agent': 'test-agent/1',
      host: 'api.local:8080',
    },
  });
  assert.equal(res.statusCode, 200);
  await receiver.waitFor((spans) => spans.some((s) => s.name === 'HTTP GET /api/things/:id'));
  const span = receiver.spans.find((s) => s.name === 'HTTP GET /api/things/:id')!;
  assert.equal(span.traceId, traceId);
  assert.equal(span.parentSpanId, parentId);
  assert.equal(span.kind, 2, 'SPAN_KIND_SERVER');
  assert.equal(span.serviceName, 'order-food');
  assert.equal(span.attributes['http.request.method'], 'GET');
  assert.equal(span.attributes['http.route'], '/api/things/:id');
  assert.equal(span.attributes['url.path'], '/api/things/42');
  assert.equal(span.attributes['http.response.status_code'], 200);
  assert.equal(span.attributes['server.port'], 8080);
  assert.equal(span.attributes['user_agent.original'], 'test-agent/1');
  assert.ok(
    !JSON.stringify(span.attributes).includes('secret'),
    'the query string is not recorded',
  );
  assert.notEqual(span.status.code, 2);

  const line = logLines.find((l) => l.msg === 'reading a thing');
  assert.ok(line, 'the handler logged');
  assert.equal(line.trace_id, traceId);
  assert.equal(line.span_id, span.spanId);
  const completed = logLines.find((l) => l.msg === 'request completed' && l.status === 200);
  assert.ok(completed, 'an onResponse hook logged');
  assert.equal(completed.trace_id, traceId, 'the request line leads to the trace');
});

test('over a real connection, the request log line written after the response has the ids', async () => {
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  const traceId = '1af7651916cd43dd8448eb211c80319d';
  const res = await fetch(`${address}/api/things/7`, {
    method: 'POST',
    headers: {
      traceparent: `00-${traceId}-b7ad6b7169203331-01`,
      'content-type': 'application/json',
    },
    body: JSON.stringify({ big: 'x'.repeat(100_000) }),
  });
  assert.equal(res.status, 200);
  await res.text();
  const completed = logLines.find((l) => l.msg === 'request completed' && l.trace_id === traceId);
  assert.ok(completed, 'the request line carries the trace id');
  const handled = logLines.find((l) => l.msg === 'reading a thing' && l.trace_id === traceId);
  assert.ok(handled, 'the handler ran in the span context after a streamed body');
});

test('the handler runs in the server span context also after the body is parsed', async () => {
  const res = await app.inject({
    method: 'POST',
    url: '/api/things',
    payload: { a: 1 },
  });
  assert.equal(res.statusCode, 200);
  await receiver.waitFor(
    (spans) =>
      spans.some((s) => s.name === 'HTTP POST /api/things') &&
      spans.some((s) => s.name === 'place thing'),
  );
  const server = receiver.spans.find((s) => s.name === 'HTTP POST /api/things')!;
  const child = receiver.spans.find((s) => s.name === 'place thing')!;
  assert.equal(server.parentSpanId, '', 'no traceparent: a new trace');
  assert.equal(child.traceId, server.traceId);
  assert.equal(child.parentSpanId, server.spanId);
});

test('a 5xx marks the span as an error with the exception; a 4xx does not', async () => {
  assert.equal((await app.inject({ method: 'GET', url: '/api/broken' })).statusCode, 500);
  assert.equal((await app.inject({ method: 'GET', url: '/api/teapot' })).statusCode, 418);
  await receiver.waitFor(
    (spans) =>
      spans.some((s) => s.name === 'HTTP GET /api/broken') &&
      spans.some((s) => s.name === 'HTTP GET /api/teapot'),
  );
  const broken = receiver.spans.find((s) => s.name === 'HTTP GET /api/broken')!;
  assert.equal(broken.status.code, 2, 'STATUS_CODE_ERROR');
  assert.equal(broken.attributes['http.response.status_code'], 500);
  assert.equal(broken.attributes['error.type'], 'Error');
  assert.ok(broken.events.some((e) => e.name === 'exception'));
  const teapot = receiver.spans.find((s) => s.name === 'HTTP GET /api/teapot')!;
  assert.notEqual(teapot.status.code, 2);
  assert.equal(teapot.events.length, 0);
});

test('probes, the scrape and unknown routes: no spans for the first two, a bounded label for the last', async () => {
  const before = receiver.spans.length;
  await app.inject({ method: 'GET', url: '/health' });
  await app.inject({ method: 'GET', url: '/metrics' });
  await app.inject({ method: 'GET', url: '/no/such/path/123' });
  await receiver.waitFor((spans) => spans.slice(before).some((s) => s.name === 'HTTP GET'));
  const names = receiver.spans.slice(before).map((s) => s.name);
  assert.deepEqual(names, ['HTTP GET'], 'only the unmatched request made a span, named by method');

  const text = await metrics.registry.metrics();
  assert.match(
    text,
    /http_server_request_duration_seconds_count\{method="GET",route="\/api\/things\/:id",status_code="200"\} 1/,
  );
  assert.match(
    text,
    /http_server_request_duration_seconds_count\{method="GET",route="unmatched",status_code="404"\} 1/,
  );
  assert.match(
    text,
    /http_server_request_duration_seconds_count\{method="GET",route="\/api\/broken",status_code="500"\} 1/,
  );
  assert.doesNotMatch(text, /route="\/(health|metrics)"/);
  assert.doesNotMatch(text, /no\/such\/path/);
  assert.match(text, /http_server_active_requests\{method="GET"\} 0/);
});

test('requests in flight are counted by method while they run, and no longer once answered', async () => {
  slowGate = gate();
  const inFlight = async (method: string) => {
    const m = new RegExp(`http_server_active_requests\\{method="${method}"\\} (-?\\d+)`).exec(
      await metrics.registry.metrics(),
    );
    return m ? Number(m[1]) : undefined;
  };
  const slow = [1, 2].map(() => app.inject({ method: 'POST', url: '/api/slow', payload: {} }));
  // Both requests reach the handler (and wait there) before the scrape.
  await slowGate.reached(2);
  assert.equal(await inFlight('POST'), 2);
  slowGate.resolve();
  const answers = await Promise.all(slow);
  assert.deepEqual(
    answers.map((a) => a.statusCode),
    [200, 200],
  );
  assert.equal(await inFlight('POST'), 0);
});
