import type { Queryable } from '@order-food/platform/database';
import { isoTimestampColumn, type RoleT, type UserT } from '@order-food/platform/model';
import { conflict } from './problem.js';

interface UserRow {
  id: string;
  email: string;
  name: string;
  role: RoleT;
  created_at: string;
}

const columns = `id, email, name, role, ${isoTimestampColumn('created_at')}`;

function toUser(r: UserRow): UserT {
  return {
    id: r.id,
    email: r.email,
    name: r.name,
    role: r.role,
    createdAt: r.created_at,
  };
}

export async function getUser(db: Queryable, id: string): Promise<UserT | undefined> {
  const { rows } = await db.query<UserRow>(`SELECT ${columns} FROM users WHERE id = $1`, [id]);
  return rows[0] ? toUser(rows[0]) : undefined;
}

/** The user's role now, or undefined when the user no longer exists: read on every request. */
export async function currentRole(db: Queryable, id: string): Promise<RoleT | undefined> {
  const { rows } = await db.query<{ role: RoleT }>('SELECT role FROM users WHERE id = $1', [id]);
  return rows[0]?.role;
}

export async function findUserByEmail(db: Queryable, email: string): Promise<UserT | undefined> {
  const { rows } = await db.query<UserRow>(`SELECT ${columns} FROM users WHERE email = $1`, [
    email.trim().toLowerCase(),
  ]);
  return rows[0] ? toUser(rows[0]) : undefined;
}

export async function createUser(
  db: Queryable,
  input: { email: string; name: string; role?: RoleT | undefined },
): Promise<UserT> {
  const email = input.email.trim().toLowerCase();
  try {
    const { rows } = await db.query<UserRow>(
      `INSERT INTO users (email, name, role) VALUES ($1, $2, $3) RETURNING ${columns}`,
      [email, input.name, input.role ?? 'customer'],
    );
    return toUser(rows[0]!);
  } catch (err) {
    if ((err as { code?: string }).code === '23505')
      throw conflict('a user with this email already exists', 'duplicate-email');
    throw err;
  }
}
