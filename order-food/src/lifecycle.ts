import { type Context, context, type Span, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Database } from '@order-food/platform/database';
import { describeError } from '@order-food/platform/errors';
import type { Logger } from '@order-food/platform/logger';
import { readSchemaVersion } from '@order-food/platform/schema';
import type { FastifyInstance } from 'fastify';
import type { ApiConfig } from './config.js';

/**
 * What the process knows about its own state, shared by server.ts (which changes it) and the
 * /ready route (which reports it).
 */
export class Lifecycle {
  /** Set at the first SIGTERM: /ready answers 503 from then on. */
  shuttingDown = false;
  /** Set after the drain delay, when connections close: new requests are refused with 503. */
  closing = false;
  /** False until the database answered once at start (server.ts waits in the background). */
  databaseReached = false;
  /** Why the service is not ready while the database is still being waited for. */
  startupDetail = 'waiting for the database to answer';
}

/** The API's start span: it ends once, at readiness or at the failure or shutdown before it. */
export class StartSpan {
  readonly context: Context;
  #ended = false;

  constructor(readonly span: Span) {
    this.context = trace.setSpan(context.active(), span);
  }

  /** Runs fn with the start span active: what it does (connections, queries) hangs from it. */
  within<T>(fn: () => T): T {
    return context.with(this.context, fn);
  }

  end(error?: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    if (error) {
      this.span.recordException(error as Error);
      this.span.setStatus({ code: SpanStatusCode.ERROR, message: describeError(error) });
    }
    this.span.end();
  }
}

/**
 * Takes the outcome of the wait for the database (bounded by DB_WAIT_TIMEOUT, started before the
 * server was built), starts the menu cache's listener, then waits until the schema is at a version
 * this build supports: only then is the start complete.
 */
export async function becomeReady(
  config: Pick<ApiConfig, 'port' | 'minSchemaVersion'>,
  databaseAnswered: Promise<number>,
  server: FastifyInstance,
  log: Logger,
  span: Span,
): Promise<void> {
  const { db, lifecycle } = server;
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

/**
 * The graceful close after the first signal: /ready answers 503 at once, requests are served on
 * for the drain delay (load balancers stop sending), then connections, the menu listener and the
 * pool close, bounded by SHUTDOWN_TIMEOUT. Resolves with the exit code.
 */
export async function drain(
  config: Pick<ApiConfig, 'shutdown'>,
  server: FastifyInstance,
  db: Database,
  log: Logger,
  reason: string,
  code: number,
  beforePool: () => void = () => undefined,
): Promise<number> {
  const { lifecycle } = server;
  lifecycle.shuttingDown = true;
  log.info(
    { reason, drainDelayMs: config.shutdown.drainDelayMs },
    'shutting down: /ready answers 503; serving on during the drain delay',
  );
  await new Promise((resolve) => setTimeout(resolve, config.shutdown.drainDelayMs));
  let bound: NodeJS.Timeout | undefined;
  const timedOut = new Promise<number>((resolve) => {
    bound = setTimeout(() => {
      log.error(
        { timeoutMs: config.shutdown.timeoutMs },
        'shutdown did not finish within SHUTDOWN_TIMEOUT; exiting',
      );
      resolve(1);
    }, config.shutdown.timeoutMs);
    bound.unref();
  });
  lifecycle.closing = true;
  const closed = (async () => {
    try {
      // Waits for requests in flight, closes idle keep-alive connections, stops the menu listener.
      await server.close();
      beforePool();
      await db.close();
      log.info('shut down cleanly');
      return code;
    } catch (err) {
      log.error({ err }, 'shutdown failed');
      return 1;
    }
  })();
  try {
    return await Promise.race([closed, timedOut]);
  } finally {
    clearTimeout(bound);
  }
}
