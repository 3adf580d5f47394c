import { describeError, UsageError } from './errors.js';
import type { Logger } from './logger.js';
import { setTelemetryLogger, shutdownTelemetry } from './telemetry.js';

export const ExitCode = { ok: 0, failure: 1, usage: 2 } as const;

/**
 * Runs a program's main function and exits: 0 on success, 2 on bad usage or configuration, 1 on
 * any other failure, with one clear line on stderr. Spans are flushed before exit, on failure too,
 * and telemetry's own warnings go through the program's logger.
 * The only place that calls process.exit.
 */
export async function runCli(
  program: string,
  main: () => Promise<number>,
  logger?: () => Logger | undefined,
): Promise<never> {
  const code = await runMain(program, main, logger);
  await shutdownTelemetry();
  process.exit(code);
}

/**
 * runCli without the exit: the exit code of main, or of the error it threw, said in one line.
 * For a launcher that runs programs in turn in its own process (npm start).
 */
export async function runMain(
  program: string,
  main: () => Promise<number>,
  logger?: () => Logger | undefined,
): Promise<number> {
  if (logger) setTelemetryLogger(logger);
  let code: number;
  try {
    code = await main();
  } catch (err) {
    code = err instanceof UsageError ? ExitCode.usage : ExitCode.failure;
    const message = describeError(err);
    logger?.()?.error({ exitCode: code }, message);
    process.stderr.write(`${program}: error: ${message}\n`);
    if (
      code === ExitCode.failure &&
      !(
        err instanceof Error && ['OperationalError', 'UsageError', 'ConfigError'].includes(err.name)
      )
    ) {
      // An unexpected error: keep its stack for the operator, after the one clear line.
      if (process.env.LOG_LEVEL === 'debug' || process.env.LOG_LEVEL === 'trace')
        process.stderr.write(`${(err as Error)?.stack ?? ''}\n`);
    }
  }
  return code;
}

export interface ParsedArgs {
  command: string | undefined;
  positionals: string[];
  flags: Record<string, string | boolean>;
}

/**
 * Splits argv into a command, positionals and --flags. Flags named in valued take a value
 * (--dir X or --dir=X); the others are booleans; an unknown flag is a usage error.
 */
export function parseArgs(
  argv: string[],
  valued: readonly string[],
  booleans: readonly string[],
): ParsedArgs {
  const flags: Record<string, string | boolean> = {};
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = arg.slice(2, eq === -1 ? undefined : eq);
      if (valued.includes(name)) {
        const value = eq === -1 ? argv[++i] : arg.slice(eq + 1);
        if (value === undefined || value === '') throw new UsageError(`--${name} needs a value`);
        flags[name] = value;
      } else if (booleans.includes(name) && eq === -1) {
        flags[name] = true;
      } else {
        throw new UsageError(`unknown option ${arg}`);
      }
    } else {
      positionals.push(arg);
    }
  }
  return { command: positionals.shift(), positionals, flags };
}
