import assert from 'node:assert/strict';
import { join } from 'node:path';
import { repoRoot, runProgram } from '@order-food/platform/testing/run-program';
import { createTestDatabase, type TestDatabase } from '@order-food/platform/testing/test-database';
import { type ApiProcess, startApiProcess } from '../helpers.js';

/** What `npm start` serves, as real processes: the demo data on a fresh database, the API in development. */
export interface DemoApi {
  db: TestDatabase;
  api: ApiProcess;
  /** A bearer token from the token CLI, as `npm run token -- --email EMAIL` prints it. */
  token(email: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startDemoApi(prefix: string): Promise<DemoApi> {
  const db = await createTestDatabase(prefix);
  const env = { DATABASE_URL: db.url, ENVIRONMENT: 'development' };
  for (const program of ['database-migration', 'database-load'] as const) {
    const r = await runProgram(program, [], { env });
    assert.equal(r.code, 0, `${program}: ${r.stderr}`);
  }
  const api = await startApiProcess(env);
  return {
    db,
    api,
    async token(email) {
      const r = await runProgram(
        join(repoRoot, 'order-food/src/token-cli.ts'),
        ['--email', email],
        {
          env,
        },
      );
      assert.equal(r.code, 0, r.stderr);
      return r.stdout.trim().split('\n').at(-1)!;
    },
    async stop() {
      api.child.kill('SIGTERM');
      if (api.child.exitCode === null) await new Promise((r) => api.child.once('exit', r));
      await db.drop();
    },
  };
}
