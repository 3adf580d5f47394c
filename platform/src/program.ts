import { type Attributes, type Span, trace } from '@opentelemetry/api';
import { runMain } from './cli.js';
import type { CommonConfig, DatabaseTarget } from './config.js';
import { createDatabase, type Database, type DatabaseOptions } from './database.js';
import { createLogger, type Logger } from './logger.js';
import { inSpan } from './span.js';
import { shutdownTelemetry, startTelemetry, startupContext } from './telemetry.js';

type Env = Record<string, string | undefined>;
export type ProgramDatabaseOptions = Omit<DatabaseOptions, 'logger' | 'applicationName'>;

/** What a configuration parser returns for --help: the text is printed and the program exits 0. */
export interface ProgramHelp {
  readonly help: string;
}

export const help = (text: string): ProgramHelp => ({ help: text });

/** What the program shape reads from a program's parsed configuration. */
export interface ProgramSettings {
  readonly logLevel: CommonConfig['logLevel'];
  /** stdout carries the command's result (a report, JSON, a path): the log goes to stderr. */
  readonly logToStderr?: boolean;
  /** The span run runs in, under the start-up trace; none when the program makes its own. */
  readonly topSpan?: { readonly name: string; readonly attributes: Attributes };
  /** The database run works on: opened in the top span, closed when run ends. */
  readonly connect?: { readonly target: DatabaseTarget; readonly options?: ProgramDatabaseOptions };
}

export interface ProgramContext<C> {
  readonly config: C;
  readonly logger: Logger;
  /** The database of config.connect; undefined when the configuration names none. */
  readonly db: Database | undefined;
  /** The top span of config.topSpan, if any. */
  readonly span: Span | undefined;
  /** Opens another database under the program's name and logger; closed when run ends if still open. */
  openDatabase(target: DatabaseTarget, options?: ProgramDatabaseOptions): Promise<Database>;
  /** A span under the start-up trace that the program ends itself (the API's start, at readiness). */
  startSpan(name: string, attributes: Attributes): Span;
}

export interface ProgramDefinition<C extends ProgramSettings> {
  name: string;
  /** Reads the arguments and the environment, once; a UsageError or ConfigError exits 2. */
  config(argv: readonly string[], env: Env): C | ProgramHelp;
  /** The program's work; its result is the exit code, a thrown error exits 1 or 2 (runMain). */
  run(program: ProgramContext<C>): Promise<number>;
}

export interface Program {
  readonly name: string;
  /**
   * Runs the program to its end and returns its exit code, spans flushed, without exiting: a
   * launcher may run several in one process, one after another.
   */
  main(argv?: readonly string[], env?: Env): Promise<number>;
  /**
   * What the program's entry file does: main with the process's arguments, then process.exit
   * with its code. Does nothing in a launcher's process (inLauncher): there the file only defines
   * the program, and the launcher calls main.
   */
  runAsEntry(): Promise<void>;
}

let launcher = false;

/**
 * Called by a launcher that runs programs one after another in its own process, before it imports
 * their entry files: the entries then leave running (and exiting) to it.
 */
export function inLauncher(): void {
  launcher = true;
}

/** Whether this process is a launcher's (inLauncher), which may run other programs after this one. */
export function launchedInProcess(): boolean {
  return launcher;
}

/**
 * The one shape of all three programs: telemetry starts inside the error handling (a failure
 * there is one clear line and an exit code, like any other), then the configuration is parsed,
 * the logger made, the database opened, run called in the top span; databases are closed and
 * spans flushed before the exit code is returned.
 */
export function defineProgram<C extends ProgramSettings>(
  definition: ProgramDefinition<C>,
): Program {
  const { name } = definition;
  const main = async (
    argv: readonly string[] = process.argv.slice(2),
    env: Env = process.env,
  ): Promise<number> => {
    let logger: Logger | undefined;
    const code = await runMain(
      name,
      () => start(definition, argv, env, (l) => (logger = l)),
      () => logger,
    );
    await shutdownTelemetry();
    return code;
  };
  return {
    name,
    main,
    runAsEntry: async () => {
      if (!launcher) process.exit(await main());
    },
  };
}

async function start<C extends ProgramSettings>(
  definition: ProgramDefinition<C>,
  argv: readonly string[],
  env: Env,
  useLogger: (logger: Logger) => void,
): Promise<number> {
  const { name } = definition;
  await startTelemetry(name, env);
  const parsed = definition.config(argv, env);
  if ('help' in parsed) {
    process.stdout.write(parsed.help);
    return 0;
  }
  const config = parsed;
  const logger = createLogger(
    name,
    config.logLevel,
    config.logToStderr ? process.stderr : undefined,
  );
  useLogger(logger);
  const tracer = trace.getTracer(`@order-food/${name}`);
  // What run still holds open when it ends is closed then; what run is closing itself (a server's
  // bounded graceful close) is its own to wait for.
  const opened: (() => Promise<void>)[] = [];
  const openDatabase = async (target: DatabaseTarget, options: ProgramDatabaseOptions = {}) => {
    const db = await createDatabase(target, { ...options, logger, applicationName: name });
    opened.push(closeOnce(db));
    return db;
  };
  const work = async (span: Span | undefined): Promise<number> => {
    try {
      const db = config.connect
        ? await openDatabase(config.connect.target, config.connect.options)
        : undefined;
      return await definition.run({
        config,
        logger,
        db,
        span,
        openDatabase,
        startSpan: (spanName, attributes) =>
          tracer.startSpan(spanName, { attributes }, startupContext(env)),
      });
    } finally {
      await Promise.all(opened.map((closeLeft) => closeLeft().catch(() => undefined)));
    }
  };
  const top = config.topSpan;
  if (!top) return work(undefined);
  return inSpan(tracer, top.name, top.attributes, work, { parent: startupContext(env) });
}

/**
 * Makes db.close safe to call more than once (the program, the menu cache, the shape); returns
 * what closes db if nobody has started closing it yet.
 */
function closeOnce(db: Database): () => Promise<void> {
  let closing: Promise<void> | undefined;
  const close = db.close.bind(db);
  db.close = () => {
    closing ??= close();
    return closing;
  };
  return async () => {
    if (closing === undefined) await db.close();
  };
}
