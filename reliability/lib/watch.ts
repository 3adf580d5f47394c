import pg from 'pg';

/** One connection kept open to watch a database from outside (pg_locks, pg_stat_activity). */
export class Watcher {
  readonly #client: pg.Client;

  private constructor(url: string) {
    this.#client = new pg.Client({
      connectionString: url,
      application_name: 'reliability-watcher',
    });
    this.#client.on('error', () => undefined);
  }

  static async open(url: string): Promise<Watcher> {
    const w = new Watcher(url);
    await w.#client.connect();
    return w;
  }

  async advisoryLocks(): Promise<number> {
    const r = await this.#client.query(
      `SELECT count(*)::int AS n FROM pg_locks
        WHERE locktype = 'advisory' AND granted
          AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    );
    return r.rows[0].n as number;
  }

  /** Whether another session of this database runs a statement matching the LIKE pattern. */
  async running(likePattern: string): Promise<boolean> {
    const r = await this.#client.query(
      `SELECT 1 FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'active'
          AND query ILIKE $1 LIMIT 1`,
      [likePattern],
    );
    return (r.rowCount ?? 0) > 0;
  }

  query<T extends pg.QueryResultRow = Record<string, unknown>>(
    text: string,
    params: unknown[] = [],
  ): Promise<T[]> {
    return this.#client.query<T>(text, params).then((r) => r.rows);
  }

  close(): Promise<void> {
    return this.#client.end().catch(() => undefined);
  }
}
