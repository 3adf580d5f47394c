import {
  type CommonConfig,
  envBool,
  envInt,
  envSeconds,
  envSecret,
  envString,
  parseCommonConfig,
} from '@order-food/platform/config';
import { ConfigError } from '@order-food/platform/errors';
import { requiredSchemaVersion } from '@order-food/platform/model';
import { help, type ProgramHelp } from '@order-food/platform/program';
import { serveFlags, synopsis } from './serve-flags.js';

type Env = Record<string, string | undefined>;

/** Used only when ENVIRONMENT=development and no secret is given, so `npm start` needs no set-up. */
export const developmentJwtSecret = 'order-food-development-secret-do-not-use-in-production';

export interface ApiConfig extends CommonConfig {
  readonly port: number;
  readonly host: string;
  readonly jwt: {
    readonly secret: string;
    /** True when the fixed development secret is in use (one warning at start). */
    readonly isDevelopmentSecret: boolean;
    readonly ttlSeconds: number;
  };
  readonly http: {
    readonly bodyLimitBytes: number;
    readonly requestTimeoutMs: number;
    readonly connectionTimeoutMs: number;
    readonly keepAliveTimeoutMs: number;
  };
  readonly shutdown: {
    /** How long to keep serving after SIGTERM so load balancers stop sending traffic first. */
    readonly drainDelayMs: number;
    /** Bound on closing connections and the pool after the drain delay. */
    readonly timeoutMs: number;
  };
  readonly pool: {
    readonly max: number;
    readonly connectTimeoutMs: number;
    readonly idleTimeoutMs: number;
    readonly statementTimeoutMs: number;
    readonly queryTimeoutMs: number;
  };
  /** Bound on the bytes of the menu cache's bodies. */
  readonly menuCacheMaxBytes: number;
  /** How long a /ready answer is reused, so probes do not hammer the database. */
  readonly readyCacheMs: number;
  /** Lowest schema version (schema_migrations) this build works with: fixed by the build. */
  readonly minSchemaVersion: number;
  /** Print example curl commands with tokens once ready (set by `npm start`). */
  readonly printExamples: boolean;
  /** The build's revision (GIT_REVISION), for the build info metric. */
  readonly revision: string;
}

export const usage = `${synopsis}

Serves the order-food REST API (GET /health, /ready, /metrics, /api/*, /openapi.json, /docs).
--port and --host win over PORT and HOST.
Configured by the environment: PORT (8080), HOST (0.0.0.0; 127.0.0.1 in development),
DATABASE_URL (unset: embedded PGlite), JWT_SECRET (required unless ENVIRONMENT=development),
LOG_LEVEL, DB_WAIT_TIMEOUT, DB_POOL_MAX, SHUTDOWN_DRAIN_DELAY, SHUTDOWN_TIMEOUT and the standard
OTEL_* variables; see docs/DEPLOYMENT.md.
`;

/**
 * The command line and the environment, read once. --help loads the whole program and exits: the
 * images run it at build time to fill Node's compile cache.
 */
export function parseApiCommand(
  argv: readonly string[],
  env: Env = process.env,
): ApiConfig | ProgramHelp {
  if (argv.includes('--help') || argv.includes('-h')) return help(usage);
  return parseApiConfig({ ...env, ...serveFlags(argv) });
}

export function parseApiConfig(env: Env = process.env): ApiConfig {
  const common = parseCommonConfig(env);
  // Fail closed: only the exact word development (which `npm start` sets) allows the public
  // development secret; unset, "kubernetes", "compose" or a typo are treated as production.
  const development = env.ENVIRONMENT === 'development';
  const given = envSecret(env, 'JWT_SECRET');
  if (given === undefined && !development) {
    throw new ConfigError(
      `JWT_SECRET (or JWT_SECRET_FILE) is required when ENVIRONMENT is ${common.environment === undefined ? 'unset' : `"${common.environment}"`} (only ENVIRONMENT=development may use the development secret); set a random secret of at least 32 characters`,
    );
  }
  if (given !== undefined && given.length < 32 && !development) {
    throw new ConfigError('JWT_SECRET must be at least 32 characters long');
  }
  return Object.freeze({
    ...common,
    port: envInt(env, 'PORT', 8080, { min: 0, max: 65_535 }),
    // A development API signs with a public secret: reachable from this machine only, unless
    // HOST says otherwise.
    host: envString(env, 'HOST', development ? '127.0.0.1' : '0.0.0.0'),
    jwt: Object.freeze({
      secret: given ?? developmentJwtSecret,
      isDevelopmentSecret: given === undefined,
      ttlSeconds: envInt(env, 'JWT_TTL_SECONDS', 86_400, { min: 60, max: 31_536_000 }),
    }),
    http: Object.freeze({
      bodyLimitBytes: envInt(env, 'HTTP_BODY_LIMIT', 64 * 1024, {
        min: 1024,
        max: 10 * 1024 * 1024,
      }),
      requestTimeoutMs: envSeconds(env, 'HTTP_REQUEST_TIMEOUT', 30, { min: 1, max: 600 }),
      connectionTimeoutMs: envSeconds(env, 'HTTP_CONNECTION_TIMEOUT', 60, { min: 1, max: 3600 }),
      keepAliveTimeoutMs: envSeconds(env, 'HTTP_KEEP_ALIVE_TIMEOUT', 72, { min: 1, max: 3600 }),
    }),
    shutdown: Object.freeze({
      drainDelayMs: envSeconds(env, 'SHUTDOWN_DRAIN_DELAY', 5, { min: 0, max: 300 }),
      timeoutMs: envSeconds(env, 'SHUTDOWN_TIMEOUT', 25, { min: 1, max: 600 }),
    }),
    pool: Object.freeze({
      max: envInt(env, 'DB_POOL_MAX', 10, { min: 1, max: 200 }),
      connectTimeoutMs: envSeconds(env, 'DB_CONNECT_TIMEOUT', 3, { min: 0.1, max: 120 }),
      idleTimeoutMs: envSeconds(env, 'DB_IDLE_TIMEOUT', 30, { min: 1, max: 3600 }),
      statementTimeoutMs: envSeconds(env, 'DB_STATEMENT_TIMEOUT', 5, { min: 0.1, max: 600 }),
      queryTimeoutMs: envSeconds(env, 'DB_QUERY_TIMEOUT', 10, { min: 0.1, max: 600 }),
    }),
    menuCacheMaxBytes: envInt(env, 'MENU_CACHE_MAX_MB', 16, { min: 0, max: 1024 }) * 1024 * 1024,
    readyCacheMs: envSeconds(env, 'READY_CACHE', 1, { min: 0, max: 60 }),
    minSchemaVersion: requiredSchemaVersion['order-food'],
    printExamples: envBool(env, 'ORDER_FOOD_PRINT_EXAMPLES', false),
    revision: envString(env, 'GIT_REVISION', 'unknown'),
  });
}
