/** Bad command line or configuration: the CLI exits 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** A malformed or missing environment variable: the CLI exits 2. */
export class ConfigError extends UsageError {
  override name = 'ConfigError';
}

/** An expected failure with a message that is already clear for the operator: the CLI exits 1. */
export class OperationalError extends Error {
  override name = 'OperationalError';
}

const networkCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
]);

/** SQLSTATE classes meaning the server is not (yet) usable, not that the query was wrong. */
const unavailableStates = new Set([
  '57P01',
  '57P02',
  '57P03',
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
  '53300',
]);

/** True when an error means the database could not be reached or went away (retry later, 503). */
export function isConnectionError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const e = err as Error & { code?: string; errors?: unknown[] };
  // Class 08 is a connection exception, including what a pooler (PgBouncer: 08P01) answers when
  // it cannot give out a server connection.
  if (
    e.code &&
    (networkCodes.has(e.code) || unavailableStates.has(e.code) || e.code.startsWith('08'))
  )
    return true;
  if (Array.isArray(e.errors) && e.errors.some(isConnectionError)) return true;
  return /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|Connection ended|Cannot use a pool after calling end|terminating connection/i.test(
    e.message,
  );
}

/** One line describing an error without stack or internals. */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const e = err as Error & { code?: string; errors?: unknown[] };
    if (!e.message && Array.isArray(e.errors) && e.errors.length > 0)
      return describeError(e.errors[0]);
    return e.code && !e.message.includes(e.code) ? `${e.message} (${e.code})` : e.message;
  }
  // Several failures at once (the tracing SDK reports a flush's as an array): the first says why.
  if (Array.isArray(err) && err.length > 0) return describeError(err[0]);
  if (typeof err === 'object' && err !== null) {
    // Thrown objects that are not Errors (PGlite's file system throws { name, errno }).
    const o = err as { name?: unknown; message?: unknown; code?: unknown; errno?: unknown };
    if (typeof o.message === 'string' && o.message !== '') return o.message;
    // An error copied field by field ({ stack }): its first line is the message.
    const stack = (err as { stack?: unknown }).stack;
    if (typeof stack === 'string' && stack !== '')
      return stack.split('\n')[0]!.replace(/^Error: /, '');
    const name = typeof o.name === 'string' && o.name !== '' ? o.name : undefined;
    const detail = [
      ...(typeof o.code === 'string' ? [o.code] : []),
      ...(typeof o.errno === 'number' ? [`errno ${o.errno}`] : []),
    ].join(', ');
    if (name !== undefined || detail !== '')
      return detail === '' ? name! : `${name ?? 'error'} (${detail})`;
    try {
      return JSON.stringify(err) ?? String(err);
    } catch {
      return String(err);
    }
  }
  return String(err);
}
