import type pg from 'pg';

const startedAt = Symbol('statement started at');
const timedOut = Symbol('statement timed out');
type WatchedClient = pg.ClientBase & { [startedAt]?: number; [timedOut]?: Error };
export type StatementCallback = (err: Error | null, result?: pg.QueryResult) => void;

/**
 * The client-side bound on a statement (queryTimeoutMs) with one sweep timer, not one per statement
 * as pg's query_timeout arms: those timers kept each query and its rows alive into the old
 * generation (bench/findings.md). An overdue statement fails with "Query read timeout" and its
 * socket is destroyed (a dead peer may never answer), so the pool replaces the connection.
 */
export class StatementWatchdog {
  readonly #timeoutMs: number;
  readonly #clients = new Set<WatchedClient>();
  #sweep: NodeJS.Timeout | undefined;

  constructor(timeoutMs: number) {
    this.#timeoutMs = timeoutMs;
  }

  /**
   * Runs one statement on client under the bound, in pg's callback form (see createPostgres in
   * database.ts); callback gets "Query read timeout" when the bound ran out first.
   */
  run(
    client: pg.ClientBase,
    text: string,
    params: readonly unknown[] | undefined,
    callback: StatementCallback,
  ): void {
    const watched = client as WatchedClient;
    if (!this.#clients.has(watched)) {
      this.#clients.add(watched);
      watched.once('end', () => this.#clients.delete(watched));
    }
    this.#arm();
    // A number on the connection: nothing that could hold the statement or its caller.
    watched[startedAt] = Math.floor(performance.now()) + 1;
    watched.query(text, params as unknown[], (err: Error | null, result) => {
      watched[startedAt] = 0;
      const timeout = watched[timedOut];
      if (timeout) callback(timeout);
      else if (err) callback(err);
      else callback(null, result);
    });
  }

  /** How many connections are running a statement now. */
  get running(): number {
    let n = 0;
    for (const client of this.#clients) if (client[startedAt]) n++;
    return n;
  }

  close(): void {
    if (this.#sweep) clearInterval(this.#sweep);
    this.#sweep = undefined;
    this.#clients.clear();
  }

  #arm(): void {
    if (this.#sweep) return;
    const every = Math.max(10, Math.min(1000, Math.floor(this.#timeoutMs / 4)));
    this.#sweep = setInterval(() => this.#check(), every);
    this.#sweep.unref();
  }

  #check(): void {
    const now = Math.floor(performance.now()) + 1;
    for (const client of this.#clients) {
      const since = client[startedAt];
      if (!since || client[timedOut] || now - since < this.#timeoutMs) continue;
      client[timedOut] = new Error(
        `Query read timeout: the database did not answer within ${this.#timeoutMs} ms; the connection is closed`,
      );
      // The answer may never come (a dead peer, a cut network): only a new connection helps. pg
      // then fails the statement, and the caller gets the error above.
      (
        client as unknown as { connection?: { stream?: { destroy(): void } } }
      ).connection?.stream?.destroy();
      this.#clients.delete(client);
    }
    if (this.#clients.size === 0) this.close();
  }
}
