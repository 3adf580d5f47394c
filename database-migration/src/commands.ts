import { parseArgs } from '@order-food/platform/cli';
import { createDatabase, type Database } from '@order-food/platform/database';
import { UsageError } from '@order-food/platform/errors';
import { createLogger, type Logger } from '@order-food/platform/logger';
import { inSpan } from '@order-food/platform/span';
import { startupContext } from '@order-food/platform/telemetry';
import { waitForDatabase } from '@order-food/platform/wait-for-database';
import { type MigrationConfig, parseMigrationConfig } from './config.js';
import { createMigrationFile } from './create.js';
import { readRecentRuns } from './history.js';
import { loadMigrations } from './migration-files.js';
import { assertConsistent } from './plan.js';
import { migrate } from './runner.js';
import { formatRuns, formatStatus, readPlan, statusEntries } from './status.js';
import { tracer } from './tracing.js';

export const usage = `usage: database-migration [command] [--dir DIR]

commands:
  migrate          apply pending migrations (the default)
  status [--json]  list every migration (applied, pending or changed) and the latest runs
                   with their error and trace id (--json: the migrations only)
  validate         check the files, and that applied ones are unchanged and present
  create NAME      write the next numbered migration file from a template

--dir DIR (or MIGRATIONS_DIR) names the migrations directory; default: the package's migrations/.
`;

const commands = ['migrate', 'status', 'validate', 'create'] as const;
type Command = (typeof commands)[number];

export interface CommandIo {
  env: Record<string, string | undefined>;
  stdout: NodeJS.WritableStream;
  /** Called with the logger once configuration is parsed, for the CLI's error line. */
  onLogger?: (logger: Logger) => void;
}

/** Runs one command line; returns the exit code. Errors propagate to the CLI's exit handling. */
export async function runCommand(argv: string[], io: CommandIo): Promise<number> {
  const args = parseArgs(argv, ['dir'], ['json', 'help']);
  if (args.flags.help || args.command === 'help') {
    io.stdout.write(usage);
    return 0;
  }
  const command = (args.command ?? 'migrate') as Command;
  if (!commands.includes(command))
    throw new UsageError(`unknown command "${args.command}" (${commands.join(', ')})`);
  const wanted = command === 'create' ? 1 : 0;
  if (args.positionals.length !== wanted)
    throw new UsageError(
      command === 'create'
        ? 'create needs exactly one NAME, e.g. create add_orders_note'
        : `${command} takes no arguments, got "${args.positionals.join(' ')}"`,
    );
  if (args.flags.json && command !== 'status')
    throw new UsageError('--json goes with the status command');

  const config = parseMigrationConfig(io.env, { dir: args.flags.dir as string | undefined });
  // stdout carries a command's result; migrate's result is its log.
  const logger = createLogger(
    'database-migration',
    config.logLevel,
    command === 'migrate' ? undefined : process.stderr,
  );
  io.onLogger?.(logger);

  if (command === 'create') {
    const path = await createMigrationFile(config.migrationsDir, args.positionals[0]!);
    io.stdout.write(`${path}\n`);
    return 0;
  }
  // A direct connection, when given, does what needs a session (the migration lock).
  const db = await createDatabase(config.directDatabase ?? config.database, {
    logger,
    applicationName: 'database-migration',
    max: 2,
  });
  try {
    if (command === 'migrate') {
      await migrate({ db, config, logger });
      return 0;
    }
    return await inSpan(
      tracer,
      `database-migration ${command}`,
      { 'migration.dir': config.migrationsDir },
      async () => {
        const files = await loadMigrations(config.migrationsDir);
        await waitForDatabase(db, { timeoutMs: config.dbWaitTimeoutMs, logger });
        if (command === 'status') return status(db, files, Boolean(args.flags.json), io);
        return validate(db, config, files, io);
      },
      { parent: startupContext() },
    );
  } finally {
    await db.close();
  }
}

async function status(
  db: Database,
  files: Awaited<ReturnType<typeof loadMigrations>>,
  json: boolean,
  io: CommandIo,
): Promise<number> {
  const entries = await readPlan(db, files);
  // --json stays the list of versions that scripts read; the runs are for people.
  io.stdout.write(
    json
      ? `${JSON.stringify(statusEntries(entries), null, 2)}\n`
      : formatStatus(entries) + formatRuns(await readRecentRuns(db, 5)),
  );
  return 0;
}

async function validate(
  db: Database,
  config: MigrationConfig,
  files: Awaited<ReturnType<typeof loadMigrations>>,
  io: CommandIo,
): Promise<number> {
  const entries = await readPlan(db, files);
  assertConsistent(entries, config.migrationsDir, 'invalid');
  const applied = entries.filter((e) => e.state === 'applied').length;
  io.stdout.write(
    `ok: ${files.length} migration file(s) in ${config.migrationsDir}, ${applied} applied, ${files.length - applied} pending\n`,
  );
  return 0;
}
