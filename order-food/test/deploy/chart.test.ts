/**
 * The Helm chart: renders in every supported configuration, every object is valid for the
 * Kubernetes API (schema and unknown fields), the pod runs the seed's init containers in order,
 * every container meets Pod Security "restricted", secrets only via secretKeyRef, and the
 * operator commands of the docs find what they look for.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { telemetrySettings } from '@order-food/platform/telemetry';
import { requireTool } from '@order-food/platform/testing/require-tool';
import { repoRoot } from '@order-food/platform/testing/run-program';
import { Ajv } from 'ajv';
import type { IContainer, IPodSpec } from 'kubernetes-models/v1';
import { parse } from 'yaml';
import { type Manifest, unknownFields, validateWithModels } from './kubernetes-schema.js';
import { chartDir, find, render, renderRaw, skipWithoutRenderer } from './render.js';

/** The release the chart deploys: its images' default tag and the programs' SERVICE_VERSION. */
const appVersion: string = parse(readFileSync(join(chartDir, 'Chart.yaml'), 'utf8')).appVersion;

const monitoringFiles = ['files/grafana-dashboard.json', 'files/prometheus-rules.yaml'].every((f) =>
  existsSync(join(chartDir, f)),
);

const scenarios: Record<string, string[]> = {
  'default values': [],
  'database-migration disabled': ['--set', 'initContainers.databaseMigration.enabled=false'],
  'database-load disabled': ['--set', 'initContainers.databaseLoad.enabled=false'],
  'both init containers disabled': [
    '--set',
    'initContainers.databaseMigration.enabled=false',
    '--set',
    'initContainers.databaseLoad.enabled=false',
  ],
  'minikube dependencies (postgresql + jaeger)': [
    '--set',
    'postgresql.enabled=true',
    '--set',
    'jaeger.enabled=true',
  ],
  'monitoring API present': ['--api-versions', 'monitoring.coreos.com/v1'],
  'everything optional on': [
    '--set',
    'ingress.enabled=true',
    '--set',
    'autoscaling.enabled=true',
    '--set',
    'networkPolicy.enabled=true',
    '--set',
    'shutdown.preStopSleepSeconds=3',
    '--set',
    'monitoring.enabled=true',
  ],
};

type PodOwner = Manifest & { spec: { template?: { spec: IPodSpec } } & IPodSpec };

function podSpecs(objects: Manifest[]): Array<{ owner: string; spec: IPodSpec }> {
  const out: Array<{ owner: string; spec: IPodSpec }> = [];
  for (const o of objects as PodOwner[]) {
    if (o.kind === 'Deployment')
      out.push({ owner: `Deployment/${o.metadata.name}`, spec: o.spec.template!.spec });
    if (o.kind === 'Pod') out.push({ owner: `Pod/${o.metadata.name}`, spec: o.spec });
  }
  return out;
}

function apiPod(objects: Manifest[]): IPodSpec {
  return (find(objects, 'Deployment', 'order-food') as PodOwner).spec.template!.spec;
}

/** The initContainers values of the system description, verbatim. */
const seedInitContainers = `initContainers:
  databaseMigration:
    enabled: true
    image:
      repository: database-migration
      tag: "latest"
      pullPolicy: IfNotPresent
    env:
      - name: JAEGER_ENDPOINT
        value: "http://jaeger:14268/api/traces"
      - name: ENVIRONMENT
        value: "kubernetes"
      - name: SERVICE_VERSION
        value: "1.0.0"
    resources:
      limits:
        cpu: 500m
        memory: 256Mi
      requests:
        cpu: 100m
        memory: 128Mi

  databaseLoad:
    enabled: true
    image:
      repository: database-load
      tag: "latest"
      pullPolicy: IfNotPresent
    env:
      - name: JAEGER_ENDPOINT
        value: "http://jaeger:14268/api/traces"
      - name: ENVIRONMENT
        value: "kubernetes"
      - name: SERVICE_VERSION
        value: "1.0.0"
    resources:
      limits:
        cpu: 500m
        memory: 256Mi
      requests:
        cpu: 100m
        memory: 128Mi
`;

function envOf(container: IContainer): Map<string, NonNullable<IContainer['env']>[number]> {
  return new Map((container.env ?? []).map((e) => [e.name, e]));
}

// ServiceMonitor and PrometheusRule are CRDs kubernetes-models does not carry: check their shape.
const crdSchemas = {
  ServiceMonitor: {
    type: 'object',
    required: ['apiVersion', 'kind', 'metadata', 'spec'],
    properties: {
      apiVersion: { const: 'monitoring.coreos.com/v1' },
      spec: {
        type: 'object',
        additionalProperties: false,
        required: ['selector', 'endpoints'],
        properties: {
          selector: { type: 'object', required: ['matchLabels'] },
          namespaceSelector: { type: 'object' },
          endpoints: {
            type: 'array',
            minItems: 1,
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['port'],
              properties: {
                port: { type: 'string' },
                path: { type: 'string' },
                interval: { type: 'string', pattern: '^[0-9]+(ms|s|m|h)$' },
                scrapeTimeout: { type: 'string', pattern: '^[0-9]+(ms|s|m|h)$' },
              },
            },
          },
        },
      },
    },
  },
  PrometheusRule: {
    type: 'object',
    required: ['apiVersion', 'kind', 'metadata', 'spec'],
    properties: {
      apiVersion: { const: 'monitoring.coreos.com/v1' },
      spec: {
        type: 'object',
        additionalProperties: false,
        required: ['groups'],
        properties: {
          groups: {
            type: 'array',
            minItems: 1,
            items: { type: 'object', required: ['name', 'rules'] },
          },
        },
      },
    },
  },
} as const;

async function validateAll(objects: Manifest[]): Promise<void> {
  const ajv = new Ajv({ allErrors: true, strict: false });
  for (const o of objects) {
    if (o.apiVersion === 'monitoring.coreos.com/v1') {
      const schema = crdSchemas[o.kind as keyof typeof crdSchemas];
      assert.ok(schema, `unexpected monitoring kind ${o.kind}`);
      const ok = ajv.validate(schema, o);
      assert.ok(ok, `${o.kind}/${o.metadata.name}: ${ajv.errorsText()}`);
      continue;
    }
    await validateWithModels(o);
    assert.deepEqual(
      unknownFields(o),
      [],
      `${o.kind}/${o.metadata.name} has fields Kubernetes does not know`,
    );
  }
}

describe('helm chart order-food/helm', { skip: skipWithoutRenderer() }, () => {
  for (const [name, args] of Object.entries(scenarios)) {
    const needsMonitoringFiles = args.some((a) => a.includes('monitoring'));
    it(`renders with ${name} and every object validates against the Kubernetes API`, async () => {
      if (needsMonitoringFiles && !monitoringFiles) {
        // Until the dashboard and rules files exist the chart must refuse clearly, not render half.
        const result = renderRaw(args);
        assert.notEqual(result.status, 0);
        assert.match(
          result.stderr,
          /files\/(grafana-dashboard\.json|prometheus-rules\.yaml) is missing/,
        );
        return;
      }
      const objects = render(args);
      assert.ok(objects.length >= 4, 'renders the release objects');
      await validateAll(objects);
      for (const o of objects) {
        assert.equal(
          o.metadata.labels?.['app.kubernetes.io/part-of'],
          'order-food',
          `${o.kind}/${o.metadata.name} labels`,
        );
      }
    });
  }

  it('the strict field check catches a misspelt field', () => {
    const objects = render();
    const deployment = structuredClone(find(objects, 'Deployment', 'order-food')) as PodOwner;
    const container = deployment.spec.template!.spec.containers[0] as unknown as Record<
      string,
      unknown
    >;
    container.readinessprobe = { httpGet: { path: '/ready', port: 'http' } };
    (container.securityContext as Record<string, unknown>).readOnlyRootFileSystem = true;
    assert.deepEqual(unknownFields(deployment).sort(), [
      'Deployment/order-food.spec.template.spec.containers[0].readinessprobe',
      'Deployment/order-food.spec.template.spec.containers[0].securityContext.readOnlyRootFileSystem',
    ]);
  });

  it('counts the connections the release may hold against database.maxConnections', () => {
    const budget = (args: string[]) =>
      find(render(args), 'Deployment', 'order-food').metadata.annotations?.[
        'order-food/database-connections'
      ];
    // replicas x (pool + notification connection) + 2 per starting pod's init containers.
    assert.equal(budget([]), '13 of 100');
    assert.equal(budget(['--set', 'autoscaling.enabled=true']), '130 of 100');
    assert.equal(
      budget(['--set', 'autoscaling.enabled=true', '--set', 'database.poolSize=5']),
      '80 of 100',
    );
    // Through a pooler only the init containers' connections reach PostgreSQL directly.
    assert.equal(
      budget(['--set', 'autoscaling.enabled=true', '--set', 'database.pooled=true']),
      '20 of 100',
    );
    const notes = readFileSync(join(chartDir, 'templates/NOTES.txt'), 'utf8');
    assert.match(notes, /include "order-food\.connectionBudget"/);
    assert.match(notes, /PgBouncer in transaction mode/);
    assert.match(notes, /lower database\.poolSize/);
  });

  it('passes DATABASE_DIRECT_URL to the init containers only, from the Secret', () => {
    const envNames = (args: string[]) => {
      const objects = render(args);
      const pod = (find(objects, 'Deployment', 'order-food') as PodOwner).spec.template!.spec;
      const names = (c: { env?: Array<{ name: string }> }) =>
        (c.env ?? []).map((e) => e.name).filter((n) => n === 'DATABASE_DIRECT_URL');
      return {
        init: (pod.initContainers ?? []).map(names),
        api: names(pod.containers[0]!),
        secret: Object.keys(
          (find(objects, 'Secret', 'order-food') as Manifest & { data: object }).data,
        ),
      };
    };
    const none = envNames([]);
    assert.deepEqual(none.init, [[], []]);
    assert.ok(!none.secret.includes('DATABASE_DIRECT_URL'));
    const direct = envNames(['--set', 'database.directUrl=postgres://app@db:5432/app']);
    assert.deepEqual(direct.init, [['DATABASE_DIRECT_URL'], ['DATABASE_DIRECT_URL']]);
    assert.deepEqual(direct.api, []);
    assert.ok(direct.secret.includes('DATABASE_DIRECT_URL'));
  });

  it('runs database-migration, then database-load, then the API, with the seed names', () => {
    const cases: Array<[string[], string[]]> = [
      [[], ['database-migration', 'database-load']],
      [['--set', 'initContainers.databaseMigration.enabled=false'], ['database-load']],
      [['--set', 'initContainers.databaseLoad.enabled=false'], ['database-migration']],
      [
        [
          '--set',
          'initContainers.databaseMigration.enabled=false',
          '--set',
          'initContainers.databaseLoad.enabled=false',
        ],
        [],
      ],
    ];
    for (const [args, expected] of cases) {
      const pod = apiPod(render(args));
      assert.deepEqual(
        (pod.initContainers ?? []).map((c) => c.name),
        expected,
        args.join(' '),
      );
      assert.deepEqual(
        pod.containers.map((c) => c.name),
        ['order-food'],
      );
    }
    const pod = apiPod(render());
    assert.deepEqual(
      [...(pod.initContainers ?? []), ...pod.containers].map((c) => c.image),
      ['database-migration', 'database-load', 'order-food'].map((i) => `${i}:${appVersion}`),
    );
  });

  it('every container of every pod meets Pod Security "restricted" with a read-only root and /tmp', () => {
    for (const args of Object.values(scenarios)) {
      if (args.some((a) => a.includes('monitoring')) && !monitoringFiles) continue;
      for (const { owner, spec } of podSpecs(render(args))) {
        assert.equal(
          spec.automountServiceAccountToken,
          false,
          `${owner} automountServiceAccountToken`,
        );
        assert.equal(spec.securityContext?.runAsNonRoot, true, `${owner} runAsNonRoot`);
        assert.equal(spec.securityContext?.seccompProfile?.type, 'RuntimeDefault', owner);
        assert.ok((spec.securityContext?.runAsUser ?? 0) > 0, `${owner} numeric non-root user`);
        assert.ok(!spec.hostNetwork && !spec.hostPID && !spec.hostIPC, owner);
        const tmpVolume = spec.volumes?.find((v) => v.name === 'tmp');
        assert.ok(tmpVolume?.emptyDir, `${owner} has an emptyDir named tmp`);
        for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
          const where = `${owner} container ${c.name}`;
          const sc = c.securityContext;
          assert.equal(sc?.allowPrivilegeEscalation, false, `${where} allowPrivilegeEscalation`);
          assert.deepEqual(sc?.capabilities?.drop, ['ALL'], `${where} drops ALL`);
          assert.equal(sc?.capabilities?.add, undefined, `${where} adds no capability`);
          assert.equal(sc?.runAsNonRoot, true, `${where} runAsNonRoot`);
          assert.equal(sc?.seccompProfile?.type, 'RuntimeDefault', `${where} seccomp`);
          assert.equal(sc?.readOnlyRootFilesystem, true, `${where} read-only root`);
          assert.notEqual(sc?.privileged, true, where);
          assert.ok(
            c.volumeMounts?.some((m) => m.name === 'tmp' && m.mountPath === '/tmp'),
            `${where} mounts the emptyDir on /tmp`,
          );
          assert.ok(
            c.resources?.requests && c.resources.limits,
            `${where} has requests and limits`,
          );
        }
      }
    }
  });

  it('secrets reach containers only through secretKeyRef, never as plain values', () => {
    for (const args of [[], ['--set', 'postgresql.enabled=true', '--set', 'jaeger.enabled=true']]) {
      const objects = render(args);
      const secrets = new Set(
        objects.filter((o) => o.kind === 'Secret').map((o) => o.metadata.name),
      );
      for (const { owner, spec } of podSpecs(objects)) {
        for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
          for (const e of c.env ?? []) {
            if (/PASSWORD|SECRET|DATABASE_URL|TOKEN/.test(e.name)) {
              assert.equal(e.value, undefined, `${owner}/${c.name} ${e.name} is a plain value`);
              const ref = e.valueFrom?.secretKeyRef;
              assert.ok(ref, `${owner}/${c.name} ${e.name} comes from a Secret`);
              assert.ok(
                secrets.has(ref.name!),
                `${owner}/${c.name} ${e.name}: Secret ${ref.name} is rendered`,
              );
            }
            assert.doesNotMatch(
              String(e.value ?? ''),
              /postgres(ql)?:\/\/[^@\s]*:[^@\s]*@/,
              `${c.name} ${e.name}`,
            );
          }
        }
      }
    }
    const pod = apiPod(render());
    const api = envOf(pod.containers[0]!);
    assert.equal(api.get('JWT_SECRET')?.valueFrom?.secretKeyRef?.name, 'order-food');
    for (const c of pod.initContainers ?? []) {
      assert.equal(
        envOf(c).get('DATABASE_URL')?.valueFrom?.secretKeyRef?.key,
        'DATABASE_URL',
        c.name,
      );
      assert.equal(envOf(c).has('JWT_SECRET'), false, `${c.name} does not need the JWT key`);
    }
  });

  it('the chart makes no Secret when existingSecret names one, and references it', () => {
    const objects = render(['--set', 'secret.existingSecret=order-food-prod']);
    assert.equal(objects.filter((o) => o.kind === 'Secret').length, 0);
    const pod = apiPod(objects);
    for (const c of [...(pod.initContainers ?? []), ...pod.containers]) {
      assert.equal(envOf(c).get('DATABASE_URL')?.valueFrom?.secretKeyRef?.name, 'order-food-prod');
    }
  });

  it('the development PostgreSQL and the API share one generated password', () => {
    const objects = render(['--set', 'postgresql.enabled=true']);
    const data = (name: string) =>
      (find(objects, 'Secret', name) as Manifest & { data: Record<string, string> }).data;
    const password = Buffer.from(
      data('order-food-postgresql').POSTGRES_PASSWORD!,
      'base64',
    ).toString();
    const url = new URL(Buffer.from(data('order-food').DATABASE_URL!, 'base64').toString());
    assert.ok(password.length >= 16);
    assert.equal(decodeURIComponent(url.password), password);
    assert.equal(url.hostname, 'order-food-postgresql');
    find(objects, 'Service', 'order-food-postgresql');
  });

  it('every container gets the pod identity, OTEL settings and DB_WAIT_TIMEOUT; the API its drain', () => {
    const pod = apiPod(render(['--set', 'jaeger.enabled=true']));
    const all = [...(pod.initContainers ?? []), ...pod.containers];
    for (const c of all) {
      const env = envOf(c);
      assert.equal(env.get('POD_UID')?.valueFrom?.fieldRef?.fieldPath, 'metadata.uid', c.name);
      assert.equal(env.get('POD_NAME')?.valueFrom?.fieldRef?.fieldPath, 'metadata.name', c.name);
      assert.equal(env.get('OTEL_SERVICE_NAME')?.value, c.name);
      assert.equal(env.get('OTEL_EXPORTER_OTLP_ENDPOINT')?.value, 'http://jaeger:4318');
      assert.equal(env.get('DB_WAIT_TIMEOUT')?.value, '60');
      assert.equal(env.get('SERVICE_VERSION')?.value, appVersion);
      assert.ok(env.get('ENVIRONMENT')?.value);
      for (const e of c.env ?? []) {
        for (const ref of String(e.value ?? '').matchAll(/\$\((\w+)\)/g)) {
          const index = (c.env ?? []).findIndex((x) => x.name === ref[1]);
          assert.ok(
            index >= 0 && index < (c.env ?? []).indexOf(e),
            `${c.name} ${e.name} refers to ${ref[1]} defined before it`,
          );
        }
      }
    }
    const api = envOf(pod.containers[0]!);
    assert.equal(api.get('OTEL_TRACES_SAMPLER')?.value, 'parentbased_traceidratio');
    assert.equal(api.get('OTEL_TRACES_SAMPLER_ARG')?.value, '0.1');
    assert.equal(api.get('SHUTDOWN_DRAIN_DELAY')?.value, '5');
    assert.equal(api.get('PORT')?.value, '8080');
    const drain = Number(api.get('SHUTDOWN_DRAIN_DELAY')?.value);
    const timeout = Number(api.get('SHUTDOWN_TIMEOUT')?.value);
    assert.ok(
      pod.terminationGracePeriodSeconds! >= drain + timeout,
      'the grace period covers drain + close',
    );

    const withPreStop = apiPod(
      render(['--set', 'shutdown.preStopSleepSeconds=3', '--set', 'shutdown.drainDelaySeconds=7']),
    );
    const c = withPreStop.containers[0]!;
    assert.equal(c.lifecycle?.preStop?.sleep?.seconds, 3);
    assert.equal(envOf(c).get('SHUTDOWN_DRAIN_DELAY')?.value, '7');
    assert.ok(
      withPreStop.terminationGracePeriodSeconds! >=
        3 + 7 + Number(envOf(c).get('SHUTDOWN_TIMEOUT')?.value),
    );

    const off = apiPod(render(['--set', 'telemetry.enabled=false']));
    assert.equal(envOf(off.containers[0]!).get('OTEL_SDK_DISABLED')?.value, 'true');
  });

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
