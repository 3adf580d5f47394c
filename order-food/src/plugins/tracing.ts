import {
  type Attributes,
  context,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import type { FastifyPluginCallback, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Metrics } from '../metrics.js';

export interface TracingOptions {
  /** When given, every traced request is also timed and counted in flight. */
  metrics?: Metrics;
  /** Route templates neither traced nor measured: the scrape and the probes. */
  ignoreRoutes?: readonly string[];
}

interface RequestState {
  span: Span;
  method: string;
  startedAt: number;
  error?: Error;
  ended: boolean;
}

const tracer = trace.getTracer('order-food/http');

/**
 * The name operators search Jaeger by, as the system description writes it: `HTTP GET
 * /api/product`, the method and the route template (never the raw URL, which would make one
 * operation per id); `HTTP GET` when no route matched.
 */
export function spanName(method: string, route: string | undefined): string {
  return route ? `HTTP ${method} ${route}` : `HTTP ${method}`;
}

const stateKey = 'otelRequestState';
type Traced = FastifyRequest & { [stateKey]: RequestState | null };

const defaultIgnored = ['/metrics', '/health', '/ready'];

/** The HTTP methods the semantic conventions name; anything else is reported as _OTHER. */
const knownMethods = new Set([
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'DELETE',
  'CONNECT',
  'OPTIONS',
  'TRACE',
  'PATCH',
]);

/** Label for requests that matched no route, so a scan of random URLs cannot grow the series. */
export const unmatchedRoute = 'unmatched';

const headerGetter = {
  keys: (carrier: FastifyRequest['headers']) => Object.keys(carrier),
  get: (carrier: FastifyRequest['headers'], key: string) => carrier[key],
};

function routeOf(request: FastifyRequest): string | undefined {
  return request.routeOptions.url;
}

function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

function hostPort(host: string | undefined): { address?: string; port?: number } {
  if (!host) return {};
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(host);
  if (!m) return {};
  return { address: m[1], port: m[2] ? Number(m[2]) : undefined };
}

/**
 * Server spans and HTTP metrics from Fastify hooks, without patching any module: the traceparent
 * is extracted, a SERVER span is the active context for the request (database spans and log lines
 * hang from it) and is named by the route template at the end. HTTP semantic-convention
 * attributes, computed only when recording; no client addresses, query strings or headers other
 * than the user agent (they can carry personal data).
 */
const plugin: FastifyPluginCallback<TracingOptions> = (fastify, options, done) => {
  const metrics = options.metrics;
  const ignored = new Set(options.ignoreRoutes ?? defaultIgnored);
  // The request's state in a property Fastify declares on every request (decorateRequest keeps
  // the request objects' shape stable), not in a WeakMap: a WeakMap entry per request made every
  // young-generation collection trace it as an ephemeron.
  fastify.decorateRequest(stateKey, null);
  const stateOf = (request: FastifyRequest): RequestState | null => (request as Traced)[stateKey];
  const finish = (request: FastifyRequest, reply: FastifyReply | undefined, aborted: boolean) => {
    const state = stateOf(request);
    if (!state || state.ended) return;
    state.ended = true;
    const route = routeOf(request);
    const status = aborted ? undefined : reply?.statusCode;
    const { span } = state;
    span.updateName(spanName(state.method, route));
    if (span.isRecording()) {
      if (status !== undefined) span.setAttribute('http.response.status_code', status);
      if (route) span.setAttribute('http.route', route);
    }
    if (aborted) {
      span.setAttribute('error.type', 'aborted');
      span.setStatus({ code: SpanStatusCode.ERROR, message: 'client closed the connection' });
    } else if (status !== undefined && status >= 500) {
      // Only server faults: a 4xx is the client's doing and its message may echo client input.
      if (state.error) span.recordException(state.error);
      span.setAttribute('error.type', state.error?.name ?? String(status));
      span.setStatus({ code: SpanStatusCode.ERROR, message: state.error?.message });
    }
    span.end();
    if (metrics) {
      metrics.requestEnded(state.method);
      metrics.httpDuration.observe(
        {
          method: state.method,
          route: route ?? unmatchedRoute,
          status_code: status === undefined ? 'aborted' : String(status),
        },
        (performance.now() - state.startedAt) / 1000,
      );
    }
  };

  fastify.addHook('onRequest', (request, _reply, next) => {
    const route = routeOf(request);
    if (route && ignored.has(route)) {
      next();
      return;
    }
    const method = knownMethods.has(request.method) ? request.method : '_OTHER';
    const parent = propagation.extract(ROOT_CONTEXT, request.headers, headerGetter);
    const span = tracer.startSpan(spanName(method, undefined), { kind: SpanKind.SERVER }, parent);
    if (span.isRecording()) {
      const { address, port } = hostPort(request.headers.host);
      const attributes: Attributes = {
        'http.request.method': method,
        'url.path': pathOf(request.url),
        'url.scheme': request.protocol,
        'network.protocol.version': request.raw.httpVersion,
      };
      if (method === '_OTHER') attributes['http.request.method_original'] = request.method;
      if (route) attributes['http.route'] = route;
      if (address) attributes['server.address'] = address;
      if (port !== undefined) attributes['server.port'] = port;
      const agent = request.headers['user-agent'];
      if (agent) attributes['user_agent.original'] = agent;
      span.setAttributes(attributes);
    }
    const ctx = trace.setSpan(parent, span);
    (request as Traced)[stateKey] = {
      span,
      method,
      startedAt: performance.now(),
      ended: false,
    };
    metrics?.requestStarted(method);
    // The rest of the lifecycle, body parsing and the response's 'finish' event included, runs
    // inside the span's context: on Node 24 AsyncLocalStorage carries it through (engines >=24).
    context.with(ctx, next);
  });

  fastify.addHook('onError', (request, _reply, error, next) => {
    const state = stateOf(request);
    if (state) state.error = error;
    next();
  });

  fastify.addHook('onResponse', (request, reply, next) => {
    finish(request, reply, false);
    next();
  });

  fastify.addHook('onRequestAbort', (request, next) => {
    finish(request, undefined, true);
    next();
  });

  done();
};

export const tracing = fp(plugin, { name: 'tracing', fastify: '5.x' });
