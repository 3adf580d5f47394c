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
import { setGlobalErrorHandler, W3CTraceContextPropagator } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  type IdGenerator,
  RandomIdGenerator,
  type Sampler,
  SamplingDecision,
  type SpanExporter,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import { envString, releaseVersion } from './config.js';
import { describeError } from './errors.js';
import { FailFastExporter, probeEndpoint } from './fail-fast-exporter.js';
import { createLogger, type Logger } from './logger.js';
import {
  buildSampler,
  type Env,
  parseResourceAttributes,
  type TelemetrySettings,
  telemetrySettings,
} from './telemetry-settings.js';

export {
  developmentExportOff,
  firstProgramOfPod,
  parseResourceAttributes,
  type TelemetrySettings,
  telemetrySettings,
} from './telemetry-settings.js';

// Notes said in this process: npm start runs three programs in one, each starting telemetry.
const notesSaid = new Set<string>();

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

const logLevels = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);
let programLogger: (() => Logger | undefined) | undefined;
let ownLogger: Logger | undefined;
let exportFailureReported = false;

/**
 * Telemetry's lines go through the program's logger once it has one (runCli hands it over), so
 * they look like every other line; until then, and in programs without one, through a logger of
 * the same shape on stderr, which keeps a JSON report on stdout clean.
 */
export function setTelemetryLogger(logger: () => Logger | undefined): void {
  programLogger = logger;
}

function telemetryWarn(msg: string, fields: Record<string, string> = {}): void {
  telemetryLine('warn', msg, fields);
}

function telemetryLine(
  level: 'info' | 'warn',
  msg: string,
  fields: Record<string, string> = {},
): void {
  let logger = programLogger?.();
  if (!logger) {
    const configured = process.env.LOG_LEVEL?.trim().toLowerCase() ?? 'info';
    ownLogger ??= createLogger(
      currentSettings?.serviceName ?? 'telemetry',
      logLevels.has(configured) ? configured : 'info',
      process.stderr,
    );
    logger = ownLogger;
  }
  const log = logger;
  // Outside any span: the exporter's work is no request's, whatever context it ran in.
  context.with(ROOT_CONTEXT, () => log[level](fields, msg));
}

/**
 * One warning per process when spans cannot be delivered, naming the endpoint; later failures
 * (every batch while the collector is away, the flush at exit) add nothing to it.
 */
function reportExportFailure(endpoint: string, reason: string): void {
  if (exportFailureReported) return;
  exportFailureReported = true;
  telemetryWarn(
    `telemetry: cannot send traces to ${endpoint}: ${reason}; spans are dropped (point OTEL_EXPORTER_OTLP_ENDPOINT at a collector that answers, or set OTEL_TRACES_EXPORTER=none)`,
    { endpoint, error: reason },
  );
}

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

  // A failed export (collector down) reaches the global error handler: one warning naming the
  // endpoint instead of the default handler's stack trace per batch.
  const tracesUrl = settings.tracesUrl;
  setGlobalErrorHandler((err) => {
    if (tracesUrl) reportExportFailure(tracesUrl, describeError(err));
  });
  // What else the SDK reports (a full queue, a malformed setting) once per kind.
  const seen = new Set<string>();
  const forward = (...args: unknown[]) => {
    // A component's logger passes its name first, then the message, then any error.
    const msg = args
      .map((a) => (typeof a === 'string' ? a : a instanceof Error ? describeError(a) : ''))
      .filter((a) => a !== '')
      .join(': ');
    const key = msg.slice(0, 80);
    if (seen.has(key)) return;
    seen.add(key);
    telemetryWarn(`telemetry: ${msg}`);
  };
  diag.setLogger(
    {
      error: forward,
      warn: forward,
      info: () => undefined,
      debug: () => undefined,
      verbose: () => undefined,
    },
    DiagLogLevel.WARN,
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
  if (tracesUrl) {
    const options = { url: tracesUrl, timeoutMillis: settings.exporterTimeoutMs };
    let exporter: SpanExporter;
    if (settings.protocol === 'http/json') {
      const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
      exporter = new OTLPTraceExporter(options);
    } else {
      const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-proto');
      exporter = new OTLPTraceExporter(options);
    }
    spanProcessors.push(
      new BatchSpanProcessor({
        exporter: new FailFastExporter(exporter, tracesUrl, settings.exporterTimeoutMs ?? 10_000),
        maxQueueSize: settings.maxQueueSize,
        maxExportBatchSize: settings.maxExportBatchSize,
        scheduledDelayMillis: settings.scheduleDelayMs,
        exportTimeoutMillis: settings.batchTimeoutMs,
      }),
    );
  }
  const attributes: Record<string, string> = {
    ...parseResourceAttributes(env.OTEL_RESOURCE_ATTRIBUTES, warnings),
    'service.name': settings.serviceName,
    'service.version': envString(env, 'SERVICE_VERSION', releaseVersion),
    'service.namespace': 'order-food',
  };
  const environment = envString(env, 'ENVIRONMENT');
  if (environment) attributes['deployment.environment.name'] = environment;
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
  for (const n of settings.notes) {
    if (notesSaid.has(n)) continue;
    notesSaid.add(n);
    telemetryLine('info', `telemetry: ${n}`);
  }
  for (const w of warnings) telemetryWarn(`telemetry: ${w}`);
  return { settings };
}

/**
 * Ends the pod start root span now instead of at exit: for a launcher whose process outlives the
 * start-up (npm start runs the API in it).
 */
export function endPodStart(): void {
  podStartSpan?.end();
  podStartSpan = undefined;
}

export function telemetry(): TelemetrySettings | undefined {
  return currentSettings;
}

/**
 * Sends what is queued and stops, waiting at most the exit bound (settings.exitTimeoutMs), and not
 * at all for a collector that cannot be reached: then one warning names the endpoint. Safe to call
 * twice or without a start; startTelemetry may be called again after it.
 */
export async function shutdownTelemetry(): Promise<void> {
  const p = provider;
  provider = undefined;
  if (p) await flushAndStop(p);
  // The API's globals are let go: a launcher that runs the next program in the same process
  // starts telemetry again, under that program's name.
  trace.disable();
  propagation.disable();
  context.disable();
  diag.disable();
}

async function flushAndStop(p: TracerProvider): Promise<void> {
  podStartSpan?.end();
  podStartSpan = undefined;
  const tracesUrl = currentSettings?.tracesUrl;
  const boundMs = currentSettings?.exitTimeoutMs ?? 1000;
  let timer: NodeJS.Timeout | undefined;
  const failure = await Promise.race([
    p
      .forceFlush()
      .then(() => p.shutdown())
      .then(
        () => undefined,
        (err: unknown) => describeError(err),
      ),
    // A connection that opens says nothing: the flush's own outcome, or the bound, decides.
    ...(tracesUrl
      ? [probeEndpoint(tracesUrl, boundMs).then((r) => r ?? new Promise<string>(() => {}))]
      : []),
    new Promise<string>((resolve) => {
      timer = setTimeout(
        () => resolve(`the collector did not answer within ${boundMs} ms`),
        boundMs,
      );
    }),
  ]);
  clearTimeout(timer);
  if (failure !== undefined && tracesUrl) reportExportFailure(tracesUrl, failure);
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
