/** Jaeger's OTLP/HTTP receiver, on by default since Jaeger 1.35 and in Jaeger 2. */
const jaegerOtlpPort = '4318';

const legacyCollector = /:14268(\/|$)|\/api\/traces\/?$/;
const otlpTracesPath = /\/v1\/traces\/?$/;

/** The traces URL under an OTLP/HTTP base URL. */
export function withTracesPath(base: string): string {
  return `${base.replace(/\/+$/, '')}/v1/traces`;
}

/** A URL fit for a log line: user and password left out. */
function display(url: URL): string {
  const copy = new URL(url);
  copy.username = '';
  copy.password = '';
  return copy.href;
}

export interface JaegerTraces {
  /** Where the traces go (validated as a URL by the caller). */
  readonly url: string;
  /** Set when a legacy collector URL was mapped to OTLP: one line saying what went where. */
  readonly note?: string;
}

/**
 * The traces URL for JAEGER_ENDPOINT. The seed writes Jaeger's legacy collector URL
 * (http://jaeger:14268/api/traces, Thrift over HTTP), which this service does not speak; every
 * Jaeger that still has that collector also receives OTLP/HTTP on port 4318 of the same host, so
 * such a URL is sent there. An OTLP URL (a base such as http://jaeger:4318, or one ending in
 * /v1/traces) is used as it is.
 */
export function jaegerTracesUrl(value: string): JaegerTraces {
  if (otlpTracesPath.test(value)) return { url: value };
  let parsed: URL | undefined;
  try {
    parsed = new URL(value);
  } catch {
    // Not a URL: the caller's check says so in its warning.
  }
  if (!parsed || !legacyCollector.test(value)) return { url: withTracesPath(value) };
  const mapped = new URL(parsed);
  mapped.port = jaegerOtlpPort;
  mapped.pathname = '/v1/traces';
  mapped.search = '';
  mapped.hash = '';
  return {
    url: mapped.href,
    note: `JAEGER_ENDPOINT=${display(parsed)} is Jaeger's legacy collector URL; sending traces over OTLP/HTTP to the same host's port ${jaegerOtlpPort}: ${display(mapped)}`,
  };
}
