import {
  type Attributes,
  type Context,
  context,
  type Span,
  SpanStatusCode,
  type Tracer,
} from '@opentelemetry/api';
import { describeError } from './errors.js';

export interface SpanOptions {
  /** The parent context; default the active one. */
  parent?: Context;
  /** Whether a thrown error marks the span failed; default every error. */
  failed?: (err: unknown) => boolean;
}

/** Runs fn in a new active span that records a failure and always ends. */
export function inSpan<T>(
  tracer: Tracer,
  name: string,
  attributes: Attributes,
  fn: (span: Span) => Promise<T>,
  options: SpanOptions = {},
): Promise<T> {
  const { parent = context.active(), failed } = options;
  return tracer.startActiveSpan(name, { attributes }, parent, async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      if (!failed || failed(err)) {
        span.recordException(err as Error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: describeError(err) });
      }
      throw err;
    } finally {
      span.end();
    }
  });
}
