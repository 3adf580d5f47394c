import { createRequire } from 'node:module';
import { isatty } from 'node:tty';
import { INVALID_TRACEID, trace } from '@opentelemetry/api';
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
 * Every line carries the active span's ids, so a log line leads to its trace. With the SDK
 * disabled every span carries all-zero ids (the SDK only makes valid ones, so this is all
 * isSpanContextValid's two regular expressions would find).
 */
function traceMixin(): Record<string, string> {
  const ctx = trace.getActiveSpan()?.spanContext();
  return ctx && ctx.traceId !== INVALID_TRACEID
    ? { trace_id: ctx.traceId, span_id: ctx.spanId }
    : {};
}

/**
 * pino's isoTime: the date and the second formatted once per second, the milliseconds appended.
 * At a thousand lines a second nearly every line has a millisecond of its own, and toISOString
 * cost about 0.9 µs a line (bench/findings.md, "The request path, line by line").
 */
let lastSecond = Number.NaN;
let secondPrefix = '';
export function isoTime(): string {
  const now = Date.now();
  const ms = now % 1000;
  const second = now - ms;
  if (second !== lastSecond) {
    lastSecond = second;
    // "YYYY-MM-DDTHH:MM:SS." of toISOString's fixed 24-character form.
    secondPrefix = `,"time":"${new Date(second).toISOString().slice(0, 20)}`;
  }
  return `${secondPrefix}${ms < 10 ? '00' : ms < 100 ? '0' : ''}${ms}Z"`;
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

/**
 * Writes the request line as logger.info(line, msg) does, through a child without redaction: every
 * field is the server's own, and the redaction pass cost a third of a cached menu page
 * (bench/findings.md, "The request line, measured again").
 */
export function requestLineWriter(
  logger: Logger,
  msg = 'request completed',
): (line: RequestLine) => void {
  // Fastify's stand-in when logging is off, or a test's own logger, may have no children.
  const lines = typeof logger.child === 'function' ? logger.child({}, { redact: [] }) : logger;
  return (line) => lines.info(line, msg);
}
