import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { columnOf, isNullable, sqlTypeOf, tables } from '@order-food/platform/model';
import { createTestDatabase, type TestDatabase } from '@order-food/platform/testing/test-database';
import { type TSchema, Type } from 'typebox';
import { runMigration, withDatabase } from './helpers.js';

/**
 * The migrated database and the data model (platform/src/model.ts) must say the same: each
 * field's column, type, nullability and default, and every limit a CHECK constraint holds the
 * column to. A migration that changes a limit without the model, or the other way round, fails.
 */

interface Column {
  table_name: string;
  column_name: string;
  data_type: string;
  is_nullable: string;
  column_default: string | null;
}

interface Check {
  table_name: string;
  name: string;
  def: string;
}

interface Limits {
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  enum?: string[];
  pattern?: string;
}

const typeMaximum: Record<string, number> = {
  integer: 2_147_483_647,
  bigint: Number.MAX_SAFE_INTEGER,
};

/**
 * The limits the CHECK constraints of a table put on each column, read from
 * pg_get_constraintdef's text; a rule of another shape is reported, so none goes unchecked.
 */
function limitsOf(
  checks: Check[],
  emailColumns: Set<string>,
): {
  limits: Map<string, Limits>;
  unknown: string[];
} {
  const limits = new Map<string, Limits>();
  const unknown: string[] = [];
  const set = (column: string, key: keyof Limits, value: Limits[keyof Limits]) => {
    limits.set(column, { ...limits.get(column), [key]: value });
  };
  const emailRule = (m: string[]) => {
    if (!emailColumns.has(m[1]!)) unknown.push(m[0]!);
  };
  const rules: [RegExp, (m: string[]) => void][] = [
    [/\(length\((\w+)\) >= (\d+)\)/g, (m) => set(m[1]!, 'minLength', Number(m[2]))],
    [/\(length\((\w+)\) <= (\d+)\)/g, (m) => set(m[1]!, 'maxLength', Number(m[2]))],
    [/\((\w+) >= (-?\d+)\)/g, (m) => set(m[1]!, 'minimum', Number(m[2]))],
    [/\((\w+) > (-?\d+)\)/g, (m) => set(m[1]!, 'minimum', Number(m[2]) + 1)],
    [/\((\w+) <= (-?\d+)\)/g, (m) => set(m[1]!, 'maximum', Number(m[2]))],
    [/\((\w+) < (-?\d+)\)/g, (m) => set(m[1]!, 'maximum', Number(m[2]) - 1)],
    [
      /\((\w+) = ANY \(ARRAY\[([^\]]*)\]\)\)/g,
      (m) =>
        set(
          m[1]!,
          'enum',
          [...m[2]!.matchAll(/'([^']*)'::text/g)].map((v) => v[1]!),
        ),
    ],
    [/\((\w+) ~ '([^']*)'::text\)/g, (m) => set(m[1]!, 'pattern', m[2]!)],
    // An email column's format: one spelling (lower case) with a local part before the @.
    [/\((\w+) = lower\(\1\)\)/g, emailRule],
    [/\(POSITION\(\('@'::text\) IN \((\w+)\)\) > 1\)/g, emailRule],
  ];
  for (const { name, def } of checks) {
    let rest = def;
    for (const [pattern, take] of rules) {
      rest = rest.replace(pattern, (...args) => {
        take(args.slice(0, -2) as string[]);
        return '';
      });
    }
    if (rest.replace(/CHECK|AND|[\s()]/g, '') !== '') unknown.push(`${name}: ${def}`);
  }
  return { limits, unknown };
}

function modelLimits(schema: TSchema): Limits {
  const s = schema as Limits & { const?: unknown };
  const out: Limits = {};
  for (const key of ['minLength', 'maxLength', 'minimum', 'maximum', 'pattern'] as const)
    if (s[key] !== undefined) (out as Record<string, unknown>)[key] = s[key];
  if (s.enum !== undefined) out.enum = [...s.enum];
  return out;
}

/** How the database writes a default: 'x'::text, true, 0. */
function defaultText(value: unknown): string {
  return typeof value === 'string' ? `'${value}'::text` : String(value);
}

/** Every way the database and the given model tables disagree, in words. */
function disagreements(model: typeof tables, columns: Column[], checks: Check[]): string[] {
  const out: string[] = [];
  for (const [table, { fields }] of Object.entries(model)) {
    const entries = Object.entries(fields as Record<string, TSchema>);
    const emailColumns = new Set(
      entries
        .filter(([, s]) => (s as { format?: string }).format === 'email')
        .map(([k]) => columnOf(k)),
    );
    const { limits, unknown } = limitsOf(
      checks.filter((c) => c.table_name === table),
      emailColumns,
    );
    for (const u of unknown) out.push(`${table}: a CHECK the model does not state: ${u}`);
    const modelled = new Set(entries.map(([k]) => columnOf(k)));
    for (const column of limits.keys())
      if (!modelled.has(column))
        out.push(`${table}.${column}: limited by a CHECK, not in the model`);
    for (const [key, schema] of entries) {
      const name = `${table}.${columnOf(key)}`;
      const column = columns.find((c) => c.table_name === table && c.column_name === columnOf(key));
      if (!column) {
        out.push(`${name}: in the model, not in the database`);
        continue;
      }
      const type = sqlTypeOf(schema);
      if (column.data_type !== type)
        out.push(`${name}: ${column.data_type} in the database, ${type} in the model`);
      if (column.is_nullable !== (isNullable(schema) ? 'YES' : 'NO'))
        out.push(
          isNullable(schema)
            ? `${name}: NOT NULL in the database, optional in the model`
            : `${name}: nullable in the database, required in the model`,
        );
      const modelDefault = (schema as { default?: unknown }).default;
      if (modelDefault !== undefined && column.column_default !== defaultText(modelDefault))
        out.push(
          `${name}: default ${column.column_default} in the database, ${defaultText(modelDefault)} in the model`,
        );
      const db = limits.get(columnOf(key)) ?? {};
      const mine = modelLimits(schema);
      for (const k of ['minLength', 'maxLength', 'minimum', 'pattern'] as const)
        if (db[k] !== mine[k])
          out.push(`${name}: ${k} ${db[k]} in the database, ${mine[k]} in the model`);
      // Where no CHECK bounds a number, its column type does: the model may be stricter.
      const typeMax = typeMaximum[type];
      const maximumAgrees =
        db.maximum !== undefined
          ? db.maximum === mine.maximum
          : typeMax === undefined
            ? mine.maximum === undefined
            : mine.maximum !== undefined && mine.maximum <= typeMax;
      if (!maximumAgrees)
        out.push(
          `${name}: maximum ${db.maximum ?? typeMax} in the database, ${mine.maximum} in the model`,
        );
      if (JSON.stringify(db.enum?.toSorted()) !== JSON.stringify(mine.enum?.toSorted()))
        out.push(`${name}: values ${db.enum} in the database, ${mine.enum} in the model`);
    }
  }
  return out;
}

let tdb: TestDatabase;
let columns: Column[];
let checks: Check[];

before(async () => {
  tdb = await createTestDatabase('model');
  const r = await runMigration(tdb);
  assert.equal(r.code, 0, r.stderr);
  const names = Object.keys(tables);
  await withDatabase(tdb, async (db) => {
    columns = (
      await db.query<Column>(
        `SELECT table_name, column_name, data_type, is_nullable, column_default
           FROM information_schema.columns WHERE table_schema = 'public' AND table_name = ANY($1)`,
        [names],
      )
    ).rows;
    checks = (
      await db.query<Check>(
        `SELECT c.relname AS table_name, k.conname AS name, pg_get_constraintdef(k.oid) AS def
           FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
          WHERE k.contype = 'c' AND c.relname = ANY($1)`,
        [names],
      )
    ).rows;
  });
});

after(() => tdb?.drop());

test('the migrated schema and the data model agree', () => {
  assert.ok(checks.length > 0 && columns.length > 0);
  assert.deepEqual(disagreements(tables, columns, checks), []);
});

test('a limit changed on one side only is a disagreement', () => {
  const products = tables.products.fields;
  const changed = {
    ...tables,
    products: {
      ...tables.products,
      fields: {
        ...products,
        name: { ...products.name, maxLength: 201 },
        spiciness: products.priceCents,
      },
    },
    orders: {
      ...tables.orders,
      fields: {
        ...tables.orders.fields,
        // Required in the model while its column is still nullable: the contract step's
        // migration has to come first.
        deliveryAddress: Type.String({ minLength: 1, maxLength: 500 }),
        status: Type.Optional(tables.orders.fields.status),
      },
    },
  } as unknown as typeof tables;
  assert.deepEqual(disagreements(changed, columns, checks), [
    'products.name: maxLength 200 in the database, 201 in the model',
    'products.spiciness: in the model, not in the database',
    'orders.status: NOT NULL in the database, optional in the model',
    'orders.delivery_address: nullable in the database, required in the model',
  ]);
});
