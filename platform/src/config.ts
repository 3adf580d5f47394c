import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { ConfigError } from './errors.js';

type Env = Record<string, string | undefined>;

function raw(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

export function envString(env: Env, name: string, fallback: string): string;
export function envString(env: Env, name: string): string | undefined;
export function envString(env: Env, name: string, fallback?: string): string | undefined {
  return raw(env, name) ?? fallback;
}

export function envInt(
  env: Env,
  name: string,
  fallback: number,
  { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = {},
): number {
  const value = raw(env, name);
  if (value === undefined) return fallback;
  if (!/^-?\d+$/.test(value)) throw new ConfigError(`${name} must be an integer, got "${value}"`);
  const n = Number(value);
  if (n < min || n > max)
    throw new ConfigError(`${name} must be between ${min} and ${max}, got ${n}`);
  return n;
}

/** A duration in seconds, decimals allowed, returned in milliseconds. */
export function envSeconds(
  env: Env,
  name: string,
  fallbackSeconds: number,
  { min = 0, max = 86_400 } = {},
): number {
  const value = raw(env, name);
  if (value === undefined) return Math.round(fallbackSeconds * 1000);
  if (!/^\d+(\.\d+)?$/.test(value))
    throw new ConfigError(`${name} must be a number of seconds, got "${value}"`);
  const n = Number(value);
  if (n < min || n > max)
    throw new ConfigError(`${name} must be between ${min} and ${max} seconds, got ${n}`);
  return Math.round(n * 1000);
}

export function envNumber(
  env: Env,
  name: string,
  fallback: number,
  { min = -Infinity, max = Infinity } = {},
): number {
  const value = raw(env, name);
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || !/^-?\d+(\.\d+)?$/.test(value))
    throw new ConfigError(`${name} must be a number, got "${value}"`);
  if (n < min || n > max)
    throw new ConfigError(`${name} must be between ${min} and ${max}, got ${n}`);
  return n;
}

export function envBool(env: Env, name: string, fallback: boolean): boolean {
  const value = raw(env, name)?.toLowerCase();
  if (value === undefined) return fallback;
  if (['1', 'true', 'yes', 'on'].includes(value)) return true;
  if (['0', 'false', 'no', 'off'].includes(value)) return false;
  throw new ConfigError(`${name} must be true or false, got "${value}"`);
}

export function envEnum<T extends string>(
  env: Env,
  name: string,
  allowed: readonly T[],
  fallback: T,
): T {
  const value = raw(env, name);
  if (value === undefined) return fallback;
  const lower = value.toLowerCase();
  const match = allowed.find((a) => a === lower);
  if (!match) throw new ConfigError(`${name} must be one of ${allowed.join(', ')}, got "${value}"`);
  return match;
}

/**
 * A secret from NAME or from the file named by NAME_FILE (Kubernetes and compose secrets are
 * mounted files). Never logged.
 */
export function envSecret(env: Env, name: string): string | undefined {
  const file = raw(env, `${name}_FILE`);
  if (file !== undefined) {
    try {
      return readFileSync(file, 'utf8').trim();
    } catch (err) {
      throw new ConfigError(
        `${name}_FILE names ${file}, which cannot be read: ${(err as Error).message}`,
      );
    }
  }
  return raw(env, name);
}

export type DatabaseTarget =
  | { kind: 'postgres'; url: string; display: string }
  | { kind: 'pglite'; dataDir: string | undefined; display: string };

/**
 * DATABASE_URL: postgres:// or postgresql:// for a server; pglite:PATH for an embedded database
 * in PATH, pglite:memory for one in memory; unset for the embedded default in .data/pglite.
 * A password can also come from DATABASE_PASSWORD or DATABASE_PASSWORD_FILE.
 */
export function parseDatabaseTarget(env: Env): DatabaseTarget {
  const url = envSecret(env, 'DATABASE_URL');
  if (url === undefined) {
    const dataDir = envString(env, 'PGLITE_DATA_DIR', '.data/pglite');
    return { kind: 'pglite', dataDir, display: `embedded PGlite (${dataDir})` };
  }
  if (url.startsWith('pglite:')) {
    const path = url.slice('pglite:'.length).replace(/^\/\//, '');
    if (path === '')
      throw new ConfigError(
        'DATABASE_URL pglite: needs a path or "memory", e.g. pglite:.data/pglite',
      );
    const dataDir = path === 'memory' ? undefined : path;
    return { kind: 'pglite', dataDir, display: `embedded PGlite (${path})` };
  }
  return parsePostgresUrl(env, 'DATABASE_URL', url);
}

function parsePostgresUrl(
  env: Env,
  name: string,
  url: string,
): Extract<DatabaseTarget, { kind: 'postgres' }> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError(
      `${name} is not a valid URL (expected postgres://user:password@host:5432/database)`,
    );
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new ConfigError(
      `${name} must start with postgres:// or postgresql://, got ${parsed.protocol}//`,
    );
  }
  const password = envSecret(env, 'DATABASE_PASSWORD');
  if (password !== undefined && parsed.password === '')
    parsed.password = encodeURIComponent(password);
  const display = `postgres://${parsed.username ? `${decodeURIComponent(parsed.username)}@` : ''}${parsed.host}${parsed.pathname}`;
  return { kind: 'postgres', url: parsed.toString(), display };
}

/**
 * DATABASE_DIRECT_URL (or _FILE): a connection straight to PostgreSQL, for what needs a session
 * (the init programs' locks, LISTEN) when DATABASE_URL goes through a transaction pooler.
 */
export function parseDirectDatabaseTarget(
  env: Env,
): Extract<DatabaseTarget, { kind: 'postgres' }> | undefined {
  const url = envSecret(env, 'DATABASE_DIRECT_URL');
  return url === undefined ? undefined : parsePostgresUrl(env, 'DATABASE_DIRECT_URL', url);
}

export interface CommonConfig {
  readonly database: DatabaseTarget;
  /** DATABASE_DIRECT_URL: a session-capable connection when DATABASE_URL is pooled. */
  readonly directDatabase?: DatabaseTarget;
  /** How long to wait for the database to answer at start. */
  readonly dbWaitTimeoutMs: number;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** ENVIRONMENT as given; unset is production-like for every decision that depends on it. */
  readonly environment: string | undefined;
  readonly serviceVersion: string;
  /** Who runs this: the pod name in Kubernetes, else the host name. */
  readonly instance: string;
}

const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/**
 * The release these programs belong to: SERVICE_VERSION's default (the images set it from the
 * version they were built as). order-food/test/deploy/release.test.ts holds it to package.json.
 */
export const releaseVersion = '1.1.0';

export function parseCommonConfig(env: Env = process.env): CommonConfig {
  const direct = parseDirectDatabaseTarget(env);
  return Object.freeze({
    ...(direct ? { directDatabase: Object.freeze(direct) } : {}),
    database: Object.freeze(parseDatabaseTarget(env)),
    dbWaitTimeoutMs: envSeconds(env, 'DB_WAIT_TIMEOUT', 60, { min: 0, max: 3600 }),
    logLevel: envEnum(env, 'LOG_LEVEL', logLevels, 'info'),
    environment: envString(env, 'ENVIRONMENT'),
    serviceVersion: envString(env, 'SERVICE_VERSION', releaseVersion),
    instance: envString(env, 'POD_NAME') ?? envString(env, 'HOSTNAME') ?? hostname(),
  });
}
