import { createRequire } from 'node:module';
import { isatty } from 'node:tty';
import { INVALID_TRACEID, type SpanContext, trace } from '@opentelemetry/api';
import { type DestinationStream, type Logger, type LoggerOptions, pino } from 'pino';

export type { Logger } from 'pino';

/** Fields that never reach a log line: secrets and personal data. */
export const redactPaths = [
  'password',
  '*.password',
  'token',
  '*.token',
  'secret',
  '*.secret',
  'email',
  '*.email',
  'name',
  'databaseUrl',
  '*.databaseUrl',
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'res.headers["set-cookie"]',
  // PostgreSQL puts the offending values in an error's detail: "Key (email)=(…) already exists".
  'err.detail',
  '*.err.detail',
];

/**
 * The active span's context, when its ids lead somewhere. With the SDK disabled every span carries
 * all-zero ids (and the SDK only makes valid ones, so this is all isSpanContextValid's two regular
 * expressions would find).
 */
function activeSpanContext(): SpanContext | undefined {
  const ctx = trace.getActiveSpan()?.spanContext();
  return ctx && ctx.traceId !== INVALID_TRACEID ? ctx : undefined;
}

/** Every line carries the active span's ids, so a log line leads to its trace. */
function traceMixin(): Record<string, string> {
  const ctx = activeSpanContext();
  return ctx ? { trace_id: ctx.traceId, span_id: ctx.spanId } : {};
}

/**
 * pino's isoTime, formatted once per millisecond: a busy API logs several lines in the same
 * millisecond, and formatting a Date was a tenth of what a request line cost.
 */
let lastMs = -1;
let lastTime = '';
function isoTime(): string {
  const now = Date.now();
  if (now !== lastMs) {
    lastMs = now;
    lastTime = `,"time":"${new Date(now).toISOString()}"`;
  }
  return lastTime;
}

export function loggerOptions(service: string, level: string): LoggerOptions {
  return {
    level,
    base: { service },
    messageKey: 'msg',
    timestamp: isoTime,
    redact: { paths: redactPaths, censor: '[redacted]' },
    mixin: traceMixin,
    formatters: { level: (label) => ({ level: label }) },
  };
}

/** Lines wait in memory for at most this long before they are written (see createLogger). */
const logFlushIntervalMs = 250;

/** Buffered stdout destinations, flushed when the process exits (see createLogger). */
const buffered = new Set<{ flushSync(): void }>();

/**
 * JSON lines on stdout (human-readable only on a terminal), written in batches of 8 KiB or every
 * logFlushIntervalMs, the rest at exit (process.exit and uncaught exceptions too): a write(2) per
 * line cost more CPU than the line, and another thread as much again on a one-core pod. Only a
 * SIGKILL or a crash of the runtime loses the last quarter second of lines.
 */
export function createLogger(
  service: string,
  level = 'info',
  destination?: DestinationStream,
): Logger {
  const options = loggerOptions(service, level);
  if (destination) return pino(options, destination);
  // isatty(1) rather than process.stdout.isTTY: the latter sets up a stream the logger never uses.
  if (isatty(1)) {
    // Loaded only for a terminal: a container's stdout never is one, so a pod never pays its
    // start-up cost (about 60 ms).
    const pretty = createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty');
    return pino(
      options,
      pretty({
        sync: true,
        colorize: true,
        translateTime: 'SYS:HH:MM:ss.l',
        ignore: 'pid,hostname,service',
      }),
    );
  }
  const stream = pino.destination({
    dest: 1,
    sync: true,
    minLength: 8192,
    periodicFlush: logFlushIntervalMs,
  });
  if (buffered.size === 0) {
    // pino flushes its asynchronous destinations at exit by itself, not synchronous ones.
    process.once('exit', () => {
      for (const s of buffered) {
        try {
          s.flushSync();
        } catch {
          // stdout closed: nothing left to write to
        }
      }
    });
  }
  buffered.add(stream);
  return pino(options, stream);
}

/** The fields of the API's request line. */
export interface RequestLine {
  /** From the server's request id generator: [A-Za-z0-9._:-] only. */
  request_id: string;
  method: string;
  /** The route template, not the URL. */
  route: string;
  status: number;
  durationMs: number;
}

const plainToken = /^[A-Za-z0-9._:/-]*$/;

/** A JSON string for a value that almost always needs no escaping. */
function jsonString(value: string): string {
  return plainToken.test(value) ? `"${value}"` : JSON.stringify(value);
}

/**
 * Writes the request line logger.info(fields, msg) would write (same keys, order, span ids and
 * bindings) in one template, through pino's stream and bindings symbols: every field is the
 * server's own, and pino's generic path cost 9-23 % of a cached menu page end to end
 * (bench/findings.md). platform/test/logger.test.ts holds it to pino's own line.
 */
export function requestLineWriter(
  logger: Logger,
  msg = 'request completed',
): (line: RequestLine) => void {
  const msgJson = JSON.stringify(msg);
  const streamSym = pino.symbols.streamSym as unknown as keyof Logger;
  const chindingsSym = pino.symbols.chindingsSym as unknown as keyof Logger;
  // Not a pino logger (Fastify's stand-in when logging is off, a test's own): the plain call.
  if (!(streamSym in logger) || typeof logger.isLevelEnabled !== 'function')
    return (line) => logger.info(line, msg);
  return (line) => {
    if (!logger.isLevelEnabled('info')) return;
    const ctx = activeSpanContext();
    const ids = ctx ? `,"trace_id":"${ctx.traceId}","span_id":"${ctx.spanId}"` : '';
    const stream = logger[streamSym] as unknown as DestinationStream;
    stream.write(
      `{"level":"info"${isoTime()}${logger[chindingsSym] as unknown as string}${ids},"request_id":${jsonString(line.request_id)},"method":${jsonString(line.method)},"route":${jsonString(line.route)},"status":${line.status},"durationMs":${line.durationMs},"msg":${msgJson}}\n`,
    );
  };
}
