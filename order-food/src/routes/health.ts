import type { Database } from '@order-food/platform/database';
import { describeError } from '@order-food/platform/errors';
import { readSchemaVersion } from '@order-food/platform/schema';
import fp from 'fastify-plugin';
import { Type } from 'typebox';
import type { Lifecycle } from '../lifecycle.js';
import type { Metrics } from '../metrics.js';
import { sendProblem } from '../plugins/errors.js';
import { json, Problem, problems } from '../schemas.js';

export interface HealthOptions {
  db: Database;
  metrics: Metrics;
  lifecycle: Lifecycle;
  minSchemaVersion: number;
  readyCacheMs: number;
}

interface Readiness {
  ready: boolean;
  /** What anyone may read: the class of the reason, never addresses or error text. */
  reason: string;
  /** The reason in full, for the log only (it may name hosts, ports and errors). */
  detail: string;
  schemaVersion: number | null;
  checkedAt: number;
}

const Status = Type.Object(
  {
    status: Type.String({ description: 'ok (liveness) or ready (readiness)' }),
    schemaVersion: Type.Optional(
      Type.Union([Type.Integer(), Type.Null()], {
        description: "The database's schema version (readiness only)",
      }),
    ),
  },
  {
    $id: 'ProbeStatus',
    additionalProperties: false,
    description: 'The answer of a probe',
    examples: [{ status: 'ready', schemaVersion: 4 }],
  },
);

// Every route answers 400 to a repeated Authorization or Idempotency-Key header and 503 while
// shutting down, probes too.
const probeProblems = problems(400);

const unavailable = {
  description: 'Not ready, with the reason',
  content: { 'application/problem+json': { schema: Problem } },
};

/**
 * The probes. /health checks nothing outside the process; /ready checks the
 * database and its schema version, remembering the answer briefly so frequent probes from many
 * sources cost one query per interval.
 */
export default fp<HealthOptions>(
  async (app, options) => {
    const { db, metrics, lifecycle } = options;
    let last: Readiness | undefined;
    let inFlight: Promise<Readiness> | undefined;

    const check = async (): Promise<Readiness> => {
      const checkedAt = Date.now();
      try {
        const { version } = await readSchemaVersion(db);
        if (version !== null) metrics.schemaVersion.set(version);
        if (version === null || version < options.minSchemaVersion) {
          return {
            ready: false,
            reason: 'database schema is older than this build needs',
            detail: `database schema version is ${version ?? 'none'}, this build needs ${options.minSchemaVersion} or later; run database-migration`,
            schemaVersion: version,
            checkedAt,
          };
        }
        return { ready: true, reason: 'ready', detail: 'ready', schemaVersion: version, checkedAt };
      } catch (err) {
        return {
          ready: false,
          reason: 'database not reachable',
          detail: `database not reachable: ${describeError(err)}`,
          schemaVersion: null,
          checkedAt,
        };
      }
    };

    const readiness = (): Promise<Readiness> => {
      if (last && Date.now() - last.checkedAt < options.readyCacheMs) return Promise.resolve(last);
      inFlight ??= check().then((r) => {
        // The full reason is logged once per change, not once per probe.
        if (!r.ready && r.detail !== last?.detail) app.log.warn({ detail: r.detail }, 'not ready');
        last = r;
        inFlight = undefined;
        return r;
      });
      return inFlight;
    };

    app.get(
      '/health',
      {
        schema: {
          operationId: 'health',
          summary: 'Liveness: 200 while the process serves',
          description:
            'Checks nothing outside the process, so a database outage does not restart replicas; for Kubernetes liveness probes.',
          tags: ['operations'],
          security: [],
          response: { 200: json(Status, 'The process serves'), ...probeProblems },
        },
      },
      async () => ({ status: 'ok' }),
    );

    app.get(
      '/ready',
      {
        schema: {
          operationId: 'ready',
          summary: 'Readiness: 200 when the database answers at a supported schema version',
          description:
            'Checks the database and its schema version (the answer is reused for READY_CACHE). From the first SIGTERM on it answers 503, so load balancers stop sending traffic. A 503 names the kind of reason only; the full reason is logged.',
          tags: ['operations'],
          security: [],
          response: {
            200: json(Status, 'Ready'),
            ...probeProblems,
            503: unavailable,
          },
        },
      },
      async (request, reply) => {
        if (lifecycle.shuttingDown)
          return sendProblem(request, reply, 503, 'shutting down', {
            type: 'urn:order-food:problem:not-ready',
          });
        if (!lifecycle.databaseReached)
          return sendProblem(request, reply, 503, lifecycle.startupDetail, {
            type: 'urn:order-food:problem:not-ready',
          });
        const r = await readiness();
        if (!r.ready)
          return sendProblem(request, reply, 503, r.reason, {
            type: 'urn:order-food:problem:not-ready',
          });
        return { status: 'ready', schemaVersion: r.schemaVersion };
      },
    );
  },
  { name: 'health', fastify: '5.x', dependencies: ['errors'] },
);
