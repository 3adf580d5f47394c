/**
 * The Helm chart, continued: the seed's values as written, probes, operator commands, image tags,
 * helm test, monitoring; then values.schema.json and Chart.yaml.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { telemetrySettings } from '@order-food/platform/telemetry';
import { requireTool } from '@order-food/platform/testing/require-tool';
import { repoRoot } from '@order-food/platform/testing/run-program';
import { Ajv } from 'ajv';
import type { IPodSpec } from 'kubernetes-models/v1';
import { parse } from 'yaml';
import {
  apiPod,
  appVersion,
  envOf,
  monitoringFiles,
  type PodOwner,
  seedInitContainers,
} from './chart-fixtures.js';
import type { Manifest } from './kubernetes-schema.js';
import { chartDir, find, render, renderRaw, skipWithoutRenderer } from './render.js';

describe('helm chart order-food/helm: pod, images, monitoring', {
  skip: skipWithoutRenderer(),
}, () => {
  it("takes the seed's initContainers values as the seed writes them, and the pod exports traces", () => {
    const dir = mkdtempSync(join(tmpdir(), 'chart-seed-values-'));
    try {
      const file = join(dir, 'values.yaml');
      writeFileSync(file, seedInitContainers);
      const pod = apiPod(render(['-f', file]));
      const inits = pod.initContainers ?? [];
      assert.deepEqual(
        inits.map((c) => [c.name, c.image]),
        [
          ['database-migration', 'database-migration:latest'],
          ['database-load', 'database-load:latest'],
        ],
      );
      for (const c of inits) {
        const names = (c.env ?? []).map((e) => e.name);
        assert.deepEqual(
          names.filter((n, i) => names.indexOf(n) !== i),
          [],
          `${c.name}: each variable once`,
        );
        const env = envOf(c);
        assert.equal(env.get('JAEGER_ENDPOINT')?.value, 'http://jaeger:14268/api/traces', c.name);
        assert.equal(env.get('ENVIRONMENT')?.value, 'kubernetes', c.name);
        assert.equal(env.get('SERVICE_VERSION')?.value, '1.0.0', c.name);
        assert.equal(env.get('OTEL_SERVICE_NAME')?.value, c.name);
        assert.equal(env.get('POD_UID')?.valueFrom?.fieldRef?.fieldPath, 'metadata.uid', c.name);
        // What the program reads from exactly this environment: export on, to Jaeger's OTLP port.
        const plain = Object.fromEntries(
          (c.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value]),
        );
        const settings = telemetrySettings(c.name, plain);
        assert.equal(settings.enabled, true, c.name);
        assert.equal(settings.tracesUrl, 'http://jaeger:4318/v1/traces', c.name);
        assert.deepEqual(settings.warnings, [], c.name);
      }
      assert.deepEqual(inits[0]!.resources, {
        limits: { cpu: '500m', memory: '256Mi' },
        requests: { cpu: '100m', memory: '128Mi' },
      });
      const api = envOf(pod.containers[0]!);
      assert.equal(api.get('OTEL_EXPORTER_OTLP_ENDPOINT')?.value, 'http://jaeger:4318');
      assert.equal(api.get('ENVIRONMENT')?.value, 'production', 'the API keeps the chart value');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the API has startup, readiness (/ready) and liveness (/health) probes on port 8080', () => {
    const api = apiPod(render()).containers[0]!;
    assert.deepEqual(
      api.ports?.map((p) => [p.name, p.containerPort]),
      [['http', 8080]],
    );
    assert.equal(api.readinessProbe?.httpGet?.path, '/ready');
    assert.equal(api.livenessProbe?.httpGet?.path, '/health');
    assert.ok(api.startupProbe?.httpGet?.path);
    for (const probe of [api.readinessProbe, api.livenessProbe, api.startupProbe]) {
      assert.equal(probe?.httpGet?.port, 'http');
    }
  });

  it('the operator commands find what they name, whatever the release is called', () => {
    for (const release of ['order-food', 'shop']) {
      const objects = render(
        ['--set', 'jaeger.enabled=true', '--set', 'postgresql.enabled=true'],
        release,
      );
      // kubectl port-forward svc/order-food 8080:80 reaches the API's 8080.
      const svc = find(objects, 'Service', 'order-food') as Manifest & {
        spec: {
          ports: Array<{ port: number; targetPort: string }>;
          selector: Record<string, string>;
        };
      };
      assert.deepEqual(
        svc.spec.ports.map((p) => [p.port, p.targetPort]),
        [[80, 'http']],
      );
      // kubectl port-forward svc/jaeger 16686:16686 opens the UI.
      const jaeger = find(objects, 'Service', 'jaeger') as Manifest & {
        spec: { ports: Array<{ port: number }> };
      };
      assert.deepEqual(jaeger.spec.ports.map((p) => p.port).sort(), [16686, 4317, 4318]);
      // kubectl get pods -l app.kubernetes.io/name=order-food selects the API's pods only, and
      // kubectl logs -l … -c database-migration|database-load|order-food finds each container.
      const selected = objects
        .filter((o) => o.kind === 'Deployment')
        .map((o) => o as PodOwner)
        .filter(
          (d) =>
            (d.spec.template as unknown as { metadata: Manifest['metadata'] }).metadata.labels?.[
              'app.kubernetes.io/name'
            ] === 'order-food',
        );
      assert.deepEqual(
        selected.map((d) => d.metadata.name),
        ['order-food'],
      );
      const spec = selected[0]!.spec.template!.spec;
      const names = [...(spec.initContainers ?? []), ...spec.containers].map((c) => c.name);
      assert.deepEqual(names, ['database-migration', 'database-load', 'order-food']);
      const podLabels = (
        selected[0]!.spec.template as unknown as { metadata: Manifest['metadata'] }
      ).metadata.labels!;
      for (const [k, v] of Object.entries(svc.spec.selector))
        assert.equal(podLabels[k], v, `selector ${k}`);
    }
  });

  it('--set image.pullPolicy=Never reaches the API container (and the init containers have their own)', () => {
    const pod = apiPod(
      render([
        '--set',
        'image.pullPolicy=Never',
        '--set',
        'initContainers.databaseMigration.image.pullPolicy=Never',
      ]),
    );
    assert.deepEqual(
      [...(pod.initContainers ?? []), ...pod.containers].map((c) => c.imagePullPolicy),
      ['Never', 'IfNotPresent', 'Never'],
    );
  });

  it("the three images' tag is the chart's appVersion, and one value, image.tag, sets all three", () => {
    const images = (flags: string[]) => {
      const pod = apiPod(render(flags));
      const all = [...(pod.initContainers ?? []), ...pod.containers];
      const version = pod.containers[0]!.env?.find((e) => e.name === 'SERVICE_VERSION')?.value;
      return [...all.map((c) => c.image), version];
    };
    assert.deepEqual(images([]), [
      `database-migration:${appVersion}`,
      `database-load:${appVersion}`,
      `order-food:${appVersion}`,
      appVersion,
    ]);
    assert.deepEqual(images(['--set-string', 'image.tag=2.0.0']), [
      'database-migration:2.0.0',
      'database-load:2.0.0',
      'order-food:2.0.0',
      '2.0.0',
    ]);
    // An init container's own tag still wins, for that container only.
    assert.deepEqual(
      images([
        '--set-string',
        'image.tag=2.0.0',
        '--set-string',
        'initContainers.databaseLoad.image.tag=2.0.0-fix',
      ]),
      ['database-migration:2.0.0', 'database-load:2.0.0-fix', 'order-food:2.0.0', '2.0.0'],
    );
  });

  it('the helm test pod asks the Service for /ready', () => {
    const pod = find(render(), 'Pod', 'order-food-test-ready') as Manifest & { spec: IPodSpec };
    assert.equal(pod.metadata.annotations?.['helm.sh/hook'], 'test');
    assert.notEqual(
      pod.metadata.labels?.['app.kubernetes.io/name'],
      'order-food',
      'kubectl -l finds API pods only',
    );
    assert.ok(pod.spec.containers[0]!.command?.includes('http://order-food:80/ready'));
  });

  it('a chart without its dashboard or rules file refuses to render monitoring, naming the file', () => {
    for (const file of ['files/grafana-dashboard.json', 'files/prometheus-rules.yaml']) {
      const dir = mkdtempSync(join(tmpdir(), 'order-food-chart-'));
      try {
        cpSync(chartDir, dir, { recursive: true });
        rmSync(join(dir, file), { force: true });
        const result = renderRaw(['--set', 'monitoring.enabled=true'], 'order-food', dir);
        assert.notEqual(result.status, 0);
        assert.match(
          result.stderr,
          new RegExp(`${file.replace('.', '\\.')} is missing from the chart`),
        );
        assert.equal(renderRaw([], 'order-food', dir).status, 0, 'without monitoring it renders');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  });

  it('monitoring objects appear only with the monitoring API or when forced', (t) => {
    const kinds = (objects: Manifest[]) =>
      objects.map((o) => o.kind).filter((k) => k === 'ServiceMonitor' || k === 'PrometheusRule');
    assert.deepEqual(kinds(render()), []);
    assert.deepEqual(
      kinds(
        render(['--set', 'monitoring.enabled=false', '--api-versions', 'monitoring.coreos.com/v1']),
      ),
      [],
    );
    if (!monitoringFiles) return;
    const objects = render(['--api-versions', 'monitoring.coreos.com/v1']);
    assert.deepEqual(kinds(objects).sort(), ['PrometheusRule', 'ServiceMonitor']);
    const dashboard = find(objects, 'ConfigMap', 'order-food-grafana-dashboard') as Manifest & {
      data: Record<string, string>;
    };
    assert.equal(dashboard.metadata.labels?.grafana_dashboard, '1');
    const fromFile = JSON.parse(
      readFileSync(join(chartDir, 'files/grafana-dashboard.json'), 'utf8'),
    );
    assert.deepEqual(JSON.parse(dashboard.data['order-food.json']!), fromFile);
    // The rules the PrometheusRule carries are the ones promtool accepts.
    if (!requireTool(t, 'promtool', 'prometheus')) return;
    const rule = find(objects, 'PrometheusRule', 'order-food') as Manifest & {
      spec: { groups: unknown[] };
    };
    const dir = mkdtempSync(join(tmpdir(), 'order-food-rules-'));
    try {
      const file = join(dir, 'rules.yaml');
      writeFileSync(file, JSON.stringify({ groups: rule.spec.groups }));
      const check = spawnSync('promtool', ['check', 'rules', file], {
        encoding: 'utf8',
        timeout: 60_000,
      });
      assert.equal(check.status, 0, `promtool check rules: ${check.stdout}${check.stderr}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('values.schema.json', () => {
  const schema = JSON.parse(readFileSync(join(chartDir, 'values.schema.json'), 'utf8'));
  const values = parse(readFileSync(join(chartDir, 'values.yaml'), 'utf8'));
  const validate = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true }).compile(
    schema,
  );

  it('values.yaml validates against it', () => {
    assert.ok(validate(values), JSON.stringify(validate.errors, null, 2));
  });

  it('rejects a misspelt top-level key', () => {
    assert.equal(validate({ ...values, initContainer: values.initContainers }), false);
    assert.ok(
      validate.errors?.some(
        (e) =>
          e.keyword === 'additionalProperties' && e.params.additionalProperty === 'initContainer',
      ),
    );
  });

  it('rejects wrong types and enums, and describes every top-level value', () => {
    const bad = structuredClone(values);
    bad.image.pullPolicy = 'Sometimes';
    bad.initContainers.databaseLoad.enabled = 'yes';
    assert.equal(validate(bad), false);
    const paths = validate.errors!.map((e) => e.instancePath).sort();
    assert.deepEqual(paths, ['/image/pullPolicy', '/initContainers/databaseLoad/enabled']);
    assert.deepEqual(Object.keys(schema.properties).sort(), Object.keys(values).sort());
    assert.deepEqual([...schema.required].sort(), Object.keys(values).sort());
  });

  it('the values keep the seed shape for both init containers', () => {
    for (const key of ['databaseMigration', 'databaseLoad']) {
      const init = values.initContainers[key];
      assert.deepEqual(Object.keys(init).sort(), ['enabled', 'env', 'image', 'resources']);
      assert.deepEqual(Object.keys(init.image).sort(), ['pullPolicy', 'repository', 'tag']);
      assert.equal(init.enabled, true);
    }
    assert.equal(values.postgresql.enabled, false);
    assert.equal(values.jaeger.enabled, false);
  });
});

describe('Chart.yaml', () => {
  it('its appVersion is the version the images are tagged with', () => {
    const chart = parse(readFileSync(join(chartDir, 'Chart.yaml'), 'utf8'));
    for (const workspace of ['database-migration', 'database-load', 'order-food']) {
      const pkg = JSON.parse(readFileSync(join(repoRoot, workspace, 'package.json'), 'utf8'));
      assert.equal(chart.appVersion, pkg.version, workspace);
    }
    assert.equal(chart.apiVersion, 'v2');
    assert.equal(chart.name, 'order-food');
  });
});
