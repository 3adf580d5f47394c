import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Database } from '@order-food/platform/database';
import { type Logger, requestLineWriter } from '@order-food/platform/logger';
import type { ProgramContext } from '@order-food/platform/program';
import { waitForDatabase } from '@order-food/platform/wait-for-database';
import Fastify, {
  type FastifyInstance,
  type FastifyServerOptions,
  LogController,
  type RawServerDefault,
} from 'fastify';
import fp from 'fastify-plugin';
import type { ApiConfig } from './config.js';
import { parseJsonBody } from './json-body.js';
import { Lifecycle } from './lifecycle.js';
import type { MenuCacheOptions } from './menu-cache.js';
import type { Metrics } from './metrics.js';
import auth from './plugins/auth.js';
import database from './plugins/database.js';
import errors, { sendProblem } from './plugins/errors.js';
import menuCache from './plugins/menu-cache.js';
import metricsPlugin from './plugins/metrics.js';
import { tracing } from './plugins/tracing.js';
import { HttpProblem } from './problem.js';
import { parseQueryString } from './query-string.js';
import { repeatedHeader } from './request-headers.js';
import { docs, openapi } from './routes/docs.js';
import health from './routes/health.js';
import metricsRoutes from './routes/metrics.js';
import orderRoutes from './routes/orders.js';
import productRoutes from './routes/products.js';
import userRoutes from './routes/users.js';
import { validatorCompiler } from './validation.js';

export type AppConfig = Pick<
  ApiConfig,
  'jwt' | 'http' | 'minSchemaVersion' | 'readyCacheMs' | 'serviceVersion'
>;

export interface AppOptions {
  db: Database;
  metrics: Metrics;
  config: AppConfig;
  /** Shared with server.ts, which marks start-up and shutdown; tests may omit it (ready at once). */
  lifecycle?: Lifecycle;
  /** The menu cache's notification connection and byte bound (defaults: none, 16 MiB). */
  menuCache?: MenuCacheOptions;
}

declare module 'fastify' {
  interface FastifyInstance {
    lifecycle: Lifecycle;
  }
}

const probeRoutes = new Set(['/health', '/ready', '/metrics']);
const requestIdPattern = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The whole API as one plugin: the shared services (plugins/), then the routes (routes/). Tests
 * register it on a bare Fastify and call inject(); server.ts adds the logger, timeouts, the
 * graceful close and listen.
 */
export const app = fp<AppOptions>(
  async (fastify, options) => {
    const { db, metrics, config } = options;
    const lifecycle =
      options.lifecycle ?? Object.assign(new Lifecycle(), { databaseReached: true });
    fastify.decorate('lifecycle', lifecycle);
    await fastify.register(database, { db });
    await fastify.register(metricsPlugin, { metrics });

    fastify.setValidatorCompiler(validatorCompiler);
    // Bodies are JSON only: a JSON text sent as text/plain is a 415 naming the type, not a string
    // that then fails the schema as "must be object".
    fastify.removeAllContentTypeParsers();
    fastify.addContentTypeParser('application/json', { parseAs: 'buffer' }, parseJsonBody);
    await fastify.register(tracing, { metrics });

    // The hooks every request passes take callbacks, not promises: one promise and a microtask
    // less each, on every request.
    fastify.addHook('onRequest', (request, reply, done) => {
      reply.header('x-request-id', request.id);
      if (lifecycle.closing) {
        done(
          new HttpProblem(503, 'shutting down; retry on another replica', {
            headers: { 'retry-after': '1' },
          }),
        );
        return;
      }
      const repeated = repeatedHeader(request.raw.rawHeaders);
      if (repeated !== undefined) {
        done(new HttpProblem(400, `the ${repeated} header may be sent only once`));
        return;
      }
      done();
    });
    // From the first shutdown signal on, every response closes its connection: clients reconnect
    // (to another replica) and keep-alive connections cannot hold the close open.
    fastify.addHook('onSend', (_request, reply, payload, done) => {
      if (lifecycle.shuttingDown) reply.header('connection', 'close');
      done(null, payload);
    });
    // One line per request (Fastify's own two are disabled); probes only at debug level. Every
    // field is the server's own, so the line skips redaction (requestLineWriter).
    const requestLog = fastify.log as Logger;
    const writeRequestLine = requestLineWriter(requestLog);
    fastify.addHook('onResponse', (request, reply, done) => {
      const route = request.routeOptions.url;
      const fields = {
        request_id: request.id,
        method: request.method,
        route: route ?? 'unmatched',
        status: reply.statusCode,
        durationMs: Math.round(reply.elapsedTime * 10) / 10,
      };
      if (route && probeRoutes.has(route)) requestLog.debug(fields, 'request completed');
      else writeRequestLine(fields);
      done();
    });

    await fastify.register(errors);
    await fastify.register(auth, {
      db,
      secret: config.jwt.secret,
      ttlSeconds: config.jwt.ttlSeconds,
    });
    await fastify.register(menuCache, options.menuCache ?? {});
    await fastify.register(openapi, { version: config.serviceVersion });
    await fastify.register(health, {
      db,
      metrics,
      lifecycle,
      minSchemaVersion: config.minSchemaVersion,
      readyCacheMs: config.readyCacheMs,
    });
    await fastify.register(metricsRoutes);
    await fastify.register(productRoutes, { db });
    await fastify.register(userRoutes, { db });
    await fastify.register(orderRoutes, { db, metrics });
    await fastify.register(docs);
  },
  { name: 'order-food', fastify: '5.x' },
);

/**
 * What Node's HTTP parser refuses before any route runs (headers too large, a malformed request,
 * a request that took too long to arrive) still gets a problem+json answer, then the connection
 * closes: the parser cannot go on reading it.
 */
function answerClientError(err: Error & { code?: string }, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, detail] =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'the request did not arrive in time']
      : err.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'the request line and headers are larger than the server accepts']
        : [400, 'the request is not valid HTTP'];
  const body = JSON.stringify({ type: 'about:blank', title: STATUS_CODES[status], status, detail });
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

/** The Fastify options the API needs besides the plugin: limits, validation and request ids. */
export function serverOptions(
  config: AppConfig,
  logger: Logger | undefined,
): FastifyServerOptions<RawServerDefault> {
  return {
    ...(logger ? { loggerInstance: logger } : { logger: false }),
    logController: new LogController({
      disableRequestLogging: true,
      requestIdLogLabel: 'request_id',
    }),
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && requestIdPattern.test(given) ? given : randomUUID();
    },
    bodyLimit: config.http.bodyLimitBytes,
    requestTimeout: config.http.requestTimeoutMs,
    connectionTimeout: config.http.connectionTimeoutMs,
    keepAliveTimeout: config.http.keepAliveTimeoutMs,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    // Requests that arrive while closing get our own 503 problem (see the onRequest hook).
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    routerOptions: {
      ignoreTrailingSlash: true,
      maxParamLength: 200,
      querystringParser: parseQueryString,
    },
    // The router's own refusals (a malformed URL, a path parameter over maxParamLength) answer
    // problem+json like every other error.
    clientErrorHandler: answerClientError,
    frameworkErrors: (error, request, reply) => {
      reply.header('x-request-id', request.id);
      sendProblem(request, reply, error.statusCode ?? 400, error.message);
    },
  };
}

/** A Fastify server with the API registered, not yet listening. */
export async function buildServer(
  options: AppOptions & { logger?: Logger | undefined },
): Promise<FastifyInstance> {
  const server = Fastify(serverOptions(options.config, options.logger));
  await server.register(app, options);
  return server as unknown as FastifyInstance;
}

/**
 * The API's server, built but not listening, on the program's database (and, through a
 * transaction pooler, a direct connection for the menu cache's notifications). The wait for the
 * database starts at once, in the background: the first connection (a PostgreSQL backend
 * starting) overlaps with building the routes; the caller takes its outcome after listen.
 */
export async function openServer(
  program: ProgramContext<ApiConfig>,
  metrics: Metrics,
): Promise<{ db: Database; databaseAnswered: Promise<number>; server: FastifyInstance }> {
  const { config, logger } = program;
  const { pool } = config;
  const db = await program.openDatabase(config.database, {
    ...pool,
    onQuery: metrics.queryObserver,
  });
  const databaseAnswered = waitForDatabase(db, { timeoutMs: config.dbWaitTimeoutMs, logger });
  databaseAnswered.catch(() => undefined);
  const notifications = config.directDatabase
    ? await program.openDatabase(config.directDatabase, {
        max: 1,
        connectTimeoutMs: pool.connectTimeoutMs,
      })
    : undefined;
  const menuCache = { notifications, maxBytes: config.menuCacheMaxBytes };
  const server = await buildServer({
    db,
    metrics,
    config,
    lifecycle: new Lifecycle(),
    logger,
    menuCache,
  });
  // The pool's size too, for the saturation panel (only a pg pool has one).
  if (db.kind === 'postgres') metrics.watchPool(() => db.stats(), pool.max);
  return { db, databaseAnswered, server };
}
