import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Histogram, Registry } from 'prom-client';
import { LabeledHistogram } from '../src/histogram.js';

const buckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** The same observations into ours and into prom-client's Histogram, each on its own registry. */
function both(labelNames: string[]) {
  const ours = new Registry();
  const theirs = new Registry();
  const a = new LabeledHistogram({
    name: 'h',
    help: 'a "help" text\\',
    labelNames,
    buckets,
    registers: [ours],
  });
  const b = new Histogram({
    name: 'h',
    help: 'a "help" text\\',
    labelNames,
    buckets,
    registers: [theirs],
  });
  const observe = (value: number, ...given: string[]) => {
    const labels = given.slice(0, labelNames.length);
    a.observe(value, ...(labels as [string, string?, string?]));
    b.observe(Object.fromEntries(labelNames.map((n, i) => [n, labels[i]!])), value);
  };
  return { ours, theirs, a, b, observe };
}

test('the registry prints the same text as for a prom-client Histogram with the same observations', async () => {
  const { ours, theirs, observe } = both(['method', 'route', 'status_code']);
  assert.equal(await ours.metrics(), await theirs.metrics(), 'no observations yet');
  const routes = ['/api/orders', '/api/orders/:id', 'unmatched', 'a "quoted" \\ route\n'];
  let n = 0;
  for (const value of [0, 0.001, 0.0010001, 0.003, 0.07, 0.5, 1, 9.99, 10, 10.5, 1e6, 1e-9]) {
    for (const route of routes) {
      observe(value, n % 2 ? 'GET' : 'POST', route, String(200 + (n % 3) * 100));
      n++;
    }
  }
  const text = await ours.metrics();
  assert.equal(text, await theirs.metrics());
  assert.match(
    text,
    /\nh_bucket\{le="\+Inf",method="POST",route="\/api\/orders",status_code="200"\} 4\n/,
  );
});

test('one and two label names; reset empties it; a value that is not a number is refused', async () => {
  for (const names of [['operation'], ['operation', 'outcome']]) {
    const { ours, theirs, a, b, observe } = both(names);
    observe(0.002, 'SELECT', 'success');
    observe(0.2, 'SELECT', 'error');
    observe(0.02, 'INSERT', 'success');
    assert.equal(await ours.metrics(), await theirs.metrics());
    assert.deepEqual(
      (await ours.getMetricsAsJSON())[0]?.values,
      (await theirs.getMetricsAsJSON())[0]?.values
        .map((v) => ({ ...v, exemplar: undefined }))
        .map(({ exemplar: _, ...v }) => v),
    );
    a.reset();
    b.reset();
    assert.equal(await ours.metrics(), await theirs.metrics());
    assert.throws(() => a.observe(Number.NaN, 'SELECT'), /not a number/);
  }
});
