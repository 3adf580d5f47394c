/**
 * The pod sequence on one machine, in one process: database-migration, then database-load, then
 * the API, each only after the previous one finished with 0; a failing step stops the sequence with
 * its exit code and its one error line. Without DATABASE_URL all three use one embedded PGlite in
 * .data/, opened once (opening it is most of a step's start-up). ENVIRONMENT defaults to
 * development here, as in `npm run token`; nowhere else.
 *
 * One start is one trace, as in a pod: a fresh POD_UID gives the derived start-up trace, with a
 * "pod start" root over migration and load, and each step's top span under it. A TRACEPARENT given
 * by the caller is used instead.
 */
import { randomUUID } from 'node:crypto';
import { enableCompileCache } from 'node:module';
import { fileURLToPath } from 'node:url';
import { trace } from '@opentelemetry/api';
import { runMain } from '@order-food/platform/cli';
import { parseDatabaseTarget } from '@order-food/platform/config';
import { createDatabase, type Database } from '@order-food/platform/database';
import { markLauncher } from '@order-food/platform/entry';
import { describeError } from '@order-food/platform/errors';
import { createLogger, type Logger } from '@order-food/platform/logger';
import type { ProgramContext } from '@order-food/platform/program';
import { inSpan } from '@order-food/platform/span';
import {
  endPodStart,
  shutdownTelemetry,
  startTelemetry,
  startupContext,
} from '@order-food/platform/telemetry';
import { serveFlags } from '../order-food/src/serve-flags.js';

type Step = 'database-migration' | 'database-load' | 'order-food';

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
markLauncher();
const holding = holdEmbeddedDatabase();
holding.catch(() => undefined);
// The API's code loads meanwhile too (the migration and the load are small beside it).
const api = import('../order-food/src/server.js');
api.catch(() => undefined);

// One process, one resource: its spans carry service.name order-food (OTEL_SERVICE_NAME wins).
await startTelemetry('order-food', {
  ...process.env,
  POD_START_SPAN: process.env.POD_START_SPAN ?? 'true',
});

let hold: Database | undefined;
void holding.then(
  (db) => {
    hold = db;
  },
  () => undefined,
);

/** Runs one step as its program would run (runCli's exit codes and lines), without exiting. */
function step(name: Step, run: (program: ProgramContext) => Promise<number>): Promise<number> {
  let logger: Logger | undefined;
  const tracer = trace.getTracer(`@order-food/${name}`);
  const program: ProgramContext = {
    useLogger: (l) => {
      logger = l;
    },
    topSpan: (spanName, attributes, fn) =>
      inSpan(tracer, spanName, attributes, fn, { parent: startupContext() }),
  };
  // Its lines out before the next step's (a logger batches them for up to a quarter second).
  return runMain(
    name,
    () => run(program),
    () => logger,
  ).finally(() => logger?.flush());
}

async function stop(code: number): Promise<never> {
  await hold?.close().catch(() => undefined);
  await shutdownTelemetry();
  process.exit(code);
}

async function stopAfter(name: Step, code: number): Promise<void> {
  if (code === 0) return;
  process.stderr.write(`npm start: ${name} exited ${code}; the steps after it did not run\n`);
  await stop(code);
}

await stopAfter(
  'database-migration',
  await step('database-migration', async (program) => {
    await holding;
    const { runCommand } = await import('../database-migration/src/commands.js');
    return runCommand(['migrate'], {
      env: process.env,
      stdout: process.stdout,
      onLogger: program.useLogger,
    });
  }),
);

await stopAfter(
  'database-load',
  await step('database-load', async (program) => {
    const { main } = await import('../database-load/src/cli.js');
    return main(program, ['load']);
  }),
);
endPodStart();

const { main: serve } = await api;
await stop(await step('order-food', (program) => serve(program, argv)));
