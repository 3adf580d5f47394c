import { fileURLToPath } from 'node:url';
import { parseArgs } from '@order-food/platform/cli';
import {
  type CommonConfig,
  envInt,
  envSeconds,
  envString,
  parseCommonConfig,
} from '@order-food/platform/config';
import { UsageError } from '@order-food/platform/errors';
import { help, type ProgramHelp, type ProgramSettings } from '@order-food/platform/program';

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

export const usage = `usage: database-migration [command] [--dir DIR]

commands:
  migrate          apply pending migrations (the default)
  status [--json]  list every migration (applied, pending or changed) and the latest runs
                   with their error and trace id (--json: the migrations only)
  validate         check the files, and that applied ones are unchanged and present
  plan [--json]    the pending migrations' statements and the table locks each takes
  create NAME      write the next numbered migration file from a template

--dir DIR (or MIGRATIONS_DIR) names the migrations directory; default: the package's migrations/.
`;

const commands = ['migrate', 'status', 'validate', 'plan', 'create'] as const;

export interface MigrationCommand extends MigrationConfig, ProgramSettings {
  readonly command: (typeof commands)[number];
  /** create's NAME. */
  readonly name: string | undefined;
  readonly json: boolean;
}

/**
 * The command line and the environment, read once: usage is checked before the environment, and
 * nothing here reaches the database. create needs none; the others one (direct when given: the
 * migration lock needs a session).
 */
export function parseMigrationCommand(
  argv: readonly string[],
  env: Env = process.env,
): MigrationCommand | ProgramHelp {
  const args = parseArgs([...argv], ['dir'], ['json', 'help']);
  if (args.flags.help || args.command === 'help') return help(usage);
  const command = (args.command ?? 'migrate') as MigrationCommand['command'];
  if (!commands.includes(command))
    throw new UsageError(`unknown command "${args.command}" (${commands.join(', ')})`);
  const wanted = command === 'create' ? 1 : 0;
  if (args.positionals.length !== wanted)
    throw new UsageError(
      command === 'create'
        ? 'create needs exactly one NAME, e.g. create add_orders_note'
        : `${command} takes no arguments, got "${args.positionals.join(' ')}"`,
    );
  if (args.flags.json && command !== 'status' && command !== 'plan')
    throw new UsageError('--json goes with the status and plan commands');
  const config = parseMigrationConfig(env, { dir: args.flags.dir as string | undefined });
  return {
    ...config,
    command,
    name: args.positionals[0],
    json: args.flags.json === true,
    // stdout carries a command's result; migrate's result is its log.
    logToStderr: command !== 'migrate',
    ...(command === 'create'
      ? {}
      : { connect: { target: config.directDatabase ?? config.database, options: { max: 2 } } }),
    // migrate's span is the runner's own (migration.execute).
    ...(command !== 'migrate' && command !== 'create'
      ? {
          topSpan: {
            name: `database-migration ${command}`,
            attributes: { 'migration.dir': config.migrationsDir },
          },
        }
      : {}),
  };
}
