/**
 * Holds responses to the OpenAPI document the API serves at /openapi.json: the status must be one
 * the operation documents, and the body must match that response's schema for its content type.
 */
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { HttpResponse } from './http.js';

interface MediaType {
  schema?: unknown;
}

interface ResponseObject {
  content?: Record<string, MediaType>;
}

interface Operation {
  responses?: Record<string, ResponseObject>;
}

export interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, unknown> };
}

const methods = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];

/** Rewrites local references so the schema resolves against the document added as `doc`. */
function rebase(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(rebase);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = k === '$ref' && typeof v === 'string' && v.startsWith('#') ? `doc${v}` : rebase(v);
    }
    return out;
  }
  return value;
}

export class Contract {
  readonly #ajv = new Ajv2020({ strict: false, allErrors: false, validateFormats: true });
  readonly #validators = new Map<string, ValidateFunction>();

  constructor(readonly doc: OpenApiDocument) {
    addFormats.default(this.#ajv);
    this.#ajv.addSchema({ $id: 'doc', components: doc.components ?? {} });
  }

  /** Every documented operation as "METHOD /path/{param}". */
  operations(): string[] {
    return Object.entries(this.doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops)
        .filter((m) => methods.includes(m))
        .map((m) => `${m.toUpperCase()} ${path}`),
    );
  }

  documentedStatuses(op: string): string[] {
    return Object.keys(this.#operation(op).responses ?? {});
  }

  /** What is wrong with the response to op, or undefined when it is as documented. */
  check(op: string, res: HttpResponse): string | undefined {
    const responses = this.#operation(op).responses ?? {};
    const key = String(res.status);
    const documented = responses[key] ?? responses[`${key[0]}XX`] ?? responses.default ?? undefined;
    if (!documented)
      return `status ${res.status} is not documented (documented: ${Object.keys(responses).join(', ')})`;
    const content = documented.content ?? {};
    if (Object.keys(content).length === 0)
      return res.body === '' ? undefined : `status ${res.status} documents no body, got one`;
    const type = String(res.headers['content-type'] ?? '')
      .split(';')[0]
      ?.trim()
      .toLowerCase();
    const media = type ? content[type] : undefined;
    if (!media)
      return `content type ${type || 'none'} is not documented for ${res.status} (documented: ${Object.keys(content).join(', ')})`;
    if (media.schema === undefined) return undefined;
    let body: unknown = res.body;
    if (type === 'application/json' || type?.endsWith('+json')) {
      try {
        body = JSON.parse(res.body);
      } catch {
        return `the ${type} body is not JSON: ${res.body.slice(0, 200)}`;
      }
    }
    const validate = this.#validator(`${op} ${key} ${type}`, media.schema);
    if (validate(body)) return undefined;
    const errors = (validate.errors ?? [])
      .slice(0, 3)
      .map((e) => `${e.instancePath || '/'} ${e.message}`)
      .join('; ');
    return `the ${res.status} body does not match its schema: ${errors}`;
  }

  #operation(op: string): Operation {
    const [method, path] = op.split(' ') as [string, string];
    const operation = this.doc.paths[path]?.[method.toLowerCase()];
    if (!operation) throw new Error(`${op} is not in the document`);
    return operation;
  }

  #validator(key: string, schema: unknown): ValidateFunction {
    let v = this.#validators.get(key);
    if (!v) {
      v = this.#ajv.compile(rebase(schema) as object);
      this.#validators.set(key, v);
    }
    return v;
  }
}
