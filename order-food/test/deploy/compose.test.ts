/**
 * docker-compose.yml: valid against the Compose Specification schema, readable by docker-compose
 * 1.29 and Compose v2, the pod order in depends_on conditions, one TRACEPARENT for the three
 * programs, the monitoring profile wired up. The stack itself runs in containers/compose.test.ts.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { requireTool } from '@order-food/platform/testing/require-tool';
import { repoRoot } from '@order-food/platform/testing/run-program';
import { Ajv } from 'ajv';
import { parse } from 'yaml';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');

interface Service {
  image?: string;
  build?: { context: string; dockerfile: string; args?: Record<string, string> };
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  profiles?: string[];
  ports?: string[];
  volumes?: string[];
  read_only?: boolean;
  tmpfs?: string[];
  user?: string;
  cap_drop?: string[];
  restart?: string;
}

const text = readFileSync(join(repoRoot, 'docker-compose.yml'), 'utf8');
const compose = parse(text, { merge: true }) as { services: Record<string, Service> };
const services = compose.services;
const programs = ['database-migration', 'database-load', 'order-food'] as const;

/** ${VAR:-default} → default, as compose interpolates with VAR unset. */
function interpolate(value: string): string {
  return value.replace(/\$\{(\w+)(?::?-([^}]*))?\}/g, (_, _name, fallback) => fallback ?? '');
}

describe('docker-compose.yml', () => {
  it('validates against the Compose Specification schema', () => {
    const schema = JSON.parse(readFileSync(join(fixtures, 'compose-spec.json'), 'utf8'));
    const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false });
    const validate = ajv.compile(schema);
    assert.ok(validate(compose), ajv.errorsText(validate.errors));
    // And a mistake is caught: an unknown service key.
    const broken = structuredClone(compose) as unknown as {
      services: Record<string, Record<string, unknown>>;
    };
    broken.services['order-food']!.depends = ['database-load'];
    assert.equal(validate(broken), false);
  });

  it('is a file docker-compose 1.29 reads too: no top-level name, healthchecks podman keeps whole', () => {
    // 1.29 allows these top-level keys and x- extensions; `name:` it refuses outright.
    const known = ['version', 'services', 'networks', 'volumes', 'secrets', 'configs'];
    for (const key of Object.keys(compose)) {
      assert.ok(known.includes(key) || key.startsWith('x-'), `top-level ${key}`);
    }
    // Podman's Docker API splits every argument of a CMD test on spaces; CMD-SHELL stays whole.
    for (const [name, service] of Object.entries(services)) {
      const test = service.healthcheck?.test;
      if (!test) continue;
      if (test[0] === 'CMD-SHELL') assert.equal(test.length, 2, name);
      else {
        assert.equal(test[0], 'CMD', name);
        for (const arg of test.slice(1)) assert.doesNotMatch(arg, /\s/, `${name}: "${arg}"`);
      }
    }
    // The API's check follows PORT, so the API can listen elsewhere (the containers suite does).
    assert.match(services['order-food']!.healthcheck!.test[1]!, /process\.env\.PORT \|\| 8080/);
  });

  it('enforces the pod order: postgres healthy -> migration exit 0 -> load exit 0 -> API', () => {
    assert.ok(services.postgres?.healthcheck, 'postgres has a healthcheck');
    const dep = (from: string, to: string) => services[from]?.depends_on?.[to]?.condition;
    assert.equal(dep('database-migration', 'postgres'), 'service_healthy');
    assert.equal(dep('database-load', 'database-migration'), 'service_completed_successfully');
    assert.equal(dep('order-food', 'database-load'), 'service_completed_successfully');
    assert.equal(dep('order-food', 'database-migration'), 'service_completed_successfully');
    assert.equal(
      services['database-migration']?.restart,
      'no',
      'a failed migration is not retried into the API',
    );
    assert.equal(services['database-load']?.restart, 'no');
    assert.ok(services['order-food']?.healthcheck?.test.join(' ').includes('/ready'));
  });

  it('builds the three images from the repository root, tagged with the package version', () => {
    for (const name of programs) {
      const service = services[name]!;
      assert.equal(service.build?.context, '.');
      assert.equal(service.build?.dockerfile, `${name}/Dockerfile`);
      assert.ok(existsSync(join(repoRoot, service.build!.dockerfile)));
      const version = JSON.parse(
        readFileSync(join(repoRoot, name, 'package.json'), 'utf8'),
      ).version;
      assert.equal(interpolate(service.image!), `${name}:${version}`);
    }
  });

  it('gives the three programs one TRACEPARENT, their service names and the Jaeger endpoint', () => {
    const traceparents = new Set(programs.map((n) => services[n]!.environment!.TRACEPARENT));
    assert.equal(traceparents.size, 1, 'one TRACEPARENT for all three');
    assert.match(interpolate([...traceparents][0]!), /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    for (const name of programs) {
      const env = services[name]!.environment!;
      assert.equal(env.OTEL_SERVICE_NAME, name);
      assert.equal(env.OTEL_EXPORTER_OTLP_ENDPOINT, 'http://jaeger:4318');
      assert.match(interpolate(env.DATABASE_URL!), /^postgres:\/\/[^@]+@postgres:5432\//);
      assert.ok(env.DB_WAIT_TIMEOUT);
    }
    assert.ok(services['order-food']!.environment!.JWT_SECRET);
    const jaegerPorts = services.jaeger!.ports!.map((p) => p.split(':')[1]);
    assert.deepEqual(jaegerPorts.sort(), ['16686', '4317', '4318']);
    assert.deepEqual(services['order-food']!.ports, ['8080:8080']);
  });

  it('runs the programs as in the pod: numeric non-root user, read-only root, writable /tmp', () => {
    for (const name of programs) {
      const s = services[name]!;
      assert.equal(s.read_only, true, name);
      assert.deepEqual(s.tmpfs, ['/tmp'], name);
      assert.match(s.user!, /^[1-9]\d*:\d+$/, name);
      assert.deepEqual(s.cap_drop, ['ALL'], name);
    }
  });

  it('the monitoring profile runs Prometheus and Grafana on the API, the chart rules and dashboard', (t) => {
    for (const name of ['prometheus', 'grafana'])
      assert.deepEqual(services[name]?.profiles, ['monitoring']);
    for (const name of Object.keys(services)) {
      if (name !== 'prometheus' && name !== 'grafana')
        assert.equal(services[name]!.profiles, undefined, name);
    }
    const mounts = [...services.prometheus!.volumes!, ...services.grafana!.volumes!].map(
      (v) => v.split(':')[0]!,
    );
    for (const source of mounts) {
      assert.ok(existsSync(join(repoRoot, source)), `bind-mount source ${source} exists`);
    }
    assert.ok(mounts.includes('./order-food/helm/files/grafana-dashboard.json'));
    assert.ok(mounts.includes('./order-food/helm/files/prometheus-rules.yaml'));

    const config = parse(readFileSync(join(repoRoot, 'deploy/prometheus/prometheus.yml'), 'utf8'));
    const targets = config.scrape_configs.flatMap(
      (c: { static_configs: Array<{ targets: string[] }> }) =>
        c.static_configs.flatMap((s) => s.targets),
    );
    assert.deepEqual(targets, ['order-food:8080']);
    // The dashboard selects by namespace and pod, as a Kubernetes scrape labels them.
    const labels = config.scrape_configs[0].static_configs[0].labels;
    const dashboard = readFileSync(
      join(repoRoot, 'order-food/helm/files/grafana-dashboard.json'),
      'utf8',
    );
    for (const label of ['namespace', 'pod']) {
      if (dashboard.includes(`${label}=`)) assert.ok(labels?.[label], `the scrape sets ${label}`);
    }
    if (!requireTool(t, 'promtool', 'prometheus')) return;
    const check = spawnSync('promtool', ['check', 'config', 'prometheus.yml'], {
      cwd: join(repoRoot, 'deploy/prometheus'),
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(check.status, 0, `${check.stdout}${check.stderr}`);
  });
});
