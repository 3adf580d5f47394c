import {
  type Attributes,
  context,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import type { QueryObserver } from './database.js';

const tracer = trace.getTracer('@order-food/platform/database');

const operationPattern = /^\s*(?:--[^\n]*\n\s*)*([A-Za-z]+)/;

const operations = new Map<string, string>();

/** SELECT, INSERT, WITH … from the statement text (remembered per text: statements repeat). */
export function operationOf(text: string): string {
  let operation = operations.get(text);
  if (operation === undefined) {
    operation = operationPattern.exec(text)?.[1]?.toUpperCase() ?? 'QUERY';
    // A service runs a bounded set of statement texts; the bound only guards against one that
    // builds them from values.
    if (operations.size >= 512) operations.clear();
    operations.set(text, operation);
  }
  return operation;
}

export interface SpanTarget {
  namespace: string;
  address?: string;
  port?: number;
}

/**
 * What a statement reports when it ends: its duration to the observer, its outcome to its span.
 * Made before the statement is sent (report()); ok() or failed() is called once when it ends.
 */
export class StatementReport {
  constructor(
    readonly operation: string,
    readonly observer: QueryObserver | undefined,
    readonly started: number,
    readonly span: Span | undefined,
  ) {}

  ok(): void {
    this.observer?.(this.operation, (performance.now() - this.started) / 1000, true);
    this.span?.end();
  }

  failed(err: unknown): void {
    this.observer?.(this.operation, (performance.now() - this.started) / 1000, false);
    const span = this.span;
    if (!span) return;
    const e = err as Error & { code?: string };
    span.recordException(e);
    span.setStatus({ code: SpanStatusCode.ERROR, message: e.message });
    if (e.code) span.setAttribute('db.response.status_code', e.code);
    span.setAttribute('error.type', e.code ?? e.name);
    span.end();
  }
}

const nothingToReport = new StatementReport('', undefined, 0, undefined);

/**
 * A client span per statement, only under a recording parent: unsampled requests and background
 * work pay nothing. The statement text is recorded, parameter values never are.
 */
export function report(
  target: SpanTarget,
  text: string,
  observer: QueryObserver | undefined,
): StatementReport {
  const parent = trace.getSpan(context.active());
  const recording = parent?.isRecording() === true;
  if (!recording && !observer) return nothingToReport;
  const operation = operationOf(text);
  let span: Span | undefined;
  if (recording) {
    const attributes: Attributes = {
      'db.system.name': 'postgresql',
      'db.operation.name': operation,
      'db.namespace': target.namespace,
      'db.query.text': text.length > 2000 ? `${text.slice(0, 2000)}…` : text,
    };
    if (target.address) attributes['server.address'] = target.address;
    if (target.port) attributes['server.port'] = target.port;
    span = tracer.startSpan(operation, { kind: SpanKind.CLIENT, attributes });
  }
  return new StatementReport(operation, observer, observer ? performance.now() : 0, span);
}

/** run() under report(): for the PGlite adapter and checked-out pg connections. */
export async function traced<T>(
  target: SpanTarget,
  text: string,
  observer: QueryObserver | undefined,
  run: () => Promise<T>,
): Promise<T> {
  const statement = report(target, text, observer);
  try {
    const result = await run();
    statement.ok();
    return result;
  } catch (err) {
    statement.failed(err);
    throw err;
  }
}
