import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  ParentBasedSampler,
  type Sampler,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace';
import { envBool, envInt, envNumber, envString } from './config.js';
import { jaegerTracesUrl, withTracesPath } from './otlp-endpoint.js';

export type Env = Record<string, string | undefined>;

export interface TelemetrySettings {
  readonly enabled: boolean;
  readonly serviceName: string;
  /** Where spans go, or undefined when export is off. */
  readonly tracesUrl: string | undefined;
  readonly protocol: 'http/protobuf' | 'http/json';
  readonly sampler: string;
  readonly samplerArg: number;
  readonly maxQueueSize: number;
  /** Spans per export (OTEL_BSP_MAX_EXPORT_BATCH_SIZE), at most the queue's size. */
  readonly maxExportBatchSize: number;
  readonly scheduleDelayMs: number;
  /** One export request's bound (OTEL_EXPORTER_OTLP_[TRACES_]TIMEOUT), or the exporter's default. */
  readonly exporterTimeoutMs: number | undefined;
  /** One batch's bound in the processor (OTEL_BSP_EXPORT_TIMEOUT). */
  readonly batchTimeoutMs: number;
  /**
   * How long a program's exit waits for the collector: the smallest of the timeouts above that is
   * set, else 1 s. Export runs in the background while a program runs; at its end, a collector that
   * is not there must not hold up the next container of the pod.
   */
  readonly exitTimeoutMs: number;
  /** Whether this program records the pod start root span (POD_START_SPAN; default: the first program). */
  readonly recordPodStart: boolean;
  /** Why export is off or changed, for one warning line at start. */
  readonly warnings: readonly string[];
  /**
   * What was read other than as written (a legacy JAEGER_ENDPOINT, no export in development), for
   * one info line at start.
   */
  readonly notes: readonly string[];
}

/** The line a development run without a collector prints once. */
export const developmentExportOff =
  'trace export is off: ENVIRONMENT=development and no collector is set. To see traces, start Jaeger (podman run --rm -d -p 16686:16686 -p 4318:4318 jaegertracing/jaeger:2.10.0) and set OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 (or JAEGER_ENDPOINT); the UI is on http://localhost:16686';

/** The program that runs first in a pod, and so records the pod start root span. */
export const firstProgramOfPod = 'database-migration';

/** Reads the standard OTEL_* variables and the seed's JAEGER_ENDPOINT alias. Never throws. */
export function telemetrySettings(
  defaultServiceName: string,
  env: Env = process.env,
): TelemetrySettings {
  const warnings: string[] = [];
  const notes: string[] = [];
  const safe = <T>(read: () => T, fallback: T): T => {
    try {
      return read();
    } catch (err) {
      warnings.push(`${(err as Error).message}; using ${String(fallback)}`);
      return fallback;
    }
  };
  const disabled = safe(() => envBool(env, 'OTEL_SDK_DISABLED', false), false);
  const serviceName = envString(env, 'OTEL_SERVICE_NAME') ?? defaultServiceName;

  const protocolRaw =
    envString(env, 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL') ??
    envString(env, 'OTEL_EXPORTER_OTLP_PROTOCOL') ??
    'http/protobuf';
  let protocol: TelemetrySettings['protocol'] = 'http/protobuf';
  if (protocolRaw === 'http/json') protocol = 'http/json';
  else if (protocolRaw !== 'http/protobuf') {
    warnings.push(
      `OTEL_EXPORTER_OTLP_PROTOCOL=${protocolRaw} is not supported here (http/protobuf or http/json); using http/protobuf`,
    );
  }

  let tracesUrl: string | undefined;
  const exporter = envString(env, 'OTEL_TRACES_EXPORTER', 'otlp');
  const jaeger = envString(env, 'JAEGER_ENDPOINT');
  if (exporter === 'none') {
    tracesUrl = undefined;
  } else if (envString(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT')) {
    tracesUrl = envString(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
  } else if (envString(env, 'OTEL_EXPORTER_OTLP_ENDPOINT')) {
    tracesUrl = withTracesPath(envString(env, 'OTEL_EXPORTER_OTLP_ENDPOINT')!);
  } else if (jaeger) {
    const resolved = jaegerTracesUrl(jaeger);
    tracesUrl = resolved.url;
    if (resolved.note) notes.push(resolved.note);
  } else if (envString(env, 'ENVIRONMENT') === 'development') {
    // On a developer's machine a collector is the exception: no export, and one line on how.
    tracesUrl = undefined;
    notes.push(developmentExportOff);
  } else {
    tracesUrl = 'http://localhost:4318/v1/traces';
  }
  if (tracesUrl !== undefined) {
    try {
      const u = new URL(tracesUrl);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('not http');
    } catch {
      warnings.push(`trace endpoint "${tracesUrl}" is not an http(s) URL; trace export is off`);
      tracesUrl = undefined;
    }
  }

  const sampler = (envString(env, 'OTEL_TRACES_SAMPLER') ?? 'parentbased_always_on').toLowerCase();
  const samplerArg = safe(
    () => envNumber(env, 'OTEL_TRACES_SAMPLER_ARG', 1, { min: 0, max: 1 }),
    1,
  );
  const maxQueueSize = safe(
    () => envInt(env, 'OTEL_BSP_MAX_QUEUE_SIZE', 2048, { min: 1, max: 100_000 }),
    2048,
  );
  const maxExportBatchSize = Math.min(
    maxQueueSize,
    safe(() => envInt(env, 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE', 512, { min: 1, max: 100_000 }), 512),
  );
  const scheduleDelayMs = safe(
    () => envInt(env, 'OTEL_BSP_SCHEDULE_DELAY', 1000, { min: 1, max: 600_000 }),
    1000,
  );
  const optionalMs = (name: string): number | undefined =>
    envString(env, name) === undefined
      ? undefined
      : safe<number | undefined>(() => envInt(env, name, 0, { min: 1, max: 600_000 }), undefined);
  const exporterTimeoutMs =
    optionalMs('OTEL_EXPORTER_OTLP_TRACES_TIMEOUT') ?? optionalMs('OTEL_EXPORTER_OTLP_TIMEOUT');
  const bspTimeoutMs = optionalMs('OTEL_BSP_EXPORT_TIMEOUT');
  const setTimeouts = [exporterTimeoutMs, bspTimeoutMs].filter((t) => t !== undefined);
  const recordPodStart = safe(
    () => envBool(env, 'POD_START_SPAN', defaultServiceName === firstProgramOfPod),
    defaultServiceName === firstProgramOfPod,
  );
  return Object.freeze({
    enabled: !disabled,
    scheduleDelayMs,
    exporterTimeoutMs,
    batchTimeoutMs: bspTimeoutMs ?? 10_000,
    exitTimeoutMs: setTimeouts.length > 0 ? Math.min(...setTimeouts) : 1000,
    recordPodStart,
    serviceName,
    tracesUrl,
    protocol,
    sampler,
    samplerArg,
    maxQueueSize,
    maxExportBatchSize,
    warnings: Object.freeze(warnings),
    notes: Object.freeze(notes),
  });
}

export function buildSampler(name: string, arg: number, warnings: string[]): Sampler {
  switch (name) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(arg);
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(arg) });
    default:
      warnings.push(`OTEL_TRACES_SAMPLER=${name} is unknown; using parentbased_always_on`);
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
  }
}

/**
 * OTEL_RESOURCE_ATTRIBUTES as the specification reads it: comma-separated key=value pairs, percent-
 * encoded; on any error the whole value is discarded, with a warning naming the variable. (The
 * SDK's own parser is private to its env detector, which reads only process.env and drops a
 * malformed value without a word.)
 */
export function parseResourceAttributes(
  value: string | undefined,
  warnings: string[],
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of (value ?? '').split(',')) {
    if (pair.trim() === '') continue;
    const parts = pair.split('=');
    const key = parts[0]?.trim() ?? '';
    let problem: string | undefined;
    if (parts.length !== 2 || key === '')
      problem = `"${pair}" is not key=value (',' and '=' must be percent-encoded)`;
    else {
      try {
        out[decodeURIComponent(key)] = decodeURIComponent(parts[1]!.trim());
      } catch {
        problem = `"${pair}" is not valid percent-encoding`;
      }
    }
    if (problem) {
      warnings.push(`OTEL_RESOURCE_ATTRIBUTES: ${problem}; all of its attributes are ignored`);
      return {};
    }
  }
  return out;
}
