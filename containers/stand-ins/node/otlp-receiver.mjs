// Jaeger's stand-in: receives OTLP/HTTP traces as JSON on OTLP_HTTP_PORT and answers GET /spans
// with the number of spans each service sent and the trace ids they belong to.
import { createServer } from 'node:http';

const spans = {};
const traceIds = new Set();

const server = createServer((req, res) => {
  if (req.method === 'POST' && req.url === '/v1/traces') {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      for (const batch of body.resourceSpans ?? []) {
        const service =
          batch.resource?.attributes?.find((a) => a.key === 'service.name')?.value?.stringValue ??
          'unknown';
        for (const scope of batch.scopeSpans ?? []) {
          for (const span of scope.spans ?? []) {
            spans[service] = (spans[service] ?? 0) + 1;
            traceIds.add(span.traceId);
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
    return;
  }
  if (req.method === 'GET' && req.url === '/spans') {
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ spans, traceIds: [...traceIds] }));
    return;
  }
  res.writeHead(404).end();
});

server.listen(Number(process.env.OTLP_HTTP_PORT ?? 4318), '127.0.0.1');
// PID 1 gets no default SIGTERM handler.
process.on('SIGTERM', () => process.exit(0));
