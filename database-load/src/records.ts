import {
  type ColumnRecord,
  columnObject,
  Delivery,
  maxOrderLines,
  orderStatuses,
  productFields,
  Quantity,
  Sku,
  type Status,
  userFields,
} from '@order-food/platform/model';
import { textProblem } from '@order-food/platform/text';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { type Static, Type } from 'typebox';

/**
 * The records of a data set's files, checked by Ajv against the data model's schemas: products
 * and users are the model's fields by column; an order names its user by email and its products
 * by sku. A failure names the field and says what is wrong in words, for DataSetError.
 */

export type ProductRecord = ColumnRecord<typeof productFields>;
export type UserRecord = ColumnRecord<typeof userFields>;

const OrderItemRecord = Type.Object(
  { sku: Sku, quantity: Quantity },
  { additionalProperties: false },
);

const OrderRecordSchema = Type.Object(
  {
    external_ref: Type.String({ minLength: 1, maxLength: 200 }),
    user_email: userFields.email,
    status: Type.Optional(Type.Enum(orderStatuses, { type: 'string', default: 'pending' })),
    /** ISO 8601; left out for "now". */
    created_at: Type.Optional(Type.String({ maxLength: 40 })),
    items: Type.Array(OrderItemRecord, { minItems: 1, maxItems: maxOrderLines }),
    /** As the API takes it: {address, note?}; left out for none. */
    delivery: Type.Optional(Delivery),
  },
  { additionalProperties: false },
);

export type OrderRecord = Omit<Static<typeof OrderRecordSchema>, 'status' | 'created_at'> & {
  status: Static<typeof Status>;
  /** ISO 8601, or null for "now". */
  created_at: string | null;
};

export type Fail = (field: string | undefined, detail: string) => never;

let ajv: Ajv | undefined;

function compile(schema: object): ValidateFunction {
  if (!ajv) {
    // verbose: errors carry their schema, whose limits the messages quote.
    ajv = new Ajv({ useDefaults: true, verbose: true, validateSchema: false });
    addFormats.default(ajv, ['email']);
  }
  return ajv.compile(schema);
}

function show(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** "/items/0/quantity" as items[0].quantity. */
function fieldOf(path: string): string {
  return path
    .split('/')
    .slice(1)
    .map((p, i) => (/^\d+$/.test(p) ? `[${p}]` : i === 0 ? p : `.${p}`))
    .join('');
}

function valueAt(obj: unknown, path: string): unknown {
  let v = obj;
  for (const p of path.split('/').slice(1)) v = (v as Record<string, unknown>)[p];
  return v;
}

const typeWords: Record<string, string> = {
  string: 'a string',
  integer: 'an integer',
  boolean: 'true or false',
};

/** The first schema error in the words the loader's messages use. */
function describe(e: ErrorObject, record: unknown): [string | undefined, string] {
  const field = fieldOf(e.instancePath) || undefined;
  const v = valueAt(record, e.instancePath);
  const s = e.parentSchema as Record<string, unknown>;
  switch (e.keyword) {
    case 'required': {
      const missing = (e.params as { missingProperty: string }).missingProperty;
      return [field ? `${field}.${missing}` : missing, 'is missing'];
    }
    case 'additionalProperties': {
      const extra = (e.params as { additionalProperty: string }).additionalProperty;
      const known = Object.keys((s.properties ?? {}) as object).join(', ');
      return [field ? `${field}.${extra}` : extra, `is not a known field (expected ${known})`];
    }
    case 'type': {
      if (s.type === 'array') return [field, `must be a non-empty array, got ${show(v)}`];
      if (s.type === 'object') return [field, `must be an object, got ${show(v)}`];
      return [field, `must be ${typeWords[s.type as string] ?? s.type}, got ${show(v)}`];
    }
    case 'minLength':
    case 'maxLength':
      return [
        field,
        s.minLength === undefined
          ? `must be at most ${s.maxLength} characters`
          : `must be ${s.minLength} to ${s.maxLength} characters, got ${(v as string).length}`,
      ];
    case 'minimum':
      return [field, `must be ${s.minimum === 0 ? 'non-negative' : `>= ${s.minimum}`}, got ${v}`];
    case 'maximum':
      return [field, `must be at most ${s.maximum}, got ${v}`];
    case 'enum':
      return [field, `must be one of ${(s.enum as string[]).join(', ')}, got ${show(v)}`];
    case 'pattern':
      return [field, `must match ${s.pattern}${s.description ? ` (${s.description})` : ''}`];
    case 'format':
      return [field, `is not ${s.format === 'email' ? 'an email address' : s.format}: ${show(v)}`];
    case 'minItems':
      return [field, 'must be a non-empty array'];
    case 'maxItems':
      return [field, `must have at most ${s.maxItems} entries, got ${(v as unknown[]).length}`];
    default:
      return [field, e.message ?? 'is not valid'];
  }
}

/** Text PostgreSQL cannot store (U+0000, lone surrogates), in any string of the record. */
function checkText(value: unknown, field: string, fail: Fail): void {
  if (typeof value === 'string') {
    const problem = textProblem(value);
    if (problem !== undefined) fail(field, problem);
  } else if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) checkText(value[i], `${field}[${i}]`, fail);
  } else if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) checkText(v, field ? `${field}.${k}` : k, fail);
  }
}

/** A null field counts as left out, so its default applies. */
function dropNulls(obj: Record<string, unknown>): void {
  for (const key of Object.keys(obj)) if (obj[key] === null) delete obj[key];
}

/** Compiled on first use: commands that read no records (status, --help) do not pay for it. */
function checker<T>(schema: object): (obj: Record<string, unknown>, fail: Fail) => T {
  let validate: ValidateFunction | undefined;
  return (obj, fail) => {
    validate ??= compile(schema);
    dropNulls(obj);
    checkText(obj, '', fail);
    if (!validate(obj)) {
      const [field, detail] = describe(validate.errors![0]!, obj);
      fail(field, detail);
    }
    return obj as T;
  };
}

export const checkProduct = checker<ProductRecord>(columnObject(productFields));
export const checkUser = checker<UserRecord>(columnObject(userFields));
export const checkOrder = checker<Static<typeof OrderRecordSchema>>(OrderRecordSchema);
