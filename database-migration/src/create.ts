import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError } from '@order-food/platform/errors';
import { fileNamePattern, noTransactionDirective } from './migration-files.js';

function template(fileName: string): string {
  return `-- ${fileName}: what this migration changes, and why.
--
-- It runs in one transaction together with its history row: a failure rolls all of it back.
-- Never edit it once applied anywhere; write a new migration instead.
-- For CREATE INDEX CONCURRENTLY, which cannot run in a transaction, make the first line
--   ${noTransactionDirective}
-- and name every index: the runner then checks each came out valid.
-- npm run lint checks it with squawk; npm run migrate -- plan shows the locks it will take.

`;
}

/** Normalizes NAME to lower_snake_case; refuses a name with nothing usable in it. */
export function migrationSlug(name: string): string {
  const slug = name
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
  if (slug === '')
    throw new UsageError(`create needs a NAME made of letters or digits, got "${name}"`);
  return slug;
}

/**
 * Writes NNNN_name.sql with the next free number (at least four digits, as wide as the widest
 * existing one) and returns its path. Never overwrites.
 */
export async function createMigrationFile(dir: string, name: string): Promise<string> {
  const slug = migrationSlug(name);
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (err) {
    throw new UsageError(
      `migrations directory ${dir} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); check --dir or MIGRATIONS_DIR`,
    );
  }
  let max = 0;
  let width = 4;
  for (const entry of entries) {
    const m = fileNamePattern.exec(entry);
    if (!m) continue;
    max = Math.max(max, Number(m[1]));
    width = Math.max(width, m[1]!.length);
  }
  const fileName = `${String(max + 1).padStart(width, '0')}_${slug}.sql`;
  const path = join(dir, fileName);
  await writeFile(path, template(fileName), { flag: 'wx' });
  return path;
}
