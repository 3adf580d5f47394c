import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { explain, logLines, runMigration } from './helpers.js';

/** A port on 127.0.0.1 that nothing listens on: bound once, then closed. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

test('an unreachable database is retried until DB_WAIT_TIMEOUT, then exit 1 with one clear line', async () => {
  const port = await closedPort();
  const r = await runMigration(
    `postgres://postgres@127.0.0.1:${port}/order_food`,
    [],
    { DB_WAIT_TIMEOUT: '3' },
    120_000,
  );
  assert.equal(r.signal, null, explain(r));
  assert.equal(r.code, 1, explain(r));
  const retries = logLines(r.stdout).filter(
    (l) => l.msg === 'database not reachable yet, retrying',
  );
  assert.ok(retries.length >= 2, `retried more than once:\n${explain(r)}`);
  assert.deepEqual(
    retries.map((l) => l.attempt),
    retries.map((_, i) => i + 1),
  );
  const errorLines = r.stderr.split('\n').filter((l) => l.startsWith('database-migration: error:'));
  assert.equal(errorLines.length, 1, explain(r));
  assert.match(
    errorLines[0]!,
    new RegExp(
      `database at postgres://postgres@127\\.0\\.0\\.1:${port}/order_food did not answer within 3s \\(DB_WAIT_TIMEOUT\\)`,
    ),
  );
  assert.match(errorLines[0]!, /ECONNREFUSED/);
});
