import type { Database } from './database.js';

/**
 * Whether db's connections go through a pooler (PgBouncer or alike): a pooler answers start-up
 * with a cancel key of its own, so the announced pid is not the backend running the statements.
 * In transaction mode, session advisory locks, LISTEN, SET and prepared statements can't be used.
 */
export async function behindPooler(db: Database): Promise<boolean> {
  if (db.kind !== 'postgres') return false;
  const client = await db.connect();
  try {
    const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    const raw = client.raw;
    const announced =
      raw.kind === 'postgres' ? (raw.client as { processID?: number }).processID : undefined;
    return announced !== rows[0]?.pid;
  } finally {
    client.release();
  }
}
