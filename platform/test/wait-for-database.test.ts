import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type ProgramName, runProgram } from '../testing/run-program.js';
import { postgresAvailable } from '../testing/test-database.js';

const adminUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const programNames: ProgramName[] = ['database-migration', 'database-load', 'order-food'];

/** adminUrl with another user or database, and how the programs show it (no password). */
function variant(change: (u: URL) => void): { url: string; display: string } {
  const u = new URL(adminUrl);
  change(u);
  return { url: u.toString(), display: `postgres://${u.username}@${u.host}${u.pathname}` };
}

const literal = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Each program against a configuration no wait can fix: exit 1 with one clear line and no retry.
 * DB_WAIT_TIMEOUT is far longer than the run's own bound, so a retrying program would be killed.
 */
async function assertFailsAtOnce(url: string, expected: RegExp): Promise<void> {
  const results = await Promise.all(
    programNames.map((name) =>
      runProgram(name, [], {
        env: {
          DATABASE_URL: url,
          ENVIRONMENT: 'development',
          DB_WAIT_TIMEOUT: '600',
          PORT: '0',
          HOST: '127.0.0.1',
        },
        timeoutMs: 120_000,
      }),
    ),
  );
  for (const [i, name] of programNames.entries()) {
    const r = results[i]!;
    const explain = `${name}: code ${r.code} signal ${r.signal}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
    assert.equal(r.signal, null, explain);
    assert.equal(r.code, 1, explain);
    const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
    assert.equal(lines.length, 1, explain);
    assert.match(lines[0]!, new RegExp(`^${name}: error: ${expected.source}$`), explain);
    assert.doesNotMatch(r.stdout, /database not reachable yet, retrying/, explain);
  }
}

test('a database that does not exist fails each program at once (3D000, exit 1)', async (t) => {
  if (!(await postgresAvailable()))
    return t.skip('needs PostgreSQL (PGlite has no database names)');
  const name = `no_such_database_${process.pid}`;
  const { url, display } = variant((u) => {
    u.pathname = `/${name}`;
  });
  await assertFailsAtOnce(
    url,
    new RegExp(
      `cannot connect to the database at ${literal(display)}: database "${name}" does not exist \\(3D000\\); create that database or correct the database name in DATABASE_URL`,
    ),
  );
});

test('an unknown role fails each program at once (28000, exit 1)', async (t) => {
  if (!(await postgresAvailable()))
    return t.skip('needs PostgreSQL (PGlite has no roles to log in as)');
  const role = `no_such_role_${process.pid}`;
  const { url, display } = variant((u) => {
    u.username = role;
    u.password = '';
  });
  await assertFailsAtOnce(
    url,
    new RegExp(
      `cannot log in to the database at ${literal(display)}: (role "${role}" does not exist \\(28000\\)|.*\\(28P01\\)); check the credentials in DATABASE_URL`,
    ),
  );
});
