import { fileURLToPath } from 'node:url';
import {
  type CommonConfig,
  envInt,
  envSeconds,
  envString,
  parseCommonConfig,
} from '@order-food/platform/config';

type Env = Record<string, string | undefined>;

/** The package's own migrations/, one level above src/ and dist/ alike. */
export const defaultMigrationsDir = fileURLToPath(new URL('../migrations/', import.meta.url));

export interface MigrationConfig extends CommonConfig {
  readonly migrationsDir: string;
  /** How long a runner waits for the advisory lock another runner holds. */
  readonly lockWaitTimeoutMs: number;
  /**
   * Through a transaction pooler the lock is a lease row: how long it outlives a runner that died
   * holding it.
   */
  readonly lockLeaseMs: number;
  /** lock_timeout of migration statements: DDL gives up instead of queueing behind traffic. */
  readonly statementLockTimeoutMs: number;
  /** statement_timeout of migration statements; 0 means none. */
  readonly statementTimeoutMs: number;
  /** How many times a migration that hit lock_timeout is tried again. */
  readonly lockRetries: number;
  /** First pause before such a retry; it doubles each time. */
  readonly lockRetryDelayMs: number;
}

/** Parsed once at start; --dir wins over MIGRATIONS_DIR. A malformed value names its variable. */
export function parseMigrationConfig(
  env: Env = process.env,
  overrides: { dir?: string | undefined } = {},
): MigrationConfig {
  return Object.freeze({
    ...parseCommonConfig(env),
    migrationsDir: overrides.dir ?? envString(env, 'MIGRATIONS_DIR') ?? defaultMigrationsDir,
    lockWaitTimeoutMs: envSeconds(env, 'MIGRATION_LOCK_TIMEOUT', 300, { min: 0, max: 86_400 }),
    lockLeaseMs: envSeconds(env, 'MIGRATION_LOCK_LEASE', 30, { min: 1, max: 3600 }),
    statementLockTimeoutMs: envSeconds(env, 'MIGRATION_STATEMENT_LOCK_TIMEOUT', 5, {
      min: 0,
      max: 3600,
    }),
    statementTimeoutMs: envSeconds(env, 'MIGRATION_STATEMENT_TIMEOUT', 900, {
      min: 0,
      max: 86_400,
    }),
    lockRetries: envInt(env, 'MIGRATION_LOCK_RETRIES', 3, { min: 0, max: 100 }),
    lockRetryDelayMs: envSeconds(env, 'MIGRATION_LOCK_RETRY_DELAY', 2, { min: 0, max: 600 }),
  });
}
