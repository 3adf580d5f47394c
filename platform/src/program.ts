import { type Attributes, type Span, trace } from '@opentelemetry/api';
import { runCli } from './cli.js';
import type { Logger } from './logger.js';
import { inSpan } from './span.js';
import { startTelemetry, startupContext } from './telemetry.js';

export interface ProgramContext {
  /** The program's logger, once its configuration is parsed: the error line goes through it. */
  useLogger(logger: Logger): void;
  /** Runs fn in the program's top span, under the start-up trace (TRACEPARENT or the pod's). */
  topSpan<T>(name: string, attributes: Attributes, fn: (span: Span) => Promise<T>): Promise<T>;
}

export interface ProgramDefinition {
  name: string;
  /** The program's work; its result is the exit code, a thrown error exits 1 or 2 (runCli). */
  run(program: ProgramContext): Promise<number>;
}

/**
 * Runs a program the one way all three run: telemetry starts inside the error handling (a failure
 * there is one clear line and an exit code, like any other), spans are flushed before the exit.
 */
export function defineProgram(definition: ProgramDefinition): Promise<never> {
  const { name } = definition;
  const tracer = trace.getTracer(`@order-food/${name}`);
  let logger: Logger | undefined;
  return runCli(
    name,
    async () => {
      await startTelemetry(name);
      return definition.run({
        useLogger: (l) => {
          logger = l;
        },
        topSpan: (spanName, attributes, fn) =>
          inSpan(tracer, spanName, attributes, fn, { parent: startupContext() }),
      });
    },
    () => logger,
  );
}
