/**
 * The table locks a migration statement takes, after PostgreSQL's documentation ("Explicit
 * Locking", and the lock each ALTER TABLE form takes). A small table by statement kind, read from
 * the statement's text: what `plan` shows an operator before a rollout.
 */

/** PostgreSQL's table lock modes, weakest first. */
export const lockModes = [
  'ACCESS SHARE',
  'ROW SHARE',
  'ROW EXCLUSIVE',
  'SHARE UPDATE EXCLUSIVE',
  'SHARE',
  'SHARE ROW EXCLUSIVE',
  'EXCLUSIVE',
  'ACCESS EXCLUSIVE',
] as const;
export type LockMode = (typeof lockModes)[number];

/** The conflict table of the documentation: the modes each mode waits for and blocks. */
const conflicts: Record<LockMode, readonly LockMode[]> = {
  'ACCESS SHARE': ['ACCESS EXCLUSIVE'],
  'ROW SHARE': ['EXCLUSIVE', 'ACCESS EXCLUSIVE'],
  'ROW EXCLUSIVE': ['SHARE', 'SHARE ROW EXCLUSIVE', 'EXCLUSIVE', 'ACCESS EXCLUSIVE'],
  'SHARE UPDATE EXCLUSIVE': [
    'SHARE UPDATE EXCLUSIVE',
    'SHARE',
    'SHARE ROW EXCLUSIVE',
    'EXCLUSIVE',
    'ACCESS EXCLUSIVE',
  ],
  SHARE: [
    'ROW EXCLUSIVE',
    'SHARE UPDATE EXCLUSIVE',
    'SHARE ROW EXCLUSIVE',
    'EXCLUSIVE',
    'ACCESS EXCLUSIVE',
  ],
  'SHARE ROW EXCLUSIVE': [
    'ROW EXCLUSIVE',
    'SHARE UPDATE EXCLUSIVE',
    'SHARE',
    'SHARE ROW EXCLUSIVE',
    'EXCLUSIVE',
    'ACCESS EXCLUSIVE',
  ],
  EXCLUSIVE: [
    'ROW SHARE',
    'ROW EXCLUSIVE',
    'SHARE UPDATE EXCLUSIVE',
    'SHARE',
    'SHARE ROW EXCLUSIVE',
    'EXCLUSIVE',
    'ACCESS EXCLUSIVE',
  ],
  'ACCESS EXCLUSIVE': lockModes,
};

/** The application's traffic by the lock it takes: what a migration's lock can hold up. */
const traffic: [string, LockMode][] = [
  ['reads', 'ACCESS SHARE'],
  ['SELECT FOR UPDATE', 'ROW SHARE'],
  ['writes', 'ROW EXCLUSIVE'],
];

/** What a lock in this mode blocks while it is held (and while it waits in the queue). */
export function blocks(mode: LockMode): string[] {
  return traffic.filter(([, m]) => conflicts[mode].includes(m)).map(([what]) => what);
}

export interface TableLock {
  /** The table as the statement names it; a DROP INDEX names only the index. */
  readonly table: string;
  readonly mode: LockMode;
}

export interface StatementLocks {
  /** E.g. "ALTER TABLE ADD COLUMN", "CREATE INDEX CONCURRENTLY". */
  readonly kind: string;
  readonly locks: readonly TableLock[];
  /** false: a statement this table does not know; see the PostgreSQL documentation. */
  readonly known: boolean;
  /** What else it does while it holds the lock (a rewrite, a scan), when that matters. */
  readonly note?: string;
  /** The table a CREATE TABLE makes. */
  readonly creates?: string;
}

/** A table name as PostgreSQL resolves it: quoted parts as written, the others lower case. */
export function tableKey(table: string): string {
  return table
    .split('.')
    .map((part) =>
      part.startsWith('"') ? part.slice(1, -1).replaceAll('""', '"') : part.toLowerCase(),
    )
    .pop()!;
}

const name = String.raw`(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)(?:\.(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*))?`;
const names = String.raw`${name}(?:\s*,\s*${name})*`;
const re = (source: string) => new RegExp(source, 'i');

const strongest = (a: LockMode, b: LockMode) =>
  lockModes.indexOf(a) >= lockModes.indexOf(b) ? a : b;

/** One lock per table, the strongest, in order of first mention. */
export function mergeLocks(locks: readonly TableLock[]): TableLock[] {
  const byTable = new Map<string, LockMode>();
  for (const { table, mode } of locks)
    byTable.set(table, strongest(byTable.get(table) ?? 'ACCESS SHARE', mode));
  return [...byTable].map(([table, mode]) => ({ table, mode }));
}

function splitNames(list: string): string[] {
  return list.split(/\s*,\s*/).filter((n) => n !== '');
}

function referenced(text: string): TableLock[] {
  return [...text.matchAll(new RegExp(String.raw`\bREFERENCES\s+(${name})`, 'gi'))].map((m) => ({
    table: m[1]!,
    mode: 'SHARE ROW EXCLUSIVE' as const,
  }));
}

/** Splits at commas outside parentheses and quotes (the subcommands of one ALTER TABLE). */
function topLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote = '';
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === quote) quote = '';
    } else if (c === "'" || c === '"') quote = c;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  parts.push(text.slice(start).trim());
  return parts.filter((p) => p !== '');
}

const alterForms: [RegExp, string, LockMode, string?][] = [
  [
    /^ADD\s+(?:CONSTRAINT\s+\S+\s+)?FOREIGN\s+KEY\b/i,
    'ADD FOREIGN KEY',
    'SHARE ROW EXCLUSIVE',
    'checks every row while it holds the locks (NOT VALID, then VALIDATE CONSTRAINT, does not)',
  ],
  [
    /^ADD\s+(?:CONSTRAINT\s+\S+\s+)?(?:CHECK|UNIQUE|PRIMARY|EXCLUDE)\b/i,
    'ADD CONSTRAINT',
    'ACCESS EXCLUSIVE',
    'scans the table or builds an index while it holds the lock (NOT VALID or USING INDEX does not)',
  ],
  [/^VALIDATE\s+CONSTRAINT\b/i, 'VALIDATE CONSTRAINT', 'SHARE UPDATE EXCLUSIVE'],
  [
    /^ALTER\s+(?:COLUMN\s+)?\S+\s+(?:SET\s+DATA\s+)?TYPE\b/i,
    'ALTER COLUMN TYPE',
    'ACCESS EXCLUSIVE',
    'rewrites the table and its indexes while it holds the lock, unless the new type is binary compatible',
  ],
  [
    /^ALTER\s+(?:COLUMN\s+)?\S+\s+SET\s+NOT\s+NULL\b/i,
    'ALTER COLUMN SET NOT NULL',
    'ACCESS EXCLUSIVE',
    'scans the table while it holds the lock, unless a valid CHECK (col IS NOT NULL) proves it',
  ],
  [
    /^ALTER\s+(?:COLUMN\s+)?\S+\s+SET\s+STATISTICS\b/i,
    'ALTER COLUMN SET STATISTICS',
    'SHARE UPDATE EXCLUSIVE',
  ],
  [
    /^ALTER\s+(?:COLUMN\s+)?\S+\s+(SET|DROP)\s+DEFAULT\b/i,
    'ALTER COLUMN DEFAULT',
    'ACCESS EXCLUSIVE',
  ],
  [
    /^ALTER\s+(?:COLUMN\s+)?\S+\s+DROP\s+NOT\s+NULL\b/i,
    'ALTER COLUMN DROP NOT NULL',
    'ACCESS EXCLUSIVE',
  ],
  [/^(?:CLUSTER\s+ON|SET\s+WITHOUT\s+CLUSTER)\b/i, 'CLUSTER ON', 'SHARE UPDATE EXCLUSIVE'],
  [
    /^(?:ENABLE|DISABLE)\s+(?:ALWAYS\s+|REPLICA\s+)?TRIGGER\b/i,
    'ENABLE/DISABLE TRIGGER',
    'SHARE ROW EXCLUSIVE',
  ],
  [/^ATTACH\s+PARTITION\b/i, 'ATTACH PARTITION', 'SHARE UPDATE EXCLUSIVE'],
  [
    /^DETACH\s+PARTITION\b.*\bCONCURRENTLY\b/i,
    'DETACH PARTITION CONCURRENTLY',
    'SHARE UPDATE EXCLUSIVE',
  ],
  [/^ADD\b/i, 'ADD COLUMN', 'ACCESS EXCLUSIVE'],
  [/^DROP\s+CONSTRAINT\b/i, 'DROP CONSTRAINT', 'ACCESS EXCLUSIVE'],
  [/^DROP\b/i, 'DROP COLUMN', 'ACCESS EXCLUSIVE'],
];

function alterTable(table: string, rest: string): StatementLocks {
  if (/^RENAME\b/i.test(rest)) {
    const what = /^RENAME\s+(CONSTRAINT|TO)\b/i.exec(rest)?.[1]?.toUpperCase();
    const kind =
      what === 'TO'
        ? 'RENAME TABLE'
        : what === 'CONSTRAINT'
          ? 'RENAME CONSTRAINT'
          : 'RENAME COLUMN';
    return {
      kind: `ALTER TABLE ${kind}`,
      locks: [{ table, mode: 'ACCESS EXCLUSIVE' }],
      known: true,
    };
  }
  const kinds: string[] = [];
  const notes: string[] = [];
  const locks: TableLock[] = [];
  for (const sub of topLevel(rest)) {
    const form = alterForms.find(([pattern]) => pattern.test(sub));
    // Any other form: ACCESS EXCLUSIVE, the documentation's default for ALTER TABLE.
    const kind = form?.[1] ?? sub.split(/\s+/).slice(0, 2).join(' ').toUpperCase();
    const note = form
      ? form[3]
      : 'ACCESS EXCLUSIVE is the default of ALTER TABLE; a few forms take less';
    if (!kinds.includes(kind)) kinds.push(kind);
    // NOT VALID and USING INDEX skip the scan and the build the note warns of.
    const skipped = /\bNOT\s+VALID\b|\bUSING\s+INDEX\b/i.test(sub);
    if (note && !skipped && !notes.includes(note)) notes.push(note);
    locks.push({ table, mode: form?.[2] ?? 'ACCESS EXCLUSIVE' }, ...referenced(sub));
  }
  return {
    kind: `ALTER TABLE ${kinds.join(', ')}`,
    locks: mergeLocks(locks),
    known: true,
    ...(notes.length > 0 ? { note: notes.join('; ') } : {}),
  };
}

type Rule = [RegExp, (m: RegExpExecArray, code: string) => StatementLocks];

const one = (kind: string, table: string, mode: LockMode, note?: string): StatementLocks => ({
  kind,
  locks: [{ table, mode }],
  known: true,
  ...(note ? { note } : {}),
});
const each = (kind: string, list: string, mode: LockMode): StatementLocks => ({
  kind,
  locks: splitNames(list).map((table) => ({ table, mode })),
  known: true,
});
const none = (kind: string): StatementLocks => ({ kind, locks: [], known: true });

const rules: Rule[] = [
  [
    re(
      String.raw`^CREATE\s+(?:UNIQUE\s+)?INDEX\s+(CONCURRENTLY\s+)?(?:IF\s+NOT\s+EXISTS\s+)?(?:${name}\s+)?ON\s+(?:ONLY\s+)?(${name})`,
    ),
    (m) =>
      m[1]
        ? one('CREATE INDEX CONCURRENTLY', m[2]!, 'SHARE UPDATE EXCLUSIVE')
        : one('CREATE INDEX', m[2]!, 'SHARE', 'builds the whole index while it holds the lock'),
  ],
  [
    re(String.raw`^DROP\s+INDEX\s+(CONCURRENTLY\s+)?(?:IF\s+EXISTS\s+)?(${names})`),
    (m) =>
      each(
        m[1] ? 'DROP INDEX CONCURRENTLY' : 'DROP INDEX',
        splitNames(m[2]!)
          .map((i) => `table of index ${i}`)
          .join(','),
        m[1] ? 'SHARE UPDATE EXCLUSIVE' : 'ACCESS EXCLUSIVE',
      ),
  ],
  [
    re(String.raw`^REINDEX\s+(?:\([^)]*\)\s*)?(INDEX|TABLE)\s+(CONCURRENTLY\s+)?(${name})`),
    (m) => {
      const target = m[1]!.toUpperCase() === 'INDEX' ? `table of index ${m[3]}` : m[3]!;
      return m[2]
        ? one('REINDEX CONCURRENTLY', target, 'SHARE UPDATE EXCLUSIVE')
        : one(
            'REINDEX',
            target,
            'SHARE',
            'an index being rebuilt is locked ACCESS EXCLUSIVE: queries that would use it wait',
          );
    },
  ],
  [
    re(String.raw`^ALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?(${name})\s+([\s\S]*)$`),
    (m) => alterTable(m[1]!, m[2]!),
  ],
  [
    re(String.raw`^ALTER\s+INDEX\s+(?:IF\s+EXISTS\s+)?(${name})\s+RENAME\b`),
    (m) => one('ALTER INDEX RENAME', `index ${m[1]}`, 'SHARE UPDATE EXCLUSIVE'),
  ],
  [
    re(
      String.raw`^CREATE\s+(?:(?:GLOBAL\s+|LOCAL\s+)?(?:TEMP|TEMPORARY|UNLOGGED)\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(${name})`,
    ),
    (m, code) => ({
      kind: 'CREATE TABLE',
      creates: m[1]!,
      locks: mergeLocks(referenced(code)),
      known: !/\bPARTITION\s+OF\b/i.test(code),
    }),
  ],
  [
    re(String.raw`^DROP\s+TABLE\s+(?:IF\s+EXISTS\s+)?(${names})`),
    (m) => each('DROP TABLE', m[1]!, 'ACCESS EXCLUSIVE'),
  ],
  [
    re(String.raw`^TRUNCATE\s+(?:TABLE\s+)?(?:ONLY\s+)?(${names})`),
    (m) => each('TRUNCATE', m[1]!, 'ACCESS EXCLUSIVE'),
  ],
  [
    re(
      String.raw`^CREATE\s+(?:OR\s+REPLACE\s+)?(?:CONSTRAINT\s+)?TRIGGER\s+${name}\s[\s\S]*?\bON\s+(${name})`,
    ),
    (m) => one('CREATE TRIGGER', m[1]!, 'SHARE ROW EXCLUSIVE'),
  ],
  [
    re(String.raw`^DROP\s+TRIGGER\s+(?:IF\s+EXISTS\s+)?${name}\s+ON\s+(${name})`),
    (m) => one('DROP TRIGGER', m[1]!, 'ACCESS EXCLUSIVE'),
  ],
  [
    re(
      String.raw`^(?:WITH\b[\s\S]*?\b)?(INSERT\s+INTO|UPDATE|DELETE\s+FROM|MERGE\s+INTO)\s+(?:ONLY\s+)?(${name})`,
    ),
    (m) => {
      const verb = m[1]!.split(/\s+/)[0]!.toUpperCase();
      return one(
        verb,
        m[2]!,
        'ROW EXCLUSIVE',
        verb === 'INSERT'
          ? undefined
          : 'locks the rows it changes until the end of its transaction',
      );
    },
  ],
  [
    re(
      String.raw`^LOCK\s+(?:TABLE\s+)?(?:ONLY\s+)?(${names})(?:\s+IN\s+([A-Z ]+?)\s+MODE)?(?:\s+NOWAIT)?$`,
    ),
    (m) => {
      const mode = (m[2]?.toUpperCase().replace(/\s+/g, ' ') ?? 'ACCESS EXCLUSIVE') as LockMode;
      return lockModes.includes(mode)
        ? each('LOCK', m[1]!, mode)
        : { kind: 'LOCK', locks: [], known: false };
    },
  ],
  [
    re(String.raw`^REFRESH\s+MATERIALIZED\s+VIEW\s+(CONCURRENTLY\s+)?(${name})`),
    (m) =>
      m[1]
        ? one('REFRESH MATERIALIZED VIEW CONCURRENTLY', m[2]!, 'EXCLUSIVE')
        : one('REFRESH MATERIALIZED VIEW', m[2]!, 'ACCESS EXCLUSIVE'),
  ],
  [
    re(String.raw`^(?:VACUUM|ANALYZE)\b(?:\s*\([^)]*\))?\s*(${names})?$`),
    (m, code) => each(code.split(/\s/)[0]!.toUpperCase(), m[1] ?? '', 'SHARE UPDATE EXCLUSIVE'),
  ],
  // Objects that are not tables: no lock on the tables the application uses.
  [
    /^CREATE\s+(?:OR\s+REPLACE\s+)?(FUNCTION|PROCEDURE|TYPE|SEQUENCE|SCHEMA|DOMAIN|EXTENSION)\b/i,
    (m) => none(`CREATE ${m[1]!.toUpperCase()}`),
  ],
  [/^ALTER\s+TYPE\s+\S+\s+ADD\s+VALUE\b/i, () => none('ALTER TYPE ADD VALUE')],
  [/^(SET|RESET|SELECT)\b/i, (m) => none(m[1]!.toUpperCase())],
];

/** Comments out, whitespace collapsed: the statement as the patterns read it. */
export function normalize(code: string): string {
  return code.replace(/\s+/g, ' ').trim();
}

/** The locks one statement (comments already removed) takes. */
export function statementLocks(code: string): StatementLocks {
  const text = normalize(code);
  for (const [pattern, build] of rules) {
    const m = pattern.exec(text);
    if (m) return build(m, text);
  }
  return { kind: text.split(' ').slice(0, 2).join(' ').toUpperCase(), locks: [], known: false };
}
