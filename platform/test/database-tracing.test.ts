import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { context, SpanStatusCode, trace } from '@opentelemetry/api';
import { parseDatabaseTarget } from '../src/config.js';
import { createDatabase, type Database } from '../src/database.js';
import { createLogger } from '../src/logger.js';
import { shutdownTelemetry, startTelemetry } from '../src/telemetry.js';
import { OtlpReceiver } from '../testing/otlp-receiver.js';
import { createTestDatabase, type TestDatabase } from '../testing/test-database.js';

// Statement spans and the statement observer, on whichever database the tests have (the PGlite
// fallback reports the same way): a CLIENT span per statement under a recording parent only, the
// statement text but never its values, the SQLSTATE of a refused statement; one observation per
// statement, traced or not.

const receiver = new OtlpReceiver();
const observed: { operation: string; ok: boolean; seconds: number }[] = [];
const tracer = trace.getTracer('test');
let testDb: TestDatabase;
let db: Database;

before(async () => {
  await receiver.start();
  await startTelemetry('platform-test', {
    ...receiver.env(),
    OTEL_TRACES_SAMPLER: 'parentbased_always_on',
    OTEL_BSP_SCHEDULE_DELAY: '20',
  });
  testDb = await createTestDatabase('platform_dbspans');
  db = await createDatabase(parseDatabaseTarget({ DATABASE_URL: testDb.url }), {
    logger: createLogger('test', 'silent'),
    applicationName: 'platform-test',
    max: 2,
    queryTimeoutMs: 5000,
    onQuery: (operation, seconds, ok) => observed.push({ operation, ok, seconds }),
  });
});

after(async () => {
  await db?.close();
  await testDb?.drop();
  await shutdownTelemetry();
  await receiver.stop();
});

/** Runs fn under a span of its own; returns that span's ids once every span has arrived. */
async function underSpan(name: string, fn: () => Promise<unknown>, sampled = true) {
  const parent = sampled
    ? tracer.startSpan(name)
    : trace.wrapSpanContext({
        traceId: '1'.repeat(32),
        spanId: '2'.repeat(16),
        traceFlags: 0,
      });
  await context.with(trace.setSpan(context.active(), parent), fn);
  parent.end();
  return parent.spanContext();
}

test('a statement under a recording span gets a CLIENT span with its text, never its values', async () => {
  observed.length = 0;
  const parent = await underSpan('read', async () => {
    const { rows } = await db.query<{ v: string }>('SELECT $1::text AS v', ['value-7f3a9c']);
    assert.equal(rows[0]?.v, 'value-7f3a9c');
    await db.exec('SELECT 1; SELECT 2');
  });
  await receiver.waitFor((spans) => spans.filter((s) => s.traceId === parent.traceId).length >= 3);
  const children = receiver.spans.filter(
    (s) => s.traceId === parent.traceId && s.parentSpanId === parent.spanId,
  );
  assert.equal(children.length, 2);
  const [select, script] = children;
  assert.equal(select?.name, 'SELECT');
  assert.equal(select?.kind, 3); // CLIENT
  assert.equal(select?.attributes['db.system.name'], 'postgresql');
  assert.equal(select?.attributes['db.operation.name'], 'SELECT');
  assert.equal(select?.attributes['db.query.text'], 'SELECT $1::text AS v');
  assert.ok(
    !JSON.stringify(receiver.spans).includes('value-7f3a9c'),
    'a parameter value reached a span',
  );
  assert.equal(script?.attributes['db.query.text'], 'SELECT 1; SELECT 2');
  assert.deepEqual(
    observed.map((o) => [o.operation, o.ok]),
    [
      ['SELECT', true],
      ['SELECT', true],
    ],
  );
  assert.ok(observed.every((o) => o.seconds >= 0 && o.seconds < 5));
});

test('a refused statement marks its span as an error with the SQLSTATE, and is observed as failed', async () => {
  observed.length = 0;
  const parent = await underSpan('broken', async () => {
    await assert.rejects(db.query('SELECT * FROM no_such_table'), /no_such_table/);
  });
  await receiver.waitFor((spans) =>
    spans.some((s) => s.traceId === parent.traceId && s.parentSpanId === parent.spanId),
  );
  const span = receiver.spans.find(
    (s) => s.traceId === parent.traceId && s.parentSpanId === parent.spanId,
  );
  assert.equal(span?.status.code, SpanStatusCode.ERROR);
  assert.equal(span?.attributes['db.response.status_code'], '42P01');
  assert.equal(span?.attributes['error.type'], '42P01');
  assert.ok(span?.events.some((e) => e.name === 'exception'));
  assert.deepEqual(observed, [{ operation: 'SELECT', ok: false, seconds: observed[0]?.seconds }]);
});

test('unsampled work and work outside any span make no statement spans, but are observed', async () => {
  observed.length = 0;
  const before = receiver.spans.length;
  const unsampled = await underSpan(
    'unsampled',
    async () => {
      await db.query('SELECT 1');
      await db.transaction(async (tx) => {
        await tx.query('SELECT 2');
      });
    },
    false,
  );
  await db.query('WITH x AS (SELECT 1) SELECT * FROM x');
  // A sampled span after them: once it has arrived, anything the work above exported has too.
  const marker = await underSpan('marker', async () => {});
  await receiver.waitFor((spans) => spans.some((s) => s.spanId === marker.spanId));
  const late = receiver.spans.slice(before).filter((s) => s.spanId !== marker.spanId);
  assert.deepEqual(
    late.map((s) => s.name),
    [],
  );
  assert.ok(!receiver.spans.some((s) => s.traceId === unsampled.traceId));
  assert.deepEqual(
    observed.map((o) => o.operation),
    ['SELECT', 'BEGIN', 'SELECT', 'COMMIT', 'WITH'],
  );
});
