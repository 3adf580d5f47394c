#!/usr/bin/env node
/**
 * The order-food API process: the server listens at once (/health answers) while the database is
 * waited for in the background (/ready says 503 until it answers at a supported schema version).
 * SIGTERM turns /ready to 503, keeps serving for the drain delay, then closes connections and the
 * pool and exits 0; a second signal exits at once.
 */
import { describeError } from '@order-food/platform/errors';
import { defineProgram, type ProgramContext } from '@order-food/platform/program';
import { openServer } from './app.js';
import { type ApiConfig, parseApiCommand } from './config.js';
import { printExamples } from './examples.js';
import { becomeReady, drain, StartSpan } from './lifecycle.js';
import { Metrics } from './metrics.js';
import { type SetupMetrics, startSetupMetrics } from './setup-metrics.js';

const signalExitCodes: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };

async function run(program: ProgramContext<ApiConfig>): Promise<number> {
  const { config, logger: log } = program;
  if (config.jwt.isDevelopmentSecret)
    log.warn(
      'JWT_SECRET is not set: tokens are signed with the fixed development secret (ENVIRONMENT=development); set JWT_SECRET anywhere else',
    );
  const start = new StartSpan(
    program.startSpan('order-food start', {
      'db.target': config.database.kind,
      'server.port': config.port,
    }),
  );
  const metrics = new Metrics({ version: config.serviceVersion, revision: config.revision });
  const { db, databaseAnswered, server } = await start
    .within(() => openServer(program, metrics))
    .catch((err: unknown) => {
      start.end(err);
      throw err;
    });

  let setupMetrics: SetupMetrics | undefined;
  let stopping: Promise<number> | undefined;
  const stop = (reason: string, code: number) => {
    start.end(new Error(`shut down before ready: ${reason}`));
    stopping ??= drain(config, server, db, log, reason, code, () => setupMetrics?.stop());
    return stopping;
  };
  let signalled!: (code: Promise<number>) => void;
  const finished = new Promise<number>((resolve) => (signalled = resolve));
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting at once');
      process.exit(signalExitCodes[signal] ?? 1);
    }
    signalled(stop(signal, 0));
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  try {
    await server.listen({ port: config.port, host: config.host });
    start.span.setAttribute('startup.listening', true);
  } catch (err) {
    start.end(err);
    throw err;
  }
  void start.within(() =>
    becomeReady(config, databaseAnswered, server, log, start.span).then(
      () => {
        start.end();
        if (stopping) return;
        setupMetrics = startSetupMetrics({ db, metrics, logger: log });
        if (config.printExamples) void printExamples(db, server, config);
      },
      (err: unknown) => {
        start.end(err);
        if (stopping) return;
        log.error({ error: describeError(err) }, 'cannot start: the database cannot be used');
        process.stderr.write(`order-food: error: ${describeError(err)}\n`);
        server.lifecycle.shuttingDown = true;
        stopping = server.close().then(
          () => 1,
          () => 1,
        );
        signalled(stopping);
      },
    ),
  );
  return finished;
}

/** The program; a launcher in one process (inLauncher) imports it and calls main. */
export const orderFood = defineProgram({ name: 'order-food', config: parseApiCommand, run });

await orderFood.runAsEntry();
