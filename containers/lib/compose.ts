/**
 * docker-compose.yml on podman for the container suite: podman's Docker API on a socket of the
 * suite's own, docker-compose 1.29 driving it, the stand-ins for the images no registry serves us
 * (containers/stand-ins), healthchecks run as systemd's timers would, and the containers' own
 * record of when they started and finished.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { freePort } from '@order-food/platform/testing/free-port';
import { repoRoot } from '@order-food/platform/testing/run-program';
import { parse } from 'yaml';
import { images } from './podman.js';

const standIns = join(repoRoot, 'containers/stand-ins');
const postgresImage = 'localhost/compose-stand-in-postgres:15';
const nodeImage = 'localhost/compose-stand-in-node:1';

export interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function run(command: string, args: string[], env?: NodeJS.ProcessEnv): Promise<Result> {
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

export const podman = (...args: string[]) => run('podman', args);
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function get(url: string, socketPath?: string): Promise<{ status: number; body: string }> {
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

export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  ms: number,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await sleep(250);
  }
}

/** Podman's Docker API on a socket of our own, for the length of the file. */
export async function startPodmanService(
  dir: string,
): Promise<{ socket: string; stop(): Promise<void> }> {
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
export function driveHealthchecks(project: string) {
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

export interface ContainerState {
  id: string;
  service: string;
  status: string;
  exitCode: number;
  startedAt: Date;
  finishedAt: Date;
}

/** The project's containers by service, from podman's own record of them. */
export async function containers(project: string): Promise<Map<string, ContainerState>> {
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
export const neverStarted = (c: ContainerState | undefined) =>
  !c || c.startedAt.getUTCFullYear() < 2000;

/**
 * Why the compose suite cannot run (a tool or an image missing), or undefined. The suite skips
 * with it; under CI=true it fails instead.
 */
export async function composeMissing(): Promise<string | undefined> {
  for (const [tool, args] of [
    ['podman', ['--version']],
    ['docker-compose', ['version']],
  ] as const) {
    if ((await run(tool, [...args])).status !== 0) return `${tool} is not installed`;
  }
  for (const image of Object.values(images)) {
    if ((await podman('image', 'exists', image)).status !== 0)
      return `${image} is not built (npm run test:containers builds it)`;
  }
  return undefined;
}

/** Builds the stand-in images FROM the local node base (podman's layer cache makes it quick). */
export async function buildStandIns(): Promise<void> {
  for (const [image, context] of [
    [postgresImage, 'postgres'],
    [nodeImage, 'node'],
  ] as const) {
    const args = ['build', '--network', 'host', '--quiet', '-t', image, join(standIns, context)];
    const build = await podman(...args);
    assert.equal(build.status, 0, `${image}: ${build.stderr}`);
  }
}

/**
 * A compose project of docker-compose.yml on the host network with the stand-ins, and what the
 * tests read of it; `extra` overrides services (given the stand-in database's URL).
 */
export async function composeStack(
  name: string,
  dir: string,
  socket: string,
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
    DOCKER_HOST: `unix://${socket}`,
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
