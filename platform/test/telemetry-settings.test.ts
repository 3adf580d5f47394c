import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  developmentExportOff,
  parseResourceAttributes,
  telemetrySettings,
} from '../src/telemetry.js';

describe('settings from the environment', () => {
  test('JAEGER_ENDPOINT names Jaeger OTLP/HTTP endpoint; the OTEL_* variables win over it', () => {
    assert.equal(
      telemetrySettings('x', { JAEGER_ENDPOINT: 'http://jaeger:4318' }).tracesUrl,
      'http://jaeger:4318/v1/traces',
    );
    assert.equal(
      telemetrySettings('x', { JAEGER_ENDPOINT: 'http://jaeger:4318/v1/traces' }).tracesUrl,
      'http://jaeger:4318/v1/traces',
    );
    assert.equal(
      telemetrySettings('x', {
        JAEGER_ENDPOINT: 'http://jaeger:4318',
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/',
      }).tracesUrl,
      'http://collector:4318/v1/traces',
    );
    assert.equal(
      telemetrySettings('x', {
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://traces:9999/custom',
      }).tracesUrl,
      'http://traces:9999/custom',
    );
    assert.equal(telemetrySettings('x', { OTEL_TRACES_EXPORTER: 'none' }).tracesUrl, undefined);
  });

  test('development without an endpoint: no export, one note on how to turn it on', () => {
    const dev = telemetrySettings('x', { ENVIRONMENT: 'development' });
    assert.equal(dev.tracesUrl, undefined);
    assert.deepEqual(dev.notes, [developmentExportOff]);
    assert.match(developmentExportOff, /OTEL_EXPORTER_OTLP_ENDPOINT=http:\/\/localhost:4318/);
    assert.match(developmentExportOff, /jaegertracing\/jaeger/);
    const withEndpoint = {
      ENVIRONMENT: 'development',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318',
    };
    assert.equal(telemetrySettings('x', withEndpoint).tracesUrl, 'http://c:4318/v1/traces');
    assert.deepEqual(telemetrySettings('x', withEndpoint).notes, []);
    const withJaeger = { ENVIRONMENT: 'development', JAEGER_ENDPOINT: 'http://jaeger:4318' };
    assert.equal(telemetrySettings('x', withJaeger).tracesUrl, 'http://jaeger:4318/v1/traces');
    // Anywhere else (the images set production) the default collector stays.
    for (const environment of ['production', 'kubernetes', undefined])
      assert.equal(
        telemetrySettings('x', { ENVIRONMENT: environment }).tracesUrl,
        'http://localhost:4318/v1/traces',
      );
  });

  test("the seed's legacy collector URL goes to OTLP/HTTP on the same host, with one note", () => {
    const settings = telemetrySettings('x', {
      JAEGER_ENDPOINT: 'http://jaeger:14268/api/traces',
    });
    assert.equal(settings.tracesUrl, 'http://jaeger:4318/v1/traces');
    assert.deepEqual(settings.warnings, []);
    assert.equal(settings.notes.length, 1);
    assert.match(
      settings.notes[0]!,
      /JAEGER_ENDPOINT=http:\/\/jaeger:14268\/api\/traces .*http:\/\/jaeger:4318\/v1\/traces/,
    );
    const explicit = telemetrySettings('x', {
      JAEGER_ENDPOINT: 'http://jaeger:14268/api/traces',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
    });
    assert.equal(explicit.tracesUrl, 'http://collector:4318/v1/traces');
    assert.deepEqual(explicit.notes, [], 'an explicit endpoint wins, and nothing is mapped');
  });

  test('OTEL_RESOURCE_ATTRIBUTES: percent-decoded pairs; a malformed value is dropped whole', () => {
    const warnings: string[] = [];
    assert.deepEqual(parseResourceAttributes('team=food%20court, region = eu ,', warnings), {
      team: 'food court',
      region: 'eu',
    });
    assert.deepEqual(warnings, []);
    for (const bad of ['team=%ZZ', 'a=1,b=2=3', 'a=1,=2', 'novalue']) {
      const w: string[] = [];
      assert.deepEqual(parseResourceAttributes(bad, w), {}, bad);
      assert.equal(w.length, 1, bad);
      assert.match(w[0]!, /^OTEL_RESOURCE_ATTRIBUTES: .*all of its attributes are ignored$/);
    }
  });

  test('malformed values become warnings and defaults, never an exception', () => {
    const settings = telemetrySettings('database-load', {
      OTEL_BSP_MAX_QUEUE_SIZE: 'lots',
      OTEL_TRACES_SAMPLER_ARG: '7',
      OTEL_BSP_SCHEDULE_DELAY: '-1',
      POD_START_SPAN: 'maybe',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'ftp://nowhere',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
    });
    assert.equal(settings.maxQueueSize, 2048);
    assert.equal(settings.samplerArg, 1);
    assert.equal(settings.scheduleDelayMs, 1000);
    assert.equal(settings.recordPodStart, false);
    assert.equal(settings.tracesUrl, undefined);
    assert.equal(settings.protocol, 'http/protobuf');
    assert.equal(settings.warnings.length, 6);
  });

  test('the export queue is bounded by OTEL_BSP_MAX_QUEUE_SIZE', () => {
    assert.equal(telemetrySettings('x', {}).maxQueueSize, 2048);
    assert.equal(telemetrySettings('x', { OTEL_BSP_MAX_QUEUE_SIZE: '64' }).maxQueueSize, 64);
  });

  test('spans per export: OTEL_BSP_MAX_EXPORT_BATCH_SIZE, at most the queue, 512 when unreadable', () => {
    assert.equal(telemetrySettings('x', {}).maxExportBatchSize, 512);
    const env = { OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '64' };
    assert.equal(telemetrySettings('x', env).maxExportBatchSize, 64);
    const small = { OTEL_BSP_MAX_QUEUE_SIZE: '32', OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '64' };
    assert.equal(telemetrySettings('x', small).maxExportBatchSize, 32);
    const bad = telemetrySettings('x', { OTEL_BSP_MAX_EXPORT_BATCH_SIZE: 'many' });
    assert.equal(bad.maxExportBatchSize, 512);
    assert.equal(bad.warnings.length, 1);
  });

  test('the wait at exit: 1 s, or the smallest of the standard export timeouts that is set', () => {
    assert.equal(telemetrySettings('x', {}).exitTimeoutMs, 1000);
    assert.equal(telemetrySettings('x', {}).exporterTimeoutMs, undefined, "the exporter's default");
    const otlp = telemetrySettings('x', { OTEL_EXPORTER_OTLP_TIMEOUT: '3000' });
    assert.equal(otlp.exitTimeoutMs, 3000);
    assert.equal(otlp.exporterTimeoutMs, 3000);
    const both = telemetrySettings('x', {
      OTEL_EXPORTER_OTLP_TIMEOUT: '3000',
      OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: '2000',
      OTEL_BSP_EXPORT_TIMEOUT: '500',
    });
    assert.equal(both.exporterTimeoutMs, 2000, 'the traces variable wins');
    assert.equal(both.batchTimeoutMs, 500);
    assert.equal(both.exitTimeoutMs, 500);
    const bad = telemetrySettings('x', { OTEL_EXPORTER_OTLP_TIMEOUT: 'soon' });
    assert.equal(bad.exitTimeoutMs, 1000);
    assert.equal(bad.warnings.length, 1);
    assert.match(bad.warnings[0]!, /OTEL_EXPORTER_OTLP_TIMEOUT/);
  });

  test('only the first program of the pod records the pod start, unless POD_START_SPAN says', () => {
    assert.equal(telemetrySettings('database-migration', {}).recordPodStart, true);
    assert.equal(telemetrySettings('order-food', {}).recordPodStart, false);
    assert.equal(telemetrySettings('order-food', { POD_START_SPAN: 'true' }).recordPodStart, true);
  });
});
