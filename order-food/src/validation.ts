import { findTextFault } from '@order-food/platform/text';
import { Ajv, type Options, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';
import { undecodableParameter } from './query-string.js';

const common: Options = {
  // Unknown properties are refused, never silently dropped: a body naming id, userId, status,
  // totalCents or role where they do not belong is a client error, not a no-op.
  removeAdditional: false,
  useDefaults: true,
  allErrors: false,
  // The route schemas are TypeBox constants: checking each against the JSON Schema meta-schema
  // meant compiling the meta-schema in both instances at every start (about 30 ms of CPU). Strict
  // mode still refuses an unknown keyword, format or type when a schema compiles.
  validateSchema: false,
};

function build(options: Options): Ajv {
  const ajv = new Ajv({ ...common, ...options });
  addFormats.default(ajv);
  return ajv;
}

/** Query strings, path parameters and headers arrive as text: "20" may stand for 20. */
const textParts = build({ coerceTypes: 'array' });
/** A JSON body has types of its own: false is not "false", "5" is not 5. */
const bodies = build({ coerceTypes: false });

/** Fastify's names of the request parts, as the problems name them ("querystring/q"). */
type Part = 'body' | 'querystring' | 'params' | 'headers';

/** A 400 like a schema failure (the error handler lists it under errors), for text. */
function textError(part: Part, path: string, problem: string): Error {
  const error = new Error(`${part}${path === '/' ? '' : path} ${problem}`) as Error & {
    validation: unknown[];
  };
  error.validation = [{ instancePath: path === '/' ? '' : path, message: problem, params: {} }];
  return error;
}

type Checked = ((data: unknown, context?: unknown) => boolean | { error: Error }) & {
  errors?: ValidateFunction['errors'];
  schemaEnv?: unknown;
};

/**
 * Every string a client sends through a route's query, path parameters, headers or JSON body
 * passes here before the schema: text PostgreSQL cannot store (U+0000, lone surrogates) and query
 * text that is not percent-encoded UTF-8 are a 400 naming the field, whatever the route. The
 * decoded contents of cursors are checked where they are decoded (cursor.ts).
 */
function checkText(part: Part, validate: ValidateFunction): Checked {
  const checked: Checked = (data, context) => {
    if (part === 'querystring' && data !== null && typeof data === 'object') {
      const name = (data as { [undecodableParameter]?: string })[undecodableParameter];
      if (name !== undefined)
        return {
          error: textError(part, `/${name}`, 'is not valid percent-encoded UTF-8'),
        };
    }
    const fault = findTextFault(data);
    if (fault) return { error: textError(part, fault.path, fault.problem) };
    if (validate(data, context as never)) return true;
    checked.errors = validate.errors;
    return false;
  };
  // Fastify passes the parent object to validators that have one, so Ajv can coerce a root value.
  checked.schemaEnv = (validate as { schemaEnv?: unknown }).schemaEnv;
  return checked;
}

/**
 * Fastify's one validator coerces every part alike, so a body with {"name": false} or
 * {"priceCents": "5"} would pass as "false" and 5. Bodies are validated without coercion.
 */
export const validatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) =>
  checkText(
    (httpPart ?? 'body') as Part,
    (httpPart === 'body' ? bodies : textParts).compile(schema as object),
  ) as ReturnType<FastifySchemaCompiler<unknown>>;
