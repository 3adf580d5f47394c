#!/usr/bin/env node
/**
 * The order-food API process: telemetry first, configuration parsed once, then the server listens
 * at once (/health answers) while the database is waited for in the background (/ready says 503
 * until it answers at a supported schema version). SIGTERM turns /ready to 503, keeps serving for
 * the drain delay, then closes connections and the pool and exits 0; a second signal exits at once.
 */
import { context, type Span, SpanStatusCode, trace } from '@opentelemetry/api';
import { createDatabase, type Database } from '@order-food/platform/database';
import { runsItself } from '@order-food/platform/entry';
import { describeError } from '@order-food/platform/errors';
import { createLogger, type Logger } from '@order-food/platform/logger';
import { defineProgram, type ProgramContext } from '@order-food/platform/program';
import { readSchemaVersion } from '@order-food/platform/schema';
import { startupContext } from '@order-food/platform/telemetry';
import { waitForDatabase } from '@order-food/platform/wait-for-database';
import type { FastifyInstance } from 'fastify';
import { buildServer } from './app.js';
import { type ApiConfig, parseApiConfig } from './config.js';
import { printExamples } from './examples.js';
import { Lifecycle } from './lifecycle.js';
import { Metrics } from './metrics.js';
import { serveFlags, synopsis } from './serve-flags.js';
import { type SetupMetrics, startSetupMetrics } from './setup-metrics.js';

const tracer = trace.getTracer('order-food');

const signalExitCodes: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };

const usage = `${synopsis}

Serves the order-food REST API (GET /health, /ready, /metrics, /api/*, /openapi.json, /docs).
--port and --host win over PORT and HOST.
Configured by the environment: PORT (8080), HOST (0.0.0.0; 127.0.0.1 in development),
DATABASE_URL (unset: embedded PGlite), JWT_SECRET (required unless ENVIRONMENT=development),
LOG_LEVEL, DB_WAIT_TIMEOUT, DB_POOL_MAX, SHUTDOWN_DRAIN_DELAY, SHUTDOWN_TIMEOUT and the standard
OTEL_* variables; see docs/DEPLOYMENT.md.
`;

/** The API's start, for defineProgram or a launcher that runs it in its own process. */
export async function main(
  program: ProgramContext,
  argv: readonly string[] = process.argv.slice(2),
): Promise<number> {
  // --help loads the whole program and exits: the images run it at build time to fill Node's
  // compile cache.
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(usage);
    return 0;
  }
  const config = parseApiConfig({ ...process.env, ...serveFlags(argv) });
  const log = createLogger('order-food', config.logLevel);
  program.useLogger(log);
  if (config.jwt.isDevelopmentSecret) {
    log.warn(
      'JWT_SECRET is not set: tokens are signed with the fixed development secret (ENVIRONMENT=development); set JWT_SECRET anywhere else',
    );
  }

  const parent = startupContext();
  const startSpan = tracer.startSpan(
    'order-food start',
    { attributes: { 'db.target': config.database.kind, 'server.port': config.port } },
    parent,
  );
  const startCtx = trace.setSpan(parent, startSpan);
  let startEnded = false;
  const endStart = (error?: unknown) => {
    if (startEnded) return;
    startEnded = true;
    if (error) {
      startSpan.recordException(error as Error);
      startSpan.setStatus({ code: SpanStatusCode.ERROR, message: describeError(error) });
    }
    startSpan.end();
  };

  const metrics = new Metrics({
    version: config.serviceVersion,
    revision: process.env.GIT_REVISION ?? 'unknown',
  });
  const lifecycle = new Lifecycle();
  let db: Database;
  let server: FastifyInstance;
  let databaseAnswered: Promise<number>;
  try {
    db = await context.with(startCtx, () =>
      createDatabase(config.database, {
        logger: log,
        applicationName: 'order-food',
        max: config.pool.max,
        connectTimeoutMs: config.pool.connectTimeoutMs,
        idleTimeoutMs: config.pool.idleTimeoutMs,
        statementTimeoutMs: config.pool.statementTimeoutMs,
        queryTimeoutMs: config.pool.queryTimeoutMs,
        onQuery: metrics.queryObserver,
      }),
    );
    // The wait starts now, in the background: the first connection (a PostgreSQL backend
    // starting) overlaps with building the routes and compiling their schemas. becomeReady
    // takes its outcome after listen; until then a failure is only held.
    databaseAnswered = context.with(startCtx, () =>
      waitForDatabase(db, { timeoutMs: config.dbWaitTimeoutMs, logger: log }),
    );
    databaseAnswered.catch(() => undefined);
    // Notifications need a session: through a transaction pooler they come from the direct URL.
    const notifications = config.directDatabase
      ? await createDatabase(config.directDatabase, {
          logger: log,
          applicationName: 'order-food',
          max: 1,
          connectTimeoutMs: config.pool.connectTimeoutMs,
        })
      : undefined;
    server = await buildServer({
      db,
      metrics,
      config,
      lifecycle,
      logger: log,
      menuCache: { notifications, maxBytes: config.menuCacheMaxBytes },
    });
    // The pool's size too, for the saturation panel (only a pg pool has one).
    if (db.kind === 'postgres') metrics.watchPool(() => db.stats(), config.pool.max);
  } catch (err) {
    endStart(err);
    throw err;
  }

  let setupMetrics: SetupMetrics | undefined;
  let finish!: (code: number) => void;
  const finished = new Promise<number>((resolve) => {
    finish = resolve;
  });
  let stopping = false;

  const shutdown = async (reason: string, code: number): Promise<void> => {
    lifecycle.shuttingDown = true;
    log.info(
      { reason, drainDelayMs: config.shutdown.drainDelayMs },
      'shutting down: /ready answers 503; serving on during the drain delay',
    );
    endStart(new Error(`shut down before ready: ${reason}`));
    await new Promise((resolve) => setTimeout(resolve, config.shutdown.drainDelayMs));
    const bound = setTimeout(() => {
      log.error(
        { timeoutMs: config.shutdown.timeoutMs },
        'shutdown did not finish within SHUTDOWN_TIMEOUT; exiting',
      );
      finish(1);
    }, config.shutdown.timeoutMs);
    bound.unref();
    lifecycle.closing = true;
    try {
      // Waits for requests in flight, closes idle keep-alive connections, stops the menu listener.
      await server.close();
      setupMetrics?.stop();
      await db.close();
      log.info('shut down cleanly');
      finish(code);
    } catch (err) {
      log.error({ err }, 'shutdown failed');
      finish(1);
    } finally {
      clearTimeout(bound);
    }
  };

  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting at once');
      process.exit(signalExitCodes[signal] ?? 1);
    }
    stopping = true;
    void shutdown(signal, 0);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  try {
    await server.listen({ port: config.port, host: config.host });
    startSpan.setAttribute('startup.listening', true);
  } catch (err) {
    endStart(err);
    await db.close().catch(() => undefined);
    throw err;
  }

  void context.with(startCtx, () =>
    becomeReady(config, databaseAnswered, db, server, lifecycle, log, startSpan).then(
      () => {
        endStart();
        if (stopping) return;
        setupMetrics = startSetupMetrics({ db, metrics, logger: log });
        if (config.printExamples) void printExamples(db, server, config);
      },
      (err: unknown) => {
        endStart(err);
        if (stopping) return;
        log.error({ error: describeError(err) }, 'cannot start: the database cannot be used');
        process.stderr.write(`order-food: error: ${describeError(err)}\n`);
        stopping = true;
        lifecycle.shuttingDown = true;
        void server
          .close()
          .catch(() => undefined)
          .then(() => db.close().catch(() => undefined))
          .then(() => finish(1));
      },
    ),
  );

  return finished;
}

/**
 * Takes the outcome of the wait for the database (bounded by DB_WAIT_TIMEOUT, started before the
 * server was built), starts the menu cache's listener, then waits until the schema is at a version
 * this build supports: only then is the start complete.
 */
async function becomeReady(
  config: ApiConfig,
  databaseAnswered: Promise<number>,
  db: Database,
  server: FastifyInstance,
  lifecycle: Lifecycle,
  log: Logger,
  span: Span,
): Promise<void> {
  const attempts = await databaseAnswered;
  span.setAttribute('db.wait.attempts', attempts);
  lifecycle.databaseReached = true;
  await server.menuCache.start();
  let warned = false;
  for (;;) {
    if (lifecycle.shuttingDown) return;
    try {
      const { version } = await readSchemaVersion(db);
      if (version !== null && version >= config.minSchemaVersion) {
        span.setAttribute('db.schema.version', version);
        log.info(
          { port: config.port, database: db.display, schemaVersion: version },
          'order-food ready',
        );
        return;
      }
      if (!warned) {
        log.warn(
          { schemaVersion: version, required: config.minSchemaVersion },
          'database schema is older than this build needs; /ready answers 503 until database-migration has run',
        );
        warned = true;
      }
    } catch (err) {
      log.warn({ error: describeError(err) }, 'schema version check failed; retrying');
    }
    await new Promise((resolve) => setTimeout(resolve, 2000).unref());
  }
}

if (runsItself()) await defineProgram({ name: 'order-food', run: main });
