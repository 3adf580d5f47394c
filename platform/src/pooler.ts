import type { Database } from './database.js';

/**
 * Whether the connections of db go through a connection pooler (PgBouncer, or a managed pooler
 * that behaves the same). A pooler answers the client's start-up with a cancel key of its own, so
 * the process id it announces is not the backend that runs the statements. Through a pooler in
 * transaction mode, consecutive statements may run on different server sessions: session advisory
 * locks, LISTEN, SET and prepared statements cannot be relied on.
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
