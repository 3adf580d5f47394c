import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { OperationalError, UsageError } from '@order-food/platform/errors';
import { checksum } from './checksum.js';
import { hasCode, locatedStatements, withoutLeadingComments } from './sql-statements.js';

/** NNNN_name.sql: the number is the version, applied in ascending order. */
export const fileNamePattern = /^(\d+)_([A-Za-z0-9][A-Za-z0-9_-]*)\.sql$/;

/** A header line that makes a file run outside a transaction (CREATE INDEX CONCURRENTLY). */
export const noTransactionDirective = '-- migrate:no-transaction';

export interface MigrationFile {
  readonly version: number;
  /** The part after the number, e.g. initial_schema. */
  readonly name: string;
  readonly fileName: string;
  readonly path: string;
  readonly sql: string;
  readonly checksum: string;
  readonly transactional: boolean;
  /** The statements, one by one, of a file that runs outside a transaction. */
  readonly statements: readonly string[];
  /** Indexes its CREATE INDEX statements name: checked valid after a non-transactional file. */
  readonly indexes: readonly string[];
}

const identifier = `(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)`;
const createIndex = new RegExp(
  String.raw`^CREATE\s+(?:UNIQUE\s+)?INDEX\s+(?:CONCURRENTLY\s+)?(?:IF\s+NOT\s+EXISTS\s+)?(?:((?!ON\b)${identifier}(?:\.${identifier})?)\s+)?ON\b`,
  'i',
);

/** Statements PostgreSQL refuses inside a transaction block ("cannot run inside a transaction"). */
const concurrently =
  /^(CREATE\s+(?:UNIQUE\s+)?INDEX|DROP\s+INDEX|REINDEX(?:\s*\([^)]*\))?\s+[A-Za-z]+)\s+CONCURRENTLY\b/i;

/** Statements that end the current transaction (ROLLBACK TO SAVEPOINT stays inside it). */
const transactionEnd = /^(COMMIT|END|ROLLBACK|ABORT)\b(?!\s+TO\b)/i;

/**
 * The file's text: UTF-8 without NUL bytes, which PostgreSQL refuses with a message that names
 * neither the file nor the cause ("invalid message format").
 */
function textOf(fileName: string, bytes: Buffer): string {
  const nul = bytes.indexOf(0);
  const lineOf = (offset: number) =>
    bytes.subarray(0, offset).toString('latin1').split('\n').length;
  if (nul !== -1)
    throw new OperationalError(
      `${fileName}:${lineOf(nul)}: contains a NUL byte, which SQL text cannot hold; is it binary or UTF-16? Save it as UTF-8 text`,
    );
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    const valid = Buffer.from(bytes.toString('utf8').split('\uFFFD')[0]!, 'utf8').length;
    throw new OperationalError(
      `${fileName}:${lineOf(valid)}: is not valid UTF-8; save it as UTF-8 text`,
    );
  }
}

/** Reads the directives in the comment lines before the first statement. */
function headerDirectives(sql: string, fileName: string): { transactional: boolean } {
  let transactional = true;
  for (const line of sql.split('\n')) {
    const text = line.trim();
    if (text === '') continue;
    if (!text.startsWith('--')) break;
    const directive = /^--\s*migrate:(\S*)\s*$/.exec(text);
    if (!directive) continue;
    if (directive[1] === 'no-transaction') transactional = false;
    else
      throw new OperationalError(
        `${fileName}: unknown directive "${text}" (the only one is "${noTransactionDirective}")`,
      );
  }
  return { transactional };
}

/** Parses one migration file's text; throws naming the file when it cannot run. */
export function parseMigration(fileName: string, path: string, bytes: Buffer): MigrationFile {
  const match = fileNamePattern.exec(fileName);
  if (!match)
    throw new OperationalError(
      `${fileName} in ${path} is not named NNNN_name.sql (digits, underscore, letters/digits/_/-)`,
    );
  const version = Number(match[1]);
  if (!Number.isSafeInteger(version) || version < 1 || version > 2_147_483_647)
    throw new OperationalError(`${fileName}: the version must be between 1 and 2147483647`);
  const sql = textOf(fileName, bytes);
  if (!hasCode(sql)) throw new OperationalError(`${fileName} has no SQL statements`);
  const { transactional } = headerDirectives(sql, fileName);
  const located = locatedStatements(sql);
  const statements = located.map((s) => s.text);
  const indexes: string[] = [];
  for (const { text, line } of located) {
    const code = withoutLeadingComments(text);
    const control = transactionEnd.exec(code);
    if (control && transactional)
      throw new OperationalError(
        `${fileName}:${line}: ${control[1]!.toUpperCase()} would end the transaction the runner wraps this file in, and the rest would run outside it; remove it (the runner commits), or put "${noTransactionDirective}" first to run the statements one by one`,
      );
    const alone = concurrently.exec(code);
    if (alone && transactional)
      throw new OperationalError(
        `${fileName}:${line}: ${alone[1]!.replace(/\s+/g, ' ').toUpperCase()} CONCURRENTLY cannot run inside the transaction the runner wraps this file in; put "${noTransactionDirective}" first to run the statements one by one`,
      );
    const m = createIndex.exec(code);
    if (!m) continue;
    if (m[1]) indexes.push(m[1]);
    else if (!transactional)
      throw new OperationalError(
        `${fileName}: name every index it creates (CREATE INDEX name ON …), so the runner can check it came out valid`,
      );
  }
  return Object.freeze({
    version,
    name: match[2]!,
    fileName,
    path,
    sql,
    checksum: checksum(bytes),
    transactional,
    statements: transactional ? [] : statements,
    indexes,
  });
}

/**
 * The migration files of dir in version order. Other files (README) are ignored; a .sql file with
 * a malformed name or a version used twice stops the run, since it would otherwise be skipped
 * silently or applied in an order nobody chose.
 */
export async function loadMigrations(dir: string): Promise<MigrationFile[]> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (err) {
    throw new UsageError(
      `migrations directory ${dir} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); check --dir or MIGRATIONS_DIR`,
    );
  }
  const files: MigrationFile[] = [];
  for (const fileName of entries.filter((e) => e.endsWith('.sql')).sort()) {
    const path = join(dir, fileName);
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (err) {
      // Node's EISDIR names no path; its other errors do.
      if ((err as NodeJS.ErrnoException).code !== 'EISDIR') throw err;
      throw new OperationalError(
        `${path} is a directory, not a migration file; rename or remove it`,
      );
    }
    files.push(parseMigration(fileName, path, bytes));
  }
  files.sort((a, b) => a.version - b.version);
  for (let i = 1; i < files.length; i++) {
    if (files[i]!.version === files[i - 1]!.version)
      throw new OperationalError(
        `${files[i - 1]!.fileName} and ${files[i]!.fileName} have the same version ${files[i]!.version}; renumber one`,
      );
  }
  return files;
}
