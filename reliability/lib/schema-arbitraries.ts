import fc from 'fast-check';

/** The subset of JSON Schema the API's OpenAPI document uses. */
export interface Schema {
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  items?: Schema;
  minItems?: number;
  maxItems?: number;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  pattern?: string;
  format?: string;
  enum?: unknown[];
  const?: unknown;
  anyOf?: Schema[];
  oneOf?: Schema[];
  $ref?: string;
}

export type Resolve = (s: Schema) => Schema;

export function resolver(components: Record<string, Schema> = {}): Resolve {
  return (s) => {
    let out = s;
    for (let i = 0; out.$ref && i < 10; i++) {
      const name = out.$ref.split('/').pop() as string;
      out = components[name] ?? {};
    }
    return out;
  };
}

function typeOf(s: Schema): string | undefined {
  if (Array.isArray(s.type)) return s.type.find((t) => t !== 'null');
  if (s.type) return s.type;
  if (s.properties) return 'object';
  if (s.enum) return typeof s.enum[0];
  return undefined;
}

/** Values the schema accepts (used as the base that one mutation then breaks). */
export function valid(schema: Schema, resolve: Resolve): fc.Arbitrary<unknown> {
  const s = resolve(schema);
  const variants = s.anyOf ?? s.oneOf;
  if (variants) return fc.oneof(...variants.map((v) => valid(v, resolve)));
  if (s.const !== undefined) return fc.constant(s.const);
  if (s.enum) return fc.constantFrom(...s.enum);
  switch (typeOf(s)) {
    case 'object': {
      const props = s.properties ?? {};
      const required = new Set(s.required ?? []);
      const model: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [k, v] of Object.entries(props)) model[k] = valid(v, resolve);
      return fc.record(model, { requiredKeys: [...required].filter((k) => k in props) });
    }
    case 'array':
      return fc.array(valid(s.items ?? {}, resolve), {
        minLength: s.minItems ?? 0,
        maxLength: Math.max(s.minItems ?? 0, Math.min(s.maxItems ?? 3, 3)),
      });
    case 'integer':
      return fc.integer({
        min: s.minimum ?? -1000,
        max: Math.min(s.maximum ?? 1_000_000, 2 ** 31 - 1),
      });
    case 'number':
      return fc.double({ min: s.minimum ?? -1000, max: s.maximum ?? 1e6, noNaN: true });
    case 'boolean':
      return fc.boolean();
    case 'string': {
      if (s.format === 'uuid') return fc.uuid();
      if (s.format === 'email')
        return fc.emailAddress().filter((e) => e.length <= (s.maxLength ?? 254));
      if (s.pattern) return fc.stringMatching(new RegExp(s.pattern));
      return fc.string({ minLength: s.minLength ?? 0, maxLength: Math.min(s.maxLength ?? 30, 30) });
    }
    default:
      return fc.constant(null);
  }
}

const hostileStrings: string[] = [
  '',
  ' ',
  'null',
  'undefined',
  '\u0000',
  'a\u0000b',
  '\uFEFF',
  '\uD800',
  '👩‍👩‍👧‍👦🍣',
  '𝕏'.repeat(300),
  "'; DROP TABLE orders; --",
  '" OR 1=1 --',
  '../../../../etc/passwd',
  '%00',
  '%',
  '<script>alert(1)</script>',
  ['$', '{jndi:ldap://127.0.0.1/a}'].join(''),
  '{{7*7}}',
  'x'.repeat(10_000),
  '9'.repeat(400),
  '-0',
  '1e309',
  'NaN',
  'Infinity',
];

const hostileNumbers: unknown[] = [
  -1,
  -(2 ** 31) - 1,
  2 ** 31,
  2 ** 53 + 1,
  1e308,
  -1e308,
  0.5,
  1.0000001,
  Number.MAX_SAFE_INTEGER,
];

/** A value of another kind than the schema asks for, or one out of its bounds. */
export function invalidValue(schema: Schema, resolve: Resolve): fc.Arbitrary<unknown> {
  const s = resolve(schema);
  const t = typeOf(s);
  const options: fc.Arbitrary<unknown>[] = [
    fc.constant(null),
    fc.constant({}),
    fc.constant([]),
    fc.constant({ $gt: '' }),
  ];
  if (t !== 'string') options.push(fc.constantFrom(...hostileStrings), fc.string());
  if (t !== 'integer' && t !== 'number') options.push(fc.constantFrom(...hostileNumbers));
  if (t !== 'boolean') options.push(fc.boolean());
  if (t === 'string') {
    if (s.maxLength !== undefined) options.push(fc.constant('x'.repeat(s.maxLength + 1)));
    if ((s.minLength ?? 0) > 0) options.push(fc.constant(''));
    if (s.format === 'uuid')
      options.push(
        fc.constantFrom(
          'not-a-uuid',
          '00000000-0000-0000-0000-00000000000g',
          '%00',
          'a'.repeat(37),
        ),
      );
    if (s.format === 'email')
      options.push(fc.constantFrom('no-at-sign', '@', 'a@', `${'a'.repeat(250)}@x.io`));
    if (s.pattern)
      options.push(fc.constantFrom('lower case', '-LEADING', 'X'.repeat(70), '\u0000'));
    if (s.enum || s.anyOf)
      options.push(fc.constantFrom('not-a-valid-value', 'PENDING', ' pending'));
  }
  if (t === 'integer' || t === 'number') {
    if (s.minimum !== undefined) options.push(fc.constant(s.minimum - 1));
    if (s.maximum !== undefined) options.push(fc.constant(s.maximum + 1));
    options.push(fc.constantFrom(0.5, 1e308, -1e308, 2 ** 53 + 1));
  }
  if (t === 'array') {
    if (s.maxItems !== undefined)
      options.push(fc.constant(Array.from({ length: s.maxItems + 1 }, () => ({}))));
    if ((s.minItems ?? 0) > 0) options.push(fc.constant([]));
  }
  return fc.oneof(...options);
}

/** Nested arrays or objects this deep. */
export function deepNesting(depth: number, kind: 'array' | 'object'): string {
  return kind === 'array'
    ? `${'['.repeat(depth)}${']'.repeat(depth)}`
    : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
}

type Path = (string | number)[];

/** Every place in a value where a mutation can go, with the schema that governs it. */
function places(
  value: unknown,
  schema: Schema,
  resolve: Resolve,
  path: Path = [],
): { path: Path; schema: Schema }[] {
  const s = resolve(schema);
  const out: { path: Path; schema: Schema }[] = [{ path, schema: s }];
  if (value && typeof value === 'object' && !Array.isArray(value) && s.properties) {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      const sub = s.properties[k];
      if (sub) out.push(...places(v, sub, resolve, [...path, k]));
    }
  } else if (Array.isArray(value) && s.items) {
    value.forEach((v, i) => {
      out.push(...places(v, s.items as Schema, resolve, [...path, i]));
    });
  }
  return out;
}

function setAt(root: unknown, path: Path, value: unknown): unknown {
  if (path.length === 0) return value;
  const copy: unknown = structuredClone(root);
  let cur = copy as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) cur = cur[key] as Record<string | number, unknown>;
  cur[path[path.length - 1] as string | number] = value;
  return copy;
}

/** Property names that must never be accepted where the schema does not list them. */
const forbiddenKeys = [
  'id',
  'userId',
  'status',
  'totalCents',
  'role',
  'priceCents',
  'createdAt',
  '__proto__',
  'constructor',
  'isAdmin',
];

export type Mutation = { body: unknown; what: string };

/**
 * A body that breaks the schema in exactly one place: a wrong type or bound, a missing required
 * property, or a property that is not allowed.
 */
export function invalidBody(schema: Schema, resolve: Resolve): fc.Arbitrary<Mutation> {
  return valid(schema, resolve).chain((base) => {
    const spots = places(base, schema, resolve);
    return fc.nat({ max: spots.length - 1 }).chain((i) => {
      const spot = spots[i] as { path: Path; schema: Schema };
      const where = spot.path.join('.') || '(body)';
      const kinds: fc.Arbitrary<Mutation>[] = [
        invalidValue(spot.schema, resolve)
          .filter((v) => !sameType(v, spot.schema, resolve))
          .map((v) => ({ body: setAt(base, spot.path, v), what: `wrong value at ${where}` })),
      ];
      const s = resolve(spot.schema);
      if (s.properties && s.additionalProperties === false) {
        const extra = forbiddenKeys.filter((k) => !(k in (s.properties ?? {})));
        kinds.push(
          fc.constantFrom(...extra).map((k) => {
            const obj = structuredClone(readAt(base, spot.path)) as Record<string, unknown>;
            Object.defineProperty(obj, k, {
              value: k === '__proto__' ? { isAdmin: true } : 'x',
              enumerable: true,
            });
            return { body: setAt(base, spot.path, obj), what: `extra property ${k} at ${where}` };
          }),
        );
      }
      if (s.properties && (s.required ?? []).length > 0) {
        kinds.push(
          fc.constantFrom(...(s.required as string[])).map((k) => {
            const obj = { ...(readAt(base, spot.path) as Record<string, unknown>) };
            delete obj[k];
            return { body: setAt(base, spot.path, obj), what: `missing ${k} at ${where}` };
          }),
        );
      }
      return fc.oneof(...kinds);
    });
  });
}

function readAt(root: unknown, path: Path): unknown {
  let cur = root as Record<string | number, unknown>;
  for (const key of path) cur = cur[key] as Record<string | number, unknown>;
  return cur;
}

/** Whether a value would pass the schema anyway (then it is not a mutation). */
function sameType(value: unknown, schema: Schema, resolve: Resolve): boolean {
  const s = resolve(schema);
  const t = typeOf(s);
  if (s.enum) return s.enum.includes(value);
  if (s.anyOf ?? s.oneOf) return false;
  switch (t) {
    case 'string':
      return (
        typeof value === 'string' &&
        value.length >= (s.minLength ?? 0) &&
        value.length <= (s.maxLength ?? Number.POSITIVE_INFINITY) &&
        (!s.pattern || new RegExp(s.pattern).test(value)) &&
        s.format === undefined &&
        !value.includes('\u0000')
      );
    case 'integer':
    case 'number':
      return (
        typeof value === 'number' &&
        (t === 'number' || Number.isInteger(value)) &&
        value >= (s.minimum ?? Number.NEGATIVE_INFINITY) &&
        value <= (s.maximum ?? Number.POSITIVE_INFINITY)
      );
    case 'boolean':
      return typeof value === 'boolean';
    default:
      return false;
  }
}

/**
 * A body the schema accepts with one of its strings replaced by text: where the text is valid,
 * the body still carries a property no schema allows, so it is refused (and nothing is stored)
 * either way; what refuses it tells whether the text was checked first.
 */
export function textInBody(
  schema: Schema,
  resolve: Resolve,
  text: string,
  refuseAnyway: boolean,
): fc.Arbitrary<Mutation> {
  return valid(schema, resolve).chain((base) => {
    const spots = places(base, schema, resolve).filter(
      (p) => typeOf(resolve(p.schema)) === 'string' && p.path.length > 0,
    );
    const finish = (body: unknown, where: string): Mutation => {
      if (refuseAnyway && body && typeof body === 'object' && !Array.isArray(body))
        (body as Record<string, unknown>).notInAnySchema = true;
      return { body, what: `text at ${where}` };
    };
    if (spots.length === 0)
      return fc.constant(finish(setAt(base, ['notInAnySchema'], text), 'notInAnySchema'));
    return fc.nat({ max: spots.length - 1 }).map((i) => {
      const spot = spots[i] as { path: Path; schema: Schema };
      return finish(setAt(base, spot.path, text), spot.path.join('.'));
    });
  });
}
