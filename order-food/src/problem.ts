import { STATUS_CODES } from 'node:http';

/**
 * An error with a client-facing RFC 9457 problem: thrown by routes and services, turned into
 * application/problem+json by the central error handler. detail is shown to the client as is.
 */
export class HttpProblem extends Error {
  override name = 'HttpProblem';
  readonly statusCode: number;
  readonly type: string;
  readonly title: string;
  readonly extensions: Record<string, unknown>;
  readonly headers: Record<string, string>;

  constructor(
    statusCode: number,
    detail: string,
    options: {
      type?: string;
      title?: string;
      extensions?: Record<string, unknown>;
      headers?: Record<string, string>;
    } = {},
  ) {
    super(detail);
    this.statusCode = statusCode;
    this.type = options.type ? `urn:order-food:problem:${options.type}` : 'about:blank';
    this.title = options.title ?? STATUS_CODES[statusCode] ?? 'Error';
    this.extensions = options.extensions ?? {};
    this.headers = options.headers ?? {};
  }
}

export const badRequest = (detail: string, type?: string) =>
  new HttpProblem(400, detail, type ? { type } : {});
export const unauthorized = (detail: string) =>
  new HttpProblem(401, detail, { headers: { 'www-authenticate': 'Bearer realm="order-food"' } });
export const forbidden = (detail: string) => new HttpProblem(403, detail);
export const notFound = (detail: string) => new HttpProblem(404, detail);
export const conflict = (detail: string, type?: string) =>
  new HttpProblem(409, detail, type ? { type } : {});
