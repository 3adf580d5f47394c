import { STATUS_CODES } from 'node:http';
import { isConnectionError } from '@order-food/platform/errors';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { HttpProblem } from '../problem.js';

/** SQLSTATEs that mean "try again soon", not "your request is wrong". */
const transientStates = new Map<string, string>([
  ['57014', 'the database did not answer in time'],
  ['55P03', 'the data is locked by another operation'],
  ['40001', 'a concurrent change conflicted; retry the request'],
  ['40P01', 'a concurrent change conflicted; retry the request'],
  ['53200', 'the database is out of memory'],
  ['53300', 'the database has no free connections'],
  // undefined_table: every table this build queries is made by a migration, so this is a
  // database that was never migrated (/ready says so too), not a request to fix.
  ['42P01', 'the database is not ready for this service yet'],
]);

interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  [extension: string]: unknown;
}

function pathOf(request: FastifyRequest): string {
  const q = request.url.indexOf('?');
  return q === -1 ? request.url : request.url.slice(0, q);
}

export function sendProblem(
  request: FastifyRequest,
  reply: FastifyReply,
  status: number,
  detail: string,
  extra: { type?: string; title?: string; extensions?: Record<string, unknown> } = {},
): FastifyReply {
  const body: ProblemBody = {
    ...extra.extensions,
    type: extra.type ?? 'about:blank',
    title: extra.title ?? STATUS_CODES[status] ?? 'Error',
    status,
    detail,
    instance: pathOf(request),
  };
  return reply.code(status).type('application/problem+json').send(body);
}

/** What a log line needs of a request: never headers (tokens) or bodies (personal data). */
function requestSummary(request: FastifyRequest) {
  return {
    id: request.id,
    method: request.method,
    path: pathOf(request),
    route: request.routeOptions.url,
  };
}

/** The body's type as sent, shortened: it is client text shown back to the client. */
function mediaTypeDetail(request: FastifyRequest): string {
  const sent = request.headers['content-type'];
  const shown = sent === undefined ? 'none' : JSON.stringify(sent.slice(0, 100));
  return `the body must be sent as application/json (Content-Type: ${shown})`;
}

function transientDetail(err: unknown): string | undefined {
  if (isConnectionError(err)) return 'the database is not reachable; retry shortly';
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && transientStates.has(code)) return transientStates.get(code);
  if (err instanceof Error && /Query read timeout/i.test(err.message))
    return 'the database did not answer in time';
  return undefined;
}

/**
 * One error handler for the whole app: clients get RFC 9457 problems, 5xx without internals; the
 * log gets the error and the request.
 */
export default fp(
  async (app) => {
    app.setErrorHandler((err: FastifyError, request, reply) => {
      if (err instanceof HttpProblem) {
        request.log.info({ status: err.statusCode, problem: err.message }, 'request refused');
        reply.headers(err.headers);
        return sendProblem(request, reply, err.statusCode, err.message, {
          type: err.type,
          title: err.title,
          extensions: err.extensions,
        });
      }
      if (err.validation) {
        const errors = err.validation.map((v) => ({
          in: err.validationContext ?? 'request',
          path: v.instancePath || '/',
          message:
            v.keyword === 'additionalProperties'
              ? `unknown property "${(v.params as { additionalProperty?: string }).additionalProperty}"`
              : (v.message ?? 'is not valid'),
        }));
        request.log.info({ status: 400, errors }, 'request refused: validation');
        return sendProblem(request, reply, 400, err.message, {
          type: 'urn:order-food:problem:validation',
          extensions: { errors },
        });
      }
      const status = err.statusCode ?? 500;
      if (status >= 400 && status < 500) {
        // Fastify's own client errors (body too large, unknown content type): safe text.
        request.log.info({ status, code: err.code }, 'request refused');
        return sendProblem(
          request,
          reply,
          status,
          err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? mediaTypeDetail(request) : err.message,
        );
      }
      const transient = transientDetail(err);
      if (transient) {
        request.log.warn(
          { err, request: requestSummary(request) },
          'request failed: database unavailable',
        );
        reply.header('retry-after', '5');
        return sendProblem(request, reply, 503, transient);
      }
      request.log.error({ err, request: requestSummary(request) }, 'request failed');
      return sendProblem(
        request,
        reply,
        500,
        `an unexpected error occurred; quote request id ${request.id} when reporting it`,
      );
    });

    app.setNotFoundHandler((request, reply) =>
      sendProblem(request, reply, 404, `no route ${request.method} ${pathOf(request)}`),
    );
  },
  { name: 'errors', fastify: '5.x' },
);
