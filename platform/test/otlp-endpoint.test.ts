import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { jaegerTracesUrl } from '../src/otlp-endpoint.js';

describe('JAEGER_ENDPOINT', () => {
  test("the legacy collector URL maps to the same host's OTLP/HTTP port 4318", () => {
    for (const [legacy, otlp] of [
      ['http://jaeger:14268/api/traces', 'http://jaeger:4318/v1/traces'],
      [
        'http://jaeger.observability.svc:14268/api/traces/',
        'http://jaeger.observability.svc:4318/v1/traces',
      ],
      ['http://jaeger:14268', 'http://jaeger:4318/v1/traces'],
      ['https://traces.example.com/api/traces', 'https://traces.example.com:4318/v1/traces'],
      ['http://[::1]:14268/api/traces?format=jaeger.thrift', 'http://[::1]:4318/v1/traces'],
      ['http://10.1.2.3:14268/api/traces', 'http://10.1.2.3:4318/v1/traces'],
    ] as const) {
      const resolved = jaegerTracesUrl(legacy);
      assert.equal(resolved.url, otlp, legacy);
      assert.ok(resolved.note?.includes(otlp), `the note names ${otlp}`);
    }
  });

  test('forms that already mean OTLP are used as they are, without a note', () => {
    for (const [value, url] of [
      ['http://jaeger:4318', 'http://jaeger:4318/v1/traces'],
      ['http://jaeger:4318/', 'http://jaeger:4318/v1/traces'],
      ['http://jaeger:4318/v1/traces', 'http://jaeger:4318/v1/traces'],
      ['http://collector:9999/v1/traces', 'http://collector:9999/v1/traces'],
      ['https://otlp.example.com', 'https://otlp.example.com/v1/traces'],
    ] as const) {
      assert.deepEqual(jaegerTracesUrl(value), { url }, value);
    }
  });

  test('credentials in the URL are kept for the export and left out of the note', () => {
    const resolved = jaegerTracesUrl('http://user:s3cret@jaeger:14268/api/traces');
    assert.equal(resolved.url, 'http://user:s3cret@jaeger:4318/v1/traces');
    assert.ok(!resolved.note?.includes('s3cret'), resolved.note);
    assert.ok(!resolved.note?.includes('user'), resolved.note);
  });

  test('a value that is not a URL is passed on for the caller to refuse', () => {
    assert.deepEqual(jaegerTracesUrl('jaeger'), { url: 'jaeger/v1/traces' });
  });
});
