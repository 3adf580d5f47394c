import { createHash } from 'node:crypto';
import {
  type Context,
  context,
  DiagLogLevel,
  defaultTextMapGetter,
  diag,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  TraceFlags,
  trace,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  type IdGenerator,
  ParentBasedSampler,
  RandomIdGenerator,
  type Sampler,
  SamplingDecision,
  type SpanExporter,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import { envBool, envInt, envNumber, envString } from './config.js';

type Env = Record<string, string | undefined>;

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
  /** Whether this program records the pod start root span (POD_START_SPAN; default: the first program). */
  readonly recordPodStart: boolean;
  /** Why export is off or changed, for one warning line at start. */
  readonly warnings: readonly string[];
}

/** The program that runs first in a pod, and so records the pod start root span. */
export const firstProgramOfPod = 'database-migration';

const legacyJaeger = /:14268(\/|$)|\/api\/traces\/?$/;

function withTracesPath(base: string): string {
  return `${base.replace(/\/+$/, '')}/v1/traces`;
}

/** Reads the standard OTEL_* variables and the seed's JAEGER_ENDPOINT alias. Never throws. */
export function telemetrySettings(
  defaultServiceName: string,
  env: Env = process.env,
): TelemetrySettings {
  const warnings: string[] = [];
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
    if (legacyJaeger.test(jaeger)) {
      warnings.push(
        `JAEGER_ENDPOINT=${jaeger} is Jaeger's legacy Thrift collector, which this service does not speak; trace export is off. Point it at Jaeger's OTLP/HTTP endpoint, e.g. http://jaeger:4318`,
      );
      tracesUrl = undefined;
    } else {
      tracesUrl = /\/v1\/traces\/?$/.test(jaeger) ? jaeger : withTracesPath(jaeger);
    }
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
  const recordPodStart = safe(
    () => envBool(env, 'POD_START_SPAN', defaultServiceName === firstProgramOfPod),
    defaultServiceName === firstProgramOfPod,
  );
  return Object.freeze({
    enabled: !disabled,
    scheduleDelayMs,
    recordPodStart,
    serviceName,
    tracesUrl,
    protocol,
    sampler,
    samplerArg,
    maxQueueSize,
    maxExportBatchSize,
    warnings: Object.freeze(warnings),
  });
}

function buildSampler(name: string, arg: number, warnings: string[]): Sampler {
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

function parseResourceAttributes(value: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of (value ?? '').split(',')) {
    const eq = pair.indexOf('=');
    if (eq > 0)
      out[decodeURIComponent(pair.slice(0, eq).trim())] = decodeURIComponent(
        pair.slice(eq + 1).trim(),
      );
  }
  return out;
}

/**
 * Random ids, except for the one span started inside withIds: the pod start root, whose ids are
 * derived from the pod's UID so that every container of the pod names the same parent.
 */
class PodStartIdGenerator implements IdGenerator {
  readonly #random = new RandomIdGenerator();
  #next: { traceId: string; spanId: string } | undefined;

  withIds<T>(ids: { traceId: string; spanId: string }, start: () => T): T {
    this.#next = ids;
    try {
      return start();
    } finally {
      this.#next = undefined;
    }
  }

  generateTraceId(): string {
    return this.#next?.traceId ?? this.#random.generateTraceId();
  }

  generateSpanId(): string {
    return this.#next?.spanId ?? this.#random.generateSpanId();
  }
}

/**
 * A pod start is traced whatever the ratio: its context is marked sampled in every container, so
 * its root must be sampled too, or the tree would lose its top.
 */
function samplingPodStart(inner: Sampler, podTraceId: string): Sampler {
  return {
    shouldSample: (...args) =>
      args[1] === podTraceId
        ? { decision: SamplingDecision.RECORD_AND_SAMPLED }
        : inner.shouldSample(...args),
    toString: () => `PodStart{${inner.toString()}}`,
  };
}

/** Ids of the pod start, derived from the pod's UID: the same in every container of the pod. */
export function podStartIds(podUid: string): { traceId: string; spanId: string } {
  const digest = createHash('sha256').update(`order-food pod ${podUid}`).digest('hex');
  return { traceId: digest.slice(0, 32), spanId: digest.slice(32, 48) };
}

const w3c = new W3CTraceContextPropagator();

let provider: TracerProvider | undefined;
let currentSettings: TelemetrySettings | undefined;
let podStartSpan: Span | undefined;

export interface StartedTelemetry {
  readonly settings: TelemetrySettings;
}

/**
 * Starts tracing for a program: call it before anything else runs. Telemetry never stops a
 * program: a bad setting turns into a warning, a dead collector into dropped spans.
 */
export async function startTelemetry(
  serviceName: string,
  env: Env = process.env,
): Promise<StartedTelemetry> {
  const settings = telemetrySettings(serviceName, env);
  currentSettings = settings;
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  if (!settings.enabled) return { settings };

  // Export errors (collector down) are reported once per kind instead of once per batch.
  const seen = new Set<string>();
  diag.setLogger(
    {
      error: (msg: string) => {
        const key = msg.slice(0, 60);
        if (!seen.has(key)) {
          seen.add(key);
          process.stderr.write(
            `${JSON.stringify({ level: 'warn', service: settings.serviceName, msg: `telemetry: ${msg}` })}\n`,
          );
        }
      },
      warn: () => undefined,
      info: () => undefined,
      debug: () => undefined,
      verbose: () => undefined,
    },
    DiagLogLevel.ERROR,
  );

  const warnings = [...settings.warnings];
  let sampler = buildSampler(settings.sampler, settings.samplerArg, warnings);
  // The pod start is ours to record only when its ids come from POD_UID (a TRACEPARENT names a
  // parent its sender records).
  const podUid = envString(env, 'POD_UID');
  const derived = podUid ? podStartIds(podUid) : undefined;
  const pod =
    derived && trace.getSpanContext(startupContext(env))?.spanId === derived.spanId
      ? derived
      : undefined;
  if (pod) sampler = samplingPodStart(sampler, pod.traceId);
  const idGenerator = new PodStartIdGenerator();
  const spanProcessors = [];
  if (settings.tracesUrl) {
    let exporter: SpanExporter;
    if (settings.protocol === 'http/json') {
      const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
      exporter = new OTLPTraceExporter({ url: settings.tracesUrl });
    } else {
      const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-proto');
      exporter = new OTLPTraceExporter({ url: settings.tracesUrl });
    }
    spanProcessors.push(
      new BatchSpanProcessor({
        exporter,
        maxQueueSize: settings.maxQueueSize,
        maxExportBatchSize: settings.maxExportBatchSize,
        scheduledDelayMillis: settings.scheduleDelayMs,
        exportTimeoutMillis: 10_000,
      }),
    );
  }
  const attributes: Record<string, string> = {
    ...parseResourceAttributes(env.OTEL_RESOURCE_ATTRIBUTES),
    'service.name': settings.serviceName,
    'service.version': envString(env, 'SERVICE_VERSION', '1.0.0'),
    'deployment.environment.name': envString(env, 'ENVIRONMENT', 'development'),
    'service.namespace': 'order-food',
  };
  const instance = envString(env, 'POD_NAME') ?? envString(env, 'HOSTNAME');
  if (instance) attributes['service.instance.id'] = instance;
  if (env.POD_UID) attributes['k8s.pod.uid'] = env.POD_UID;
  if (env.POD_NAME) attributes['k8s.pod.name'] = env.POD_NAME;

  provider = new TracerProvider({
    resource: resourceFromAttributes(attributes),
    sampler,
    spanProcessors,
    idGenerator,
  });
  trace.setGlobalTracerProvider(provider);
  if (pod && podUid && settings.recordPodStart) {
    // The root of the pod's start-up trace, spanning this first program's life: the later
    // programs' spans hang from the same derived id, so Jaeger shows one tree, not orphans.
    podStartSpan = idGenerator.withIds(pod, () =>
      provider!.getTracer('@order-food/platform/telemetry').startSpan('pod start', {
        root: true,
        kind: SpanKind.INTERNAL,
        startTime: performance.timeOrigin,
        attributes: {
          'k8s.pod.uid': podUid,
          ...(env.POD_NAME ? { 'k8s.pod.name': env.POD_NAME } : {}),
        },
      }),
    );
  }
  for (const w of warnings) {
    process.stderr.write(
      `${JSON.stringify({ level: 'warn', service: settings.serviceName, msg: `telemetry: ${w}` })}\n`,
    );
  }
  return { settings };
}

export function telemetry(): TelemetrySettings | undefined {
  return currentSettings;
}

/** Sends what is queued, within a bound, then stops. Safe to call twice or without a start. */
export async function shutdownTelemetry(timeoutMs = 5000): Promise<void> {
  const p = provider;
  provider = undefined;
  if (!p) return;
  podStartSpan?.end();
  podStartSpan = undefined;
  const bound = new Promise<void>((resolve) => setTimeout(resolve, timeoutMs).unref());
  await Promise.race([
    p
      .forceFlush()
      .then(() => p.shutdown())
      .catch(() => undefined),
    bound,
  ]);
}

/**
 * The context a program's start-up spans hang from, so the init containers and the API's start of
 * one pod make one trace: TRACEPARENT when given, else one derived from POD_UID (the same in all
 * three containers of a pod), else none.
 */
export function startupContext(env: Env = process.env): Context {
  if (env.TRACEPARENT) {
    // W3C directly, not the global propagator: this works before startTelemetry too.
    const extracted = w3c.extract(
      ROOT_CONTEXT,
      { traceparent: env.TRACEPARENT, tracestate: env.TRACESTATE },
      defaultTextMapGetter,
    );
    if (trace.getSpanContext(extracted)) return extracted;
  }
  if (env.POD_UID) {
    return trace.setSpanContext(ROOT_CONTEXT, {
      ...podStartIds(env.POD_UID),
      traceFlags: TraceFlags.SAMPLED,
      isRemote: true,
    });
  }
  return ROOT_CONTEXT;
}
