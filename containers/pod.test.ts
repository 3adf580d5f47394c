/**
 * The chart's pod on podman: the rendered Deployment's pod template, adapted for podman 4.3 by
 * podForPodman (containers/lib/pod.ts), played with `podman kube play --network host` against a
 * fresh database on the PostgreSQL the tests use, with the chart's Secret as a podman secret and
 * traces sent to a receiver in the test.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { podStartIds } from '@order-food/platform/telemetry';
import {
  OtlpReceiver,
  type ReceivedSpan,
  receiverOnLoopback,
} from '@order-food/platform/testing/otlp-receiver';
import { repoRoot } from '@order-food/platform/testing/run-program';
import {
  createTestDatabase,
  sql,
  type TestDatabase,
} from '@order-food/platform/testing/test-database';
import { stringify } from 'yaml';
import { render } from '../order-food/test/deploy/render.js';
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
  runChartTest,
  waitForExit,
  waitForReady,
} from './lib/pod.js';
import { images, podman, podmanOk, skipWithoutImages } from './lib/podman.js';

const skip = skipWithoutImages();
const jwtSecret = 'container-suite-jwt-secret-0123456789abcdef';
const migrationFiles = readdirSync(join(repoRoot, 'database-migration/migrations')).filter((f) =>
  f.endsWith('.sql'),
);
const inits = ['database-migration', 'database-load'] as const;
const neverStarted = '0001-01-01T00:00:00Z';

let receiver: OtlpReceiver;
const pods: PodmanPod[] = [];
const databases: TestDatabase[] = [];
let sequence = 0;

interface ChartPod {
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
async function chartPod(databaseUrl: string, options: ChartOptions = {}): Promise<ChartPod> {
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

async function freshDatabase(): Promise<TestDatabase> {
  const db = await createTestDatabase('containers_pod');
  assert.equal(db.kind, 'postgres', 'the pod runs against PostgreSQL');
  databases.push(db);
  return db;
}

async function states(pod: ChartPod): Promise<Record<string, ContainerState>> {
  const out: Record<string, ContainerState> = {};
  for (const c of [...inits, 'order-food']) {
    const state = await containerState(pod.container(c));
    assert.ok(state, `${pod.container(c)} exists`);
    out[c] = state;
  }
  return out;
}

/** A container's environment as podman gave it. */
async function containerEnv(name: string): Promise<Map<string, string>> {
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
async function assertSecured(pod: ChartPod): Promise<void> {
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
async function play(pod: ChartPod): Promise<void> {
  const result = await playPod(pod.played);
  assert.equal(result.code, 0, `podman kube play:\n${result.stderr}`);
}

/** The lines a program printed on stderr as its failure (`NAME: error: …`). */
function errorLines(log: string, program: string): string[] {
  return log.split('\n').filter((l) => l.startsWith(`${program}: error:`));
}

/** Plays a pod whose migration must fail: exit 1, one clear line, nothing after it started. */
async function assertMigrationFails(pod: ChartPod, expected: RegExp): Promise<string> {
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

describe('the chart pod on podman', { skip, concurrency: false }, () => {
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

  it('runs the init containers in order, each exits 0, then the API is ready; the settings hold; helm test passes', async () => {
    const db = await freshDatabase();
    const pod = await chartPod(db.url);
    await play(pod);
    await waitForReady(pod.port, pod.container('order-food'));

    const s = await states(pod);
    for (const c of inits) assert.equal(s[c]!.exitCode, 0, await containerLogs(pod.container(c)));
    assert.ok(s['database-migration']!.finishedAt <= s['database-load']!.startedAt);
    assert.ok(s['database-load']!.finishedAt <= s['order-food']!.startedAt);
    assert.equal(s['order-food']!.status, 'running');
    const migrations = await containerLogs(pod.container('database-migration'));
    assert.match(migrations, new RegExp(`"appliedCount":${migrationFiles.length}`));

    await assertSecured(pod);

    const menu = (await fetch(`http://127.0.0.1:${pod.port}/api/products`).then((r) =>
      r.json(),
    )) as { items: unknown[] };
    assert.ok(menu.items.length > 0, 'the loaded menu');
    await receiver.waitFor((spans) =>
      ['database-migration', 'database-load'].every((service) =>
        spans.some((span) => span.serviceName === service),
      ),
    );

    const chartTest = await runChartTest(pod.played);
    assert.equal(chartTest.code, 0, chartTest.output);
    assert.match(chartTest.output, /\/ready -> 200/);
  });

  it("the seed's initContainers env as written, a receiver standing in for Jaeger on 4318: the pod start is one trace", async (t) => {
    // Jaeger's OTLP port is fixed by the mapping: the receiver has it on a loopback address of its
    // own, which the pod's containers reach on the host network.
    const jaeger = await receiverOnLoopback(4318);
    if (typeof jaeger === 'string') {
      t.skip(jaeger);
      return;
    }
    try {
      const host = new URL(jaeger.url).hostname;
      // The seed's list, with the receiver's host for Jaeger's.
      const env = [
        { name: 'JAEGER_ENDPOINT', value: `http://${host}:14268/api/traces` },
        { name: 'ENVIRONMENT', value: 'kubernetes' },
        { name: 'SERVICE_VERSION', value: '1.0.0' },
      ];
      const db = await freshDatabase();
      // The API has the chart's telemetry settings, its endpoint (http://jaeger:4318 by default)
      // on the receiver's host too.
      const pod = await chartPod(db.url, {
        values: { initContainers: { databaseMigration: { env }, databaseLoad: { env } } },
        otlpEndpoint: `http://${host}:4318`,
      });
      await play(pod);
      await waitForReady(pod.port, pod.container('order-food'));
      const s = await states(pod);
      for (const c of inits) {
        const log = await containerLogs(pod.container(c));
        assert.equal(s[c]!.exitCode, 0, log);
        const lines = log.split('\n').filter((l) => l.includes("is Jaeger's legacy collector URL"));
        assert.equal(lines.length, 1, `${c} says once where its traces go:\n${log}`);
        assert.equal(JSON.parse(lines[0]!).level, 'info', lines[0]);
        assert.ok(lines[0]!.includes(`JAEGER_ENDPOINT=http://${host}:14268/api/traces`), lines[0]);
        assert.ok(lines[0]!.includes(`http://${host}:4318/v1/traces`), lines[0]);
      }

      // The pod start trace: its ids come from the pod's UID, the same in every container.
      const uids = new Set<string | undefined>();
      for (const c of [...inits, 'order-food'])
        uids.add((await containerEnv(pod.container(c))).get('POD_UID'));
      assert.equal(uids.size, 1, `one POD_UID: ${[...uids].join(', ')}`);
      const [uid] = uids;
      assert.ok(uid, 'POD_UID is set');
      const ids = podStartIds(uid);

      // A request with the pod start's context, as a smoke check after a deploy sends it.
      const request = await fetch(`http://127.0.0.1:${pod.port}/api/product`, {
        headers: { traceparent: `00-${ids.traceId}-${ids.spanId}-01` },
      });
      assert.equal(request.status, 200);
      const expected: [string, string][] = [
        ['database-migration', 'pod start'],
        ['database-migration', 'migration.execute'],
        ['database-load', 'dataload.execute'],
        ['order-food', 'order-food start'],
        ['order-food', 'HTTP GET /api/product'],
      ];
      // A bound for spans that never come, not a timing assertion.
      await jaeger.waitFor(
        (spans) =>
          expected.every(([service, name]) =>
            spans.some(
              (span) =>
                span.traceId === ids.traceId && span.serviceName === service && span.name === name,
            ),
          ),
        180_000,
      );

      const trace = jaeger.spans.filter((span) => span.traceId === ids.traceId);
      const one = (service: string, name: string): ReceivedSpan => {
        const found = trace.filter((span) => span.serviceName === service && span.name === name);
        assert.equal(
          found.length,
          1,
          `${service}: ${name} once in the pod start trace; it has ${trace.map((span) => `${span.serviceName}:${span.name}`).join(', ')}`,
        );
        return found[0]!;
      };
      const [root, execute, dataload, start, http] = expected.map(([service, name]) =>
        one(service, name),
      );
      assert.equal(root!.spanId, ids.spanId);
      for (const span of [execute!, dataload!, start!, http!])
        assert.equal(span.parentSpanId, ids.spanId, `${span.name} hangs from the pod start`);
      for (const [earlier, later] of [
        [execute!, dataload!],
        [dataload!, start!],
      ] as const)
        assert.ok(
          BigInt(later.startTimeUnixNano) >= BigInt(earlier.endTimeUnixNano),
          `${later.name} began after ${earlier.name} ended`,
        );
      // The seed's values are the init containers'; the API keeps the chart's environment.
      for (const span of [execute!, dataload!]) {
        assert.equal(span.resource['deployment.environment.name'], 'kubernetes', span.name);
        assert.equal(span.resource['service.version'], '1.0.0', span.name);
      }
      assert.equal(start!.resource['deployment.environment.name'], 'production');
    } finally {
      await jaeger.stop();
    }
  });

  it('a second pod on the same database: both init containers are no-ops; `podman pod stop` drains', async () => {
    const db = await freshDatabase();
    const first = await chartPod(db.url);
    await play(first);
    await waitForReady(first.port, first.container('order-food'));
    const second = await chartPod(db.url);
    await play(second);
    await waitForReady(second.port, second.container('order-food'));

    const s = await states(second);
    for (const c of inits) assert.equal(s[c]!.exitCode, 0);
    assert.match(
      await containerLogs(second.container('database-migration')),
      /"appliedCount":0,"alreadyApplied":\d+.*migration run finished/,
    );
    assert.match(
      await containerLogs(second.container('database-load')),
      /data set already loaded in this mode; nothing to do/,
    );

    // SIGTERM to every container: the API answers /ready 503 while it drains, then exits 0.
    const stop = podman(['pod', 'stop', '--time', '60', second.name]);
    let drained = 0;
    for (let i = 0; i < 100 && drained !== 503; i++) {
      drained = await fetch(`http://127.0.0.1:${second.port}/ready`).then(
        (r) => r.status,
        () => 0,
      );
      if (drained !== 503) await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(drained, 503, '/ready answers 503 during the drain');
    assert.equal((await stop).code, 0);
    const api = await waitForExit(second.container('order-food'));
    assert.equal(api.exitCode, 0, await containerLogs(second.container('order-food')));
    assert.match(await containerLogs(second.container('order-food')), /shut down cleanly/);
  });

  it('three pods started together on a fresh database: each migration and the data set applied once, all ready', async () => {
    const db = await freshDatabase();
    const trio = await Promise.all([chartPod(db.url), chartPod(db.url), chartPod(db.url)]);
    await Promise.all(trio.map((pod) => play(pod)));
    await Promise.all(trio.map((pod) => waitForReady(pod.port, pod.container('order-food'))));
    for (const pod of trio) {
      const s = await states(pod);
      for (const c of inits) assert.equal(s[c]!.exitCode, 0);
    }
    const applied = await sql<{ version: number; n: string }>(
      db,
      'SELECT version, count(*) AS n FROM schema_migrations WHERE success GROUP BY version',
    );
    assert.equal(applied.length, migrationFiles.length);
    assert.ok(applied.every((row) => Number(row.n) === 1));
    const runs = await sql<{ total: string; applying: string; pods: string }>(
      db,
      `SELECT sum(applied_count) AS total, count(*) FILTER (WHERE applied_count > 0) AS applying,
              count(DISTINCT applied_by) AS pods
         FROM schema_migration_runs WHERE success`,
    );
    assert.equal(Number(runs[0]!.total), migrationFiles.length, 'each migration applied once');
    assert.equal(Number(runs[0]!.pods), 3, 'every pod ran its migration');
    const loads = await sql<{ outcome: string }>(db, 'SELECT outcome FROM data_load_history');
    assert.equal(loads.filter((l) => l.outcome === 'loaded').length, 1, 'the data set loaded once');
    const products = await sql<{ n: string }>(db, 'SELECT count(*) AS n FROM products');
    const menu = (await fetch(`http://127.0.0.1:${trio[2]!.port}/api/products?limit=100`).then(
      (r) => r.json(),
    )) as { items: unknown[] };
    assert.equal(menu.items.length, Number(products[0]!.n));
  });

  describe('a failing migration: exit 1 with one clear line, and the API never starts', () => {
    it('an unknown role', async () => {
      const db = await freshDatabase();
      const url = new URL(db.url);
      url.username = 'no_such_role';
      const pod = await chartPod(url.toString());
      await assertMigrationFails(pod, /role "no_such_role" does not exist/);
    });

    it('a database that does not exist', async () => {
      const url = new URL((await freshDatabase()).url);
      url.pathname = `/no_such_database_${process.pid}`;
      // A short wait: the line must name the database whether the program fails at once or after
      // its wait for the database.
      const pod = await chartPod(url.toString(), { set: ['database.waitTimeoutSeconds=5'] });
      await assertMigrationFails(pod, /database "no_such_database_\d+" does not exist/);
    });

    it('a broken migration file baked into an image built from the migration image', async () => {
      const db = await freshDatabase();
      const context = await mkdtemp(join(tmpdir(), 'order-food-broken-'));
      const image = 'localhost/database-migration-broken:test';
      const broken = `${String(migrationFiles.length + 1).padStart(4, '0')}_broken.sql`;
      try {
        await writeFile(
          join(context, broken),
          'CREATE TABLE broken (id integer REFERENCES no_such_table (id));\n',
        );
        await writeFile(
          join(context, 'Containerfile'),
          `FROM ${images['database-migration']}\nCOPY ${broken} database-migration/migrations/\n`,
        );
        await podmanOk(['build', '--network', 'host', '-t', image, context]);
        const pod = await chartPod(db.url, {
          set: [
            'initContainers.databaseMigration.image.repository=localhost/database-migration-broken',
            'initContainers.databaseMigration.image.tag=test',
          ],
        });
        const line = await assertMigrationFails(pod, new RegExp(broken.replace('.', '\\.')));
        assert.match(line, /no_such_table/);
        const applied = await sql<{ version: number; success: boolean }>(
          db,
          'SELECT version, success FROM schema_migrations ORDER BY version',
        );
        assert.deepEqual(
          applied.map((row) => [row.version, row.success]),
          [...migrationFiles.map((_, i) => [i + 1, true]), [migrationFiles.length + 1, false]],
          'the files before it applied, the broken one recorded as failed',
        );
      } finally {
        for (const pod of pods.splice(0)) await removePod(pod);
        await podman(['rmi', '--force', image]);
        await rm(context, { recursive: true, force: true });
      }
    });
  });
});
