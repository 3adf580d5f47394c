/**
 * docker-compose.yml run for real: docker-compose 1.29 against podman's Docker API, host network
 * and stand-ins for registry images (containers/lib/compose.ts). Shown: the pod order, a second
 * `up` whose set-up steps are no-ops, a failing migration that stops the rest.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import {
  buildStandIns,
  type ContainerState,
  composeMissing,
  composeStack,
  get,
  neverStarted,
  podman,
  startPodmanService,
  until,
} from './lib/compose.js';

const missing = await composeMissing();
if (missing && process.env.CI === 'true') throw new Error(`CI=true: ${missing}`);

let dir: string;
let service: Awaited<ReturnType<typeof startPodmanService>>;
const stack = (
  name: string,
  extra?: Parameters<typeof composeStack>[3],
): ReturnType<typeof composeStack> => composeStack(name, dir, service.socket, extra);

const ms = (from: Date, to: Date) => `${((to.getTime() - from.getTime()) / 1000).toFixed(1)} s`;

describe('docker-compose.yml on podman (docker-compose 1.29)', {
  skip: missing ?? false,
  timeout: 600_000,
}, () => {
  before(async () => {
    await buildStandIns();
    dir = mkdtempSync(join(tmpdir(), 'compose-test-'));
    service = await startPodmanService(dir);
  });

  after(async () => {
    await service?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  describe('up on an empty volume, then up again', () => {
    let s: Awaited<ReturnType<typeof stack>>;
    let first: Map<string, ContainerState>;
    before(async () => {
      s = await stack('order');
    });
    after(async () => {
      await s.down();
    });

    it('runs postgres healthy -> migration exit 0 -> load exit 0 -> API healthy, then monitoring', async (t: TestContext) => {
      const up = await s.compose('--profile', 'monitoring', 'up', '--detach', '--no-build');
      assert.equal(up.status, 0, up.stderr);
      const api = (await s.containers()).get('order-food')!;
      const apiHealthy = await until(
        'the API healthy',
        async () => s.healthchecks.healthySince(api.id),
        120_000,
      );
      first = await s.containers();
      const c = (name: string) => first.get(name)!;
      const postgresHealthy = s.healthchecks.healthySince(c('postgres').id)!;
      assert.ok(postgresHealthy, 'postgres passed its healthcheck');

      assert.equal(c('database-migration').exitCode, 0);
      assert.equal(c('database-migration').status, 'exited');
      assert.equal(c('database-load').exitCode, 0);
      assert.equal(c('database-load').status, 'exited');
      assert.ok(
        postgresHealthy < c('database-migration').startedAt,
        'migration after postgres healthy',
      );
      assert.ok(
        c('database-migration').finishedAt < c('database-load').startedAt,
        'load after migration',
      );
      assert.ok(c('database-load').finishedAt < c('order-food').startedAt, 'API after load');
      assert.ok(c('order-food').startedAt <= apiHealthy, 'API healthy after its start');
      assert.ok(c('order-food').startedAt < c('prometheus').startedAt, 'prometheus after the API');
      assert.ok(c('prometheus').startedAt < c('grafana').startedAt, 'grafana after prometheus');

      const t0 = c('postgres').startedAt;
      t.diagnostic(
        [
          `postgres started 0.0 s, healthcheck passed from ${ms(t0, postgresHealthy)}`,
          `database-migration ${ms(t0, c('database-migration').startedAt)} -> ${ms(t0, c('database-migration').finishedAt)} exit ${c('database-migration').exitCode}`,
          `database-load ${ms(t0, c('database-load').startedAt)} -> ${ms(t0, c('database-load').finishedAt)} exit ${c('database-load').exitCode}`,
          `order-food started ${ms(t0, c('order-food').startedAt)}, healthcheck passed from ${ms(t0, apiHealthy)}`,
          `prometheus ${ms(t0, c('prometheus').startedAt)}, grafana ${ms(t0, c('grafana').startedAt)}`,
        ].join('; '),
      );

      const products = await get(`${s.apiUrl}/api/products`);
      assert.equal(products.status, 200);
      assert.ok((JSON.parse(products.body) as { items: unknown[] }).items.length > 0);
    });

    it('sends the three programs spans to the collector, the set-up under one TRACEPARENT', async () => {
      const seen = await until(
        'spans of the three programs',
        async () => {
          const body = JSON.parse((await get(`${s.otlpUrl}/spans`)).body) as {
            spans: Record<string, number>;
            traceIds: string[];
          };
          const all = ['database-migration', 'database-load', 'order-food'];
          return all.every((n) => (body.spans[n] ?? 0) > 0) ? body : undefined;
        },
        30_000,
      );
      assert.ok(seen.traceIds.includes(s.traceId), 'the set-up spans are in the TRACEPARENT trace');
    });

    it('a second up runs both set-up steps again as no-ops and leaves the API alone', async (t: TestContext) => {
      const up = await s.compose('up', '--detach', '--no-build');
      assert.equal(up.status, 0, up.stderr);
      const second = await s.containers();
      for (const name of ['database-migration', 'database-load']) {
        const before = first.get(name)!;
        const after = second.get(name)!;
        assert.equal(after.id, before.id, `${name}: the same container, started again`);
        assert.ok(after.startedAt > before.finishedAt, `${name} ran again`);
        assert.equal(after.exitCode, 0, name);
        assert.equal(after.status, 'exited', name);
      }
      assert.ok(
        second.get('database-migration')!.finishedAt < second.get('database-load')!.startedAt,
      );
      const apiBefore = first.get('order-food')!;
      const apiAfter = second.get('order-food')!;
      assert.equal(apiAfter.id, apiBefore.id);
      assert.equal(
        apiAfter.startedAt.getTime(),
        apiBefore.startedAt.getTime(),
        'the API was not restarted',
      );
      assert.equal(apiAfter.status, 'running');

      const logs = async (name: string) => {
        const r = await podman(
          'logs',
          '--since',
          second.get(name)!.startedAt.toISOString(),
          second.get(name)!.id,
        );
        return r.stdout + r.stderr;
      };
      assert.match(await logs('database-migration'), /schema is up to date/);
      assert.match(await logs('database-load'), /already loaded in this mode; nothing to do/);
      const m = second.get('database-migration')!;
      const l = second.get('database-load')!;
      t.diagnostic(
        `second up: database-migration ${ms(m.startedAt, m.finishedAt)} exit 0, database-load ${ms(l.startedAt, l.finishedAt)} exit 0, both no-ops`,
      );
    });
  });

  it('a failing migration keeps the load and the API from starting, and up fails', async (t: TestContext) => {
    const s = await stack('failing', (database) => ({
      'database-migration': {
        environment: {
          DATABASE_URL: database.replace('order_food:order_food@', 'no_such_role:x@'),
        },
      },
    }));
    try {
      const up = await s.compose('up', '--detach', '--no-build');
      assert.notEqual(up.status, 0, 'up fails');
      const all = await s.containers();
      const migration = all.get('database-migration')!;
      assert.equal(migration.status, 'exited');
      assert.notEqual(migration.exitCode, 0);
      assert.ok(neverStarted(all.get('database-load')), 'database-load never started');
      assert.ok(neverStarted(all.get('order-food')), 'order-food never started');
      const log = await podman('logs', migration.id);
      const errors = (log.stdout + log.stderr)
        .split('\n')
        .filter((l) => l.startsWith('database-migration: error:'));
      assert.equal(errors.length, 1, 'one clear line');
      const msg = errors[0]!;
      assert.match(msg, /no_such_role/);
      t.diagnostic(
        `failing migration: exit ${migration.exitCode}, ${msg}; load and API never started; up exit ${up.status}: ${up.stderr.trim().split('\n').at(-1)}`,
      );
    } finally {
      await s.down();
    }
  });
});
