/**
 * The chart's pod on podman, for the pod scenarios (containers/pod-*.test.ts): the rendered
 * Deployment's pod template, adapted for podman 4.3 by podForPodman (pod.ts), played with
 * `podman kube play --network host` against a fresh database on the PostgreSQL the tests use, with
 * the chart's Secret as a podman secret and traces sent to a receiver the suite starts.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe } from 'node:test';
import { OtlpReceiver } from '@order-food/platform/testing/otlp-receiver';
import { repoRoot } from '@order-food/platform/testing/run-program';
import { createTestDatabase, type TestDatabase } from '@order-food/platform/testing/test-database';
import { stringify } from 'yaml';
import { render } from '../../order-food/test/deploy/render.js';
import {
  type ContainerState,
  containerLogs,
  containerName,
  containerState,
  freePort,
  type PodmanPod,
  playPod,
  podForPodman,
  removePod,
  waitForExit,
} from './pod.js';
import { podman, podmanOk, skipWithoutImages } from './podman.js';

const jwtSecret = 'container-suite-jwt-secret-0123456789abcdef';
export const migrationFiles = readdirSync(join(repoRoot, 'database-migration/migrations')).filter(
  (f) => f.endsWith('.sql'),
);
export const inits = ['database-migration', 'database-load'] as const;
const neverStarted = '0001-01-01T00:00:00Z';

let receiver: OtlpReceiver;
/** The pods and databases of the running scenario, removed after it. */
export const pods: PodmanPod[] = [];
const databases: TestDatabase[] = [];
let sequence = 0;

/**
 * A describe() of pod scenarios, one at a time and skipped without the images: the trace receiver
 * for the suite, and the pods and databases of each scenario removed after it.
 */
export function describeChartPods(
  title: string,
  body: (suite: { receiver: () => OtlpReceiver }) => void,
): void {
  describe(title, { skip: skipWithoutImages(), concurrency: false }, () => {
    before(async () => {
      receiver = await new OtlpReceiver().start();
    });
    after(async () => {
      await receiver?.stop();
    });
    afterEach(async () => {
      for (const pod of pods.splice(0)) await removePod(pod);
      for (const db of databases.splice(0)) await db.drop();
    });
    body({ receiver: () => receiver });
  });
}

export interface ChartPod {
  played: PodmanPod;
  port: number;
  name: string;
  container: (name: string) => string;
}

interface ChartOptions {
  /** Further `--set` values. */
  set?: string[];
  /** An operator's values file (`-f`), given as its content. */
  values?: object;
  /**
   * telemetry.otlpEndpoint, with the rest of the telemetry values the chart's own; without it the
   * pod sends to the suite's receiver over http/json.
   */
  otlpEndpoint?: string;
}

/** Renders the chart for a database URL and adapts its pod; removed after the scenario. */
export async function chartPod(databaseUrl: string, options: ChartOptions = {}): Promise<ChartPod> {
  const port = await freePort();
  const name = `order-food-${process.pid}-${++sequence}`;
  const telemetry = options.otlpEndpoint
    ? [`telemetry.otlpEndpoint=${options.otlpEndpoint}`]
    : [`telemetry.otlpEndpoint=${receiver.url}`, 'telemetry.otlpProtocol=http/json'];
  const dir = await mkdtemp(join(tmpdir(), 'order-food-values-'));
  try {
    const file = join(dir, 'values.yaml');
    await writeFile(file, stringify(options.values ?? {}));
    const manifests = render([
      '-f',
      file,
      ...[
        `secret.databaseUrl=${databaseUrl}`,
        `secret.jwtSecret=${jwtSecret}`,
        ...telemetry,
        ...(options.set ?? []),
      ].flatMap((s) => ['--set', s]),
    ]);
    const played = podForPodman(manifests, { name, port });
    pods.push(played);
    return { played, port, name, container: (c) => containerName(name, c) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function freshDatabase(): Promise<TestDatabase> {
  const db = await createTestDatabase('containers_pod');
  assert.equal(db.kind, 'postgres', 'the pod runs against PostgreSQL');
  databases.push(db);
  return db;
}

export async function states(pod: ChartPod): Promise<Record<string, ContainerState>> {
  const out: Record<string, ContainerState> = {};
  for (const c of [...inits, 'order-food']) {
    const state = await containerState(pod.container(c));
    assert.ok(state, `${pod.container(c)} exists`);
    out[c] = state;
  }
  return out;
}

/** A container's environment as podman gave it. */
export async function containerEnv(name: string): Promise<Map<string, string>> {
  const [inspect] = JSON.parse(await podmanOk(['container', 'inspect', name])) as {
    Config: { Env: string[] };
  }[];
  return new Map(
    inspect!.Config.Env.map((entry) => {
      const at = entry.indexOf('=');
      return [entry.slice(0, at), entry.slice(at + 1)];
    }),
  );
}

/** The settings of the chart's securityContext, as podman applied them to every container. */
export async function assertSecured(pod: ChartPod): Promise<void> {
  for (const c of [...inits, 'order-food']) {
    const name = pod.container(c);
    const [inspect] = JSON.parse(await podmanOk(['container', 'inspect', name])) as {
      Config: { User: string };
      EffectiveCaps: string[] | null;
      HostConfig: { ReadonlyRootfs: boolean; SecurityOpt: string[] | null };
      Mounts: { Destination: string; RW: boolean }[];
    }[];
    assert.match(inspect!.Config.User, /^10001(:10001)?$/, `${name} runs as 10001`);
    assert.equal(inspect!.HostConfig.ReadonlyRootfs, true, `${name}: read-only root filesystem`);
    assert.deepEqual(inspect!.EffectiveCaps ?? [], [], `${name}: no capabilities`);
    assert.ok(
      (inspect!.HostConfig.SecurityOpt ?? []).includes('no-new-privileges'),
      `${name}: no privilege escalation`,
    );
    assert.deepEqual(
      inspect!.Mounts.filter((m) => m.RW).map((m) => m.Destination),
      ['/tmp'],
      `${name}: only /tmp is writable`,
    );
  }
  // The running API, from inside: node is PID 1 with no capabilities, and only /tmp takes writes.
  const probe = await podman([
    'exec',
    pod.container('order-food'),
    'sh',
    '-c',
    'tr "\\0" " " </proc/1/cmdline; echo; grep CapEff /proc/1/status; touch /tmp/probe && echo tmp-ok; touch /app/probe 2>&1; touch /probe 2>&1',
  ]);
  assert.match(probe.stdout, /^node .*order-food\/dist\/server\.js/m, 'node is PID 1');
  assert.match(probe.stdout, /^CapEff:\s+0+$/m);
  assert.match(probe.stdout, /^tmp-ok$/m);
  assert.match(probe.stdout, /\/app\/probe.*Read-only file system/);
  assert.match(probe.stdout, /\/probe.*Read-only file system/);
}

/** Plays a pod that must start: `kube play` exits 0 once its init containers exited 0. */
export async function play(pod: ChartPod): Promise<void> {
  const result = await playPod(pod.played);
  assert.equal(result.code, 0, `podman kube play:\n${result.stderr}`);
}

/** The lines a program printed on stderr as its failure (`NAME: error: …`). */
function errorLines(log: string, program: string): string[] {
  return log.split('\n').filter((l) => l.startsWith(`${program}: error:`));
}

/** Plays a pod whose migration must fail: exit 1, one clear line, nothing after it started. */
export async function assertMigrationFails(pod: ChartPod, expected: RegExp): Promise<string> {
  const played = await playPod(pod.played);
  assert.notEqual(played.code, 0, 'kube play reports the failed init container');
  assert.match(played.stderr, /init container \w+ exited with code 1/);
  const migration = await waitForExit(pod.container('database-migration'));
  const log = await containerLogs(pod.container('database-migration'));
  assert.equal(migration.exitCode, 1, log);
  const lines = errorLines(log, 'database-migration');
  assert.equal(lines.length, 1, `one error line:\n${log}`);
  assert.match(lines[0]!, expected);
  // The pod stops (restartPolicy Never); the containers after the failed one never start.
  for (let i = 0; i < 100; i++) {
    const status = (await podman(['pod', 'inspect', '--format', '{{.State}}', pod.name])).stdout;
    if (!/Running/.test(status)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  for (const c of ['database-load', 'order-food']) {
    const state = await containerState(pod.container(c));
    assert.ok(state, `${c} exists`);
    assert.notEqual(state.status, 'running', `${c} is not running`);
    assert.equal(state.startedAt, neverStarted, `${c} never started`);
  }
  return lines[0]!;
}
