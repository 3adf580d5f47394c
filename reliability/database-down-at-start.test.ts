import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Api, preparedDatabase } from './lib/fixture.js';
import { createDatabase, type Database, requirePostgres, tableCounts, viaPort } from './lib/pg.js';
import { Proc } from './lib/process.js';
import { migrate } from './lib/programs.js';
import { Scenario } from './lib/report.js';
import { TcpProxy } from './lib/tcp-proxy.js';
import { sleep, waitFor, within } from './lib/wait.js';

const downSeconds = 20;
const recoverSeconds = 15;
const env = { LOG_LEVEL: 'info', DB_WAIT_TIMEOUT: '90' };

const scenario = new Scenario('database-down-at-start', 'Database down at start');
const dbs: Database[] = [];

before(requirePostgres);

after(async () => {
  await Promise.all(dbs.map((d) => d.drop()));
});

test(`database refused for ${downSeconds} s: migration, load and /ready each recover within ${recoverSeconds} s of it becoming reachable`, async () => {
  await scenario.run(async () => {
    // Three databases, one per program, so all three wait at once: an empty one to migrate, a
    // migrated one to load, a loaded one to serve.
    const [empty, migrated, loaded] = await Promise.all([
      createDatabase('down_migrate'),
      createDatabase('down_load'),
      preparedDatabase('down_api'),
    ]);
    dbs.push(empty, migrated, loaded);
    await migrate(migrated.url);

    const target = new URL(empty.url);
    const proxy = await new TcpProxy(target.hostname, Number(target.port || 5432)).start('refuse');
    const via = (d: Database) => viaPort(d.url, proxy.port);
    const migration = new Proc('database-migration', ['migrate'], {
      env: { DATABASE_URL: via(empty), ...env },
    });
    const loader = new Proc('database-load', ['load'], {
      env: { DATABASE_URL: via(migrated), ...env },
    });
    const api = await Api.start({
      databaseUrl: via(loaded),
      env: { LOG_LEVEL: 'info', DB_WAIT_TIMEOUT: '90' },
    });
    try {
      await sleep(downSeconds * 1000);
      // While the database is unreachable: everyone still waits, the API is alive but not ready.
      assert.ok(migration.running, `database-migration still waits:\n${migration.tail()}`);
      assert.ok(loader.running, `database-load still waits:\n${loader.tail()}`);
      assert.ok(api.proc.running, `the API still runs:\n${api.proc.tail()}`);
      const health = await waitFor(
        'GET /health 200 while the database is down',
        async () =>
          (await api.request({ method: 'GET', path: '/health' }, 5000)).status === 200 && 200,
        { timeoutMs: 15_000, intervalMs: 250 },
      ).catch((err: Error) => {
        throw new Error(`${err.message}\n${api.proc.tail()}`);
      });
      const readyWhileDown = await api.readyStatus();
      assert.equal(health, 200, '/health answers while the database is down');
      assert.equal(readyWhileDown, 503, '/ready is 503 while the database is down');
      const retries = (p: Proc) => (p.stdout.match(/not reachable yet, retrying/g) ?? []).length;
      const waited = `${retries(migration)} retries logged by database-migration, ${retries(loader)} by database-load, ${retries(api.proc)} by the API`;

      await proxy.forward();
      const reachableAt = Date.now();
      const bound = recoverSeconds * 1000;
      const [m, l, ready] = await Promise.all([
        within(bound, 'database-migration to finish', migration.exited).then((e) => ({
          ...e,
          s: (Date.now() - reachableAt) / 1000,
        })),
        within(bound, 'database-load to finish', loader.exited).then((e) => ({
          ...e,
          s: (Date.now() - reachableAt) / 1000,
        })),
        waitFor('/ready 200', async () => (await api.readyStatus(2000)) === 200, {
          timeoutMs: bound,
          intervalMs: 100,
        }).then(() => (Date.now() - reachableAt) / 1000),
      ]);
      assert.equal(m.code, 0, `database-migration exit 0:\n${migration.tail()}`);
      assert.equal(l.code, 0, `database-load exit 0:\n${loader.tail()}`);
      const counts = await tableCounts(migrated.url, ['products', 'users', 'orders']);
      assert.ok((counts.products ?? 0) > 0 && (counts.users ?? 0) > 0, 'the data set was loaded');

      scenario.trials = 3;
      scenario.faults = 3;
      scenario.note(
        `a loopback proxy refused connections for ${downSeconds} s (nothing listening on its port), then forwarded to PostgreSQL; DB_WAIT_TIMEOUT 90 s`,
      );
      scenario.note(
        `while refused: all three processes kept waiting, ${waited}; the API answered /health 200 and /ready 503`,
      );
      scenario.detail(
        [
          '| program | after the database became reachable |',
          '|---|---|',
          `| database-migration | exit ${m.code} after ${m.s.toFixed(1)} s |`,
          `| database-load | exit ${l.code} after ${l.s.toFixed(1)} s |`,
          `| order-food | /ready 200 after ${ready.toFixed(1)} s |`,
        ].join('\n'),
      );
    } finally {
      await Promise.all([migration.stop(), loader.stop(), api.stop()]);
      await proxy.close();
    }
  });
});
