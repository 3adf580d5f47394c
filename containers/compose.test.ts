/**
 * docker-compose.yml, run for real: Debian's docker-compose 1.29 drives podman through its Docker
 * API (`podman system service` on a socket of the test's own). An override file written here puts
 * every service on the host network and stands in for the images no registry serves us
 * (stand-ins/: Debian's PostgreSQL on a free port, an OTLP/HTTP receiver for Jaeger, idle
 * Prometheus and Grafana). Shown: the pod's order, read from the containers' start and finish
 * times; a second `up` whose set-up steps run again as no-ops; a failing migration that keeps the
 * load and the API from ever starting.
 *
 * Needs podman, docker-compose and the three images (scripts/containers/prepare.sh builds them).
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const standIns = join(dirname(fileURLToPath(import.meta.url)), 'stand-ins');
const images = ['database-migration', 'database-load', 'order-food'].map(
  (name) => `localhost/${name}:1.0.0`,
);
const postgresImage = 'localhost/compose-stand-in-postgres:15';
const nodeImage = 'localhost/compose-stand-in-node:1';

interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], env?: NodeJS.ProcessEnv): Promise<Result> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      { env, maxBuffer: 64 * 1024 * 1024, timeout: 600_000 },
      (error, stdout, stderr) => {
        const status = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        resolve({ status, stdout, stderr });
      },
    );
  });
}

const podman = (...args: string[]) => run('podman', args);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function get(url: string, socketPath?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { socketPath, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`${url}: no answer`)));
    req.end();
  });
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await sleep(250);
  }
}

/** Podman's Docker API on a socket of our own, for the length of the file. */
async function startPodmanService(dir: string): Promise<{ socket: string; stop(): Promise<void> }> {
  const socket = join(dir, 'podman.sock');
  const service = spawn('podman', ['system', 'service', '--time=0', `unix://${socket}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  service.stderr.on('data', (chunk) => {
    log += chunk;
  });
  const exited = new Promise((resolve) => service.once('exit', resolve));
  await until(
    'podman system service',
    async () => {
      if (service.exitCode !== null) throw new Error(`podman system service exited: ${log}`);
      return (await get('http://d/_ping', socket)).status === 200 || undefined;
    },
    30_000,
  );
  return {
    socket,
    async stop() {
      service.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * Podman 4.3 schedules healthchecks with systemd timers, and there is no systemd here: this runs
 * `podman healthcheck run` for each running container of the project at its healthcheck's
 * interval, as the timer would, and notes when each first passed.
 */
function driveHealthchecks(project: string) {
  const intervals = new Map<string, number | null>();
  const due = new Map<string, number>();
  const healthySince = new Map<string, Date>();
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const running = await podman(
        'ps',
        '-q',
        '--no-trunc',
        '--filter',
        `label=com.docker.compose.project=${project}`,
      );
      for (const id of running.stdout.split('\n').filter(Boolean)) {
        if (!intervals.has(id)) {
          const config = await podman('inspect', '--format', '{{json .Config.Healthcheck}}', id);
          const healthcheck = JSON.parse(config.stdout || 'null') as { Interval?: number } | null;
          intervals.set(id, healthcheck ? (healthcheck.Interval ?? 30e9) / 1e6 : null);
        }
        const interval = intervals.get(id);
        if (!interval || Date.now() < (due.get(id) ?? 0)) continue;
        due.set(id, Date.now() + interval);
        const started = new Date();
        const check = await podman('healthcheck', 'run', id);
        if (check.status === 0 && !healthySince.has(id)) healthySince.set(id, started);
      }
      await sleep(200);
    }
  })();
  return {
    /** When the first passing check of the container began. */
    healthySince: (id: string) => healthySince.get(id),
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

interface ContainerState {
  id: string;
  service: string;
  status: string;
  exitCode: number;
  startedAt: Date;
  finishedAt: Date;
}

/** The project's containers by service, from podman's own record of them. */
async function containers(project: string): Promise<Map<string, ContainerState>> {
  const ids = (
    await podman(
      'ps',
      '-aq',
      '--no-trunc',
      '--filter',
      `label=com.docker.compose.project=${project}`,
    )
  ).stdout
    .split('\n')
    .filter(Boolean);
  const out = new Map<string, ContainerState>();
  if (ids.length === 0) return out;
  const inspected = JSON.parse((await podman('inspect', ...ids)).stdout) as Array<{
    Id: string;
    Config: { Labels: Record<string, string> };
    State: { Status: string; ExitCode: number; StartedAt: string; FinishedAt: string };
  }>;
  for (const c of inspected) {
    const service = c.Config.Labels['com.docker.compose.service']!;
    out.set(service, {
      id: c.Id,
      service,
      status: c.State.Status,
      exitCode: c.State.ExitCode,
      startedAt: new Date(c.State.StartedAt),
      finishedAt: new Date(c.State.FinishedAt),
    });
  }
  return out;
}

/** Never started: podman's zero time (year 1) in StartedAt. */
const neverStarted = (c: ContainerState | undefined) => !c || c.startedAt.getUTCFullYear() < 2000;

let dir: string;
let service: Awaited<ReturnType<typeof startPodmanService>>;

/** A compose project on the host network with the stand-ins, and what the test reads of it. */
async function stack(
  name: string,
  extra: (database: string) => Record<string, Record<string, unknown>> = () => ({}),
) {
  const project = `order-food-compose-${name}-${process.pid}`;
  const [postgresPort, otlpPort, apiPort] = [await freePort(), await freePort(), await freePort()];
  const database = `postgres://order_food:order_food@127.0.0.1:${postgresPort}/order_food`;
  const otlp = `http://127.0.0.1:${otlpPort}`;
  const programEnv = {
    DATABASE_URL: database,
    OTEL_EXPORTER_OTLP_ENDPOINT: otlp,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
  };
  const host = { network_mode: 'host' };
  const override = {
    services: {
      postgres: { ...host, image: postgresImage, environment: { PGPORT: String(postgresPort) } },
      jaeger: {
        ...host,
        image: nodeImage,
        entrypoint: ['node', '/stand-in/otlp-receiver.mjs'],
        environment: { OTLP_HTTP_PORT: String(otlpPort) },
      },
      'database-migration': { ...host, environment: programEnv },
      'database-load': { ...host, environment: programEnv },
      'order-food': {
        ...host,
        environment: { ...programEnv, HOST: '127.0.0.1', PORT: String(apiPort) },
      },
      prometheus: { ...host, image: nodeImage, entrypoint: ['node', '/stand-in/idle.mjs'] },
      grafana: { ...host, image: nodeImage, entrypoint: ['node', '/stand-in/idle.mjs'] },
    } as Record<string, Record<string, unknown>>,
  };
  for (const [key, value] of Object.entries(extra(database))) {
    const base = override.services[key]!;
    override.services[key] = {
      ...base,
      ...value,
      environment: { ...(base.environment as object), ...(value.environment as object) },
    };
  }
  const overridePath = join(dir, `${name}.override.json`);
  // JSON is YAML that PyYAML's YAML 1.1 cannot misread (a plain `no` is false there).
  writeFileSync(overridePath, JSON.stringify(override, null, 2));

  const traceId = randomBytes(16).toString('hex');
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(env)) if (/^(COMPOSE_|DOCKER_)/.test(key)) delete env[key];
  Object.assign(env, {
    DOCKER_HOST: `unix://${service.socket}`,
    TRACEPARENT: `00-${traceId}-${randomBytes(8).toString('hex')}-01`,
  });
  // docker-py refuses port bindings with network_mode host, and a 1.29 override cannot remove
  // a list (v2 has !reset): compose merges the two files, the ports are dropped from its result.
  const merged = await run(
    'docker-compose',
    ['-f', join(repoRoot, 'docker-compose.yml'), '-f', overridePath, 'config'],
    env,
  );
  assert.equal(merged.status, 0, merged.stderr);
  const config = parse(merged.stdout) as { services: Record<string, { ports?: unknown }> };
  for (const definition of Object.values(config.services)) delete definition.ports;
  const composePath = join(dir, `${name}.compose.json`);
  writeFileSync(composePath, JSON.stringify(config, null, 2));
  const compose = (...args: string[]) =>
    run('docker-compose', ['-p', project, '-f', composePath, ...args], env);
  const healthchecks = driveHealthchecks(project);
  return {
    project,
    traceId,
    apiUrl: `http://127.0.0.1:${apiPort}`,
    otlpUrl: otlp,
    compose,
    healthchecks,
    containers: () => containers(project),
    async down() {
      await healthchecks.stop();
      const down = await compose('--profile', 'monitoring', 'down', '--volumes', '-t', '5');
      assert.equal(down.status, 0, down.stderr);
      assert.equal((await containers(project)).size, 0, 'no container left');
      const volumes = await podman('volume', 'ls', '-q', '--filter', `name=${project}`);
      assert.equal(volumes.stdout.trim(), '', 'no volume left');
    },
  };
}

const ms = (from: Date, to: Date) => `${((to.getTime() - from.getTime()) / 1000).toFixed(1)} s`;

describe('docker-compose.yml on podman (docker-compose 1.29)', { timeout: 600_000 }, () => {
  before(async () => {
    for (const image of images) {
      const exists = await podman('image', 'exists', image);
      assert.equal(exists.status, 0, `${image} is missing: npm run test:containers builds it`);
    }
    for (const [image, context] of [
      [postgresImage, 'postgres'],
      [nodeImage, 'node'],
    ] as const) {
      const build = await podman(
        'build',
        '--network',
        'host',
        '--quiet',
        '-t',
        image,
        join(standIns, context),
      );
      assert.equal(build.status, 0, `${image}: ${build.stderr}`);
    }
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
