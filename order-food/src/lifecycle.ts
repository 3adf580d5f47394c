/**
 * What the process knows about its own state, shared by server.ts (which changes it) and the
 * /ready route (which reports it).
 */
export class Lifecycle {
  /** Set at the first SIGTERM: /ready answers 503 from then on. */
  shuttingDown = false;
  /** Set after the drain delay, when connections close: new requests are refused with 503. */
  closing = false;
  /** False until the database answered once at start (server.ts waits in the background). */
  databaseReached = false;
  /** Why the service is not ready while the database is still being waited for. */
  startupDetail = 'waiting for the database to answer';
}
