/**
 * The pod sequence in one process: migration, load, then the API, each after the previous exited
 * 0 (a failure stops it with that step's code and line), on one embedded PGlite in .data/ opened
 * once unless DATABASE_URL is set. ENVIRONMENT defaults to development here only. One start is one
 * trace, as in a pod (a fresh POD_UID, or the caller's TRACEPARENT).
 */
import { randomUUID } from 'node:crypto';
import { enableCompileCache } from 'node:module';
import { fileURLToPath } from 'node:url';
import { parseDatabaseTarget } from '@order-food/platform/config';
import { createDatabase, type Database } from '@order-food/platform/database';
import { describeError } from '@order-food/platform/errors';
import { createLogger } from '@order-food/platform/logger';
import { inLauncher } from '@order-food/platform/program';
import { serveFlags } from '../order-food/src/serve-flags.js';

// V8's compiled code of the modules loaded below (the API, PGlite) kept for the next start.
enableCompileCache(fileURLToPath(new URL('../.data/compile-cache', import.meta.url)));

// A development run unless told otherwise: the API may then sign with the fixed development
// secret, listens on 127.0.0.1 only (HOST overrides), and prints example curl commands once
// ready; with no load balancer in front there is nothing to drain for on Ctrl-C.
process.env.ENVIRONMENT ??= 'development';
if (!process.env.TRACEPARENT) process.env.POD_UID ??= randomUUID();
process.env.ORDER_FOOD_PRINT_EXAMPLES = '1';
process.env.SHUTDOWN_DRAIN_DELAY ??= '0';

/**
 * The embedded database, opened once and held across the steps: each step's own open and close
 * then share it. Opening it is most of a start, so it begins now, beside loading the programs'
 * code; a failure is database-migration's, as when that step opens it itself.
 */
async function holdEmbeddedDatabase(): Promise<Database | undefined> {
  const target = parseDatabaseTarget(process.env);
  if (target.kind !== 'pglite' || !target.dataDir) return undefined;
  return createDatabase(target, {
    logger: createLogger('npm-start', 'warn', process.stderr),
    applicationName: 'npm start',
  });
}
const argv = process.argv.slice(2);
if (argv.includes('--help') || argv.includes('-h')) {
  process.stdout.write(
    'usage: npm start [-- --port N] [--host ADDRESS]\n\nmigration, then load, then the API, in one process (README.md)\n',
  );
  process.exit(0);
}
try {
  // --port and --host go to the API; anything else is refused before anything starts.
  serveFlags(argv);
} catch (err) {
  process.stderr.write(`npm start: error: ${describeError(err)}\n`);
  process.exit(2);
}

// The programs' modules are imported below to be run here, not to run themselves.
inLauncher();
// Opened beside loading the programs' code; a failure to open is database-migration's to report.
const held = holdEmbeddedDatabase().catch(() => undefined);
// The API's code loads meanwhile too (the migration and the load are small beside it).
const api = import('../order-food/src/server.js');
api.catch(() => undefined);

async function stop(code: number): Promise<never> {
  await (await held)?.close().catch(() => undefined);
  process.exit(code);
}

async function stopAfter(name: string, code: number): Promise<void> {
  if (code === 0) return;
  process.stderr.write(`npm start: ${name} exited ${code}; the steps after it did not run\n`);
  await stop(code);
}

// Each step runs as its image runs it (its exit code and lines, its spans flushed), without
// exiting; database-migration records the pod start span, as the first program of a pod does.
await held;
const { databaseMigration } = await import('../database-migration/src/cli.js');
await stopAfter('database-migration', await databaseMigration.main(['migrate']));
const { databaseLoad } = await import('../database-load/src/cli.js');
await stopAfter('database-load', await databaseLoad.main(['load']));
const { orderFood } = await api;
await stop(await orderFood.main(argv));
