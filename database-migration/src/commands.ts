import type { Database } from '@order-food/platform/database';
import type { ProgramContext } from '@order-food/platform/program';
import { waitForDatabase } from '@order-food/platform/wait-for-database';
import type { MigrationCommand } from './config.js';
import { createMigrationFile } from './create.js';
import { readRecentRuns } from './history.js';
import { loadMigrations, type MigrationFile } from './migration-files.js';
import { assertConsistent } from './plan.js';
import { formatRolloutPlan, rolloutPlan } from './rollout-plan.js';
import { migrate } from './runner.js';
import { formatRuns, formatStatus, readPlan, statusEntries } from './status.js';

/** Runs one parsed command line; returns the exit code. Errors go to the program's exit handling. */
export async function runMigrationCommand({
  config,
  logger,
  db,
}: ProgramContext<MigrationCommand>): Promise<number> {
  if (config.command === 'create') {
    const path = await createMigrationFile(config.migrationsDir, config.name!);
    process.stdout.write(`${path}\n`);
    return 0;
  }
  if (!db) throw new Error('database-migration: no database configured');
  if (config.command === 'migrate') {
    await migrate({ db, config, logger });
    return 0;
  }
  const files = await loadMigrations(config.migrationsDir);
  await waitForDatabase(db, { timeoutMs: config.dbWaitTimeoutMs, logger });
  if (config.command === 'status') return status(db, files, config.json);
  if (config.command === 'plan') return plan(db, config, files, config.json);
  return validate(db, config, files);
}

async function status(db: Database, files: MigrationFile[], json: boolean): Promise<number> {
  const entries = await readPlan(db, files);
  // --json stays the list of versions that scripts read; the runs are for people.
  process.stdout.write(
    json
      ? `${JSON.stringify(statusEntries(entries), null, 2)}\n`
      : formatStatus(entries) + formatRuns(await readRecentRuns(db, 5)),
  );
  return 0;
}

async function plan(
  db: Database,
  config: MigrationCommand,
  files: MigrationFile[],
  json: boolean,
): Promise<number> {
  const entries = await readPlan(db, files);
  // migrate would refuse to run at all: say so rather than plan what will not happen.
  assertConsistent(
    entries,
    config.migrationsDir,
    'migrate would refuse to run',
    config.serviceVersion,
  );
  const result = rolloutPlan(entries, config.statementLockTimeoutMs);
  process.stdout.write(json ? `${JSON.stringify(result, null, 2)}\n` : formatRolloutPlan(result));
  return 0;
}

async function validate(
  db: Database,
  config: MigrationCommand,
  files: MigrationFile[],
): Promise<number> {
  const entries = await readPlan(db, files);
  assertConsistent(entries, config.migrationsDir, 'invalid', config.serviceVersion);
  const applied = entries.filter((e) => e.state === 'applied').length;
  process.stdout.write(
    `ok: ${files.length} migration file(s) in ${config.migrationsDir}, ${applied} applied, ${files.length - applied} pending\n`,
  );
  return 0;
}
