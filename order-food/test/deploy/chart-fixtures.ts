/** What the chart tests share: the scenarios rendered, pod specs, CRD schemas, validation. */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import type { IContainer, IPodSpec } from 'kubernetes-models/v1';
import { parse } from 'yaml';
import { type Manifest, unknownFields, validateWithModels } from './kubernetes-schema.js';
import { chartDir, find } from './render.js';

/** The release the chart deploys: its images' default tag and the programs' SERVICE_VERSION. */
export const appVersion: string = parse(
  readFileSync(join(chartDir, 'Chart.yaml'), 'utf8'),
).appVersion;

export const monitoringFiles = [
  'files/grafana-dashboard.json',
  'files/prometheus-rules.yaml',
].every((f) => existsSync(join(chartDir, f)));

export const scenarios: Record<string, string[]> = {
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

export type PodOwner = Manifest & { spec: { template?: { spec: IPodSpec } } & IPodSpec };

export function podSpecs(objects: Manifest[]): Array<{ owner: string; spec: IPodSpec }> {
  const out: Array<{ owner: string; spec: IPodSpec }> = [];
  for (const o of objects as PodOwner[]) {
    if (o.kind === 'Deployment')
      out.push({ owner: `Deployment/${o.metadata.name}`, spec: o.spec.template!.spec });
    if (o.kind === 'Pod') out.push({ owner: `Pod/${o.metadata.name}`, spec: o.spec });
  }
  return out;
}

export function apiPod(objects: Manifest[]): IPodSpec {
  return (find(objects, 'Deployment', 'order-food') as PodOwner).spec.template!.spec;
}

/** The initContainers values of the system description, verbatim. */
export const seedInitContainers = `initContainers:
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

export function envOf(container: IContainer): Map<string, NonNullable<IContainer['env']>[number]> {
  return new Map((container.env ?? []).map((e) => [e.name, e]));
}

// ServiceMonitor and PrometheusRule are CRDs kubernetes-models does not carry: check their shape.
export const crdSchemas = {
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

export async function validateAll(objects: Manifest[]): Promise<void> {
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
