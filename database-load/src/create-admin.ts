import type { Queryable } from '@order-food/platform/database';
import { UsageError } from '@order-food/platform/errors';
import { parseUser } from './dataset.js';
import { requireSchema } from './schema-version.js';

export interface AdminInput {
  email: string;
  /** Default: the part of the address before the @. */
  name?: string;
}

export interface AdminResult {
  id: string;
  email: string;
  outcome: 'created' | 'promoted' | 'unchanged';
}

/**
 * Checks an admin's email and name with the data model, as a data set's users.jsonl is checked;
 * the address is lowered as the API lowers what clients send. A bad value is a UsageError
 * (exit 2) naming the option or variable it came from.
 */
export function checkAdmin(
  input: AdminInput,
  names: { email: string; name: string } = { email: '--email', name: '--name' },
): { email: string; name: string; role: 'admin' } {
  const email = input.email.trim().toLowerCase();
  const name = input.name ?? email.split('@')[0] ?? '';
  const user = parseUser({ email, name, role: 'admin' }, (field, detail) => {
    throw new UsageError(`${field === 'name' ? names.name : names.email} ${detail}`);
  });
  return { email: user.email, name: user.name, role: 'admin' };
}

/**
 * Creates the admin, or makes an existing user of that address an admin; an admin already there
 * is left as it is (its name too), so running it on every start or by hand twice is harmless.
 */
export async function createAdmin(db: Queryable, input: AdminInput): Promise<AdminResult> {
  const admin = checkAdmin(input);
  await requireSchema(db);
  // One statement: two runs at once both end with one admin row, neither fails.
  const r = await db.query<{ id: string; inserted: boolean }>(
    `INSERT INTO users (email, name, role) VALUES ($1, $2, 'admin')
     ON CONFLICT (email) DO UPDATE SET role = 'admin', updated_at = now()
       WHERE users.role <> 'admin'
     RETURNING id::text AS id, (xmax = 0) AS inserted`,
    [admin.email, admin.name],
  );
  const row = r.rows[0];
  if (row)
    return { id: row.id, email: admin.email, outcome: row.inserted ? 'created' : 'promoted' };
  const existing = await db.query<{ id: string }>(
    'SELECT id::text AS id FROM users WHERE email = $1',
    [admin.email],
  );
  return { id: existing.rows[0]!.id, email: admin.email, outcome: 'unchanged' };
}

export function formatAdmin(r: AdminResult): string {
  const what = {
    created: 'created',
    promoted: 'promoted from customer to admin',
    unchanged: 'already an admin, unchanged',
  }[r.outcome];
  return `admin ${r.email} ${what} (id ${r.id})\n`;
}
