/**
 * The chart's pod on podman: the rendered manifests adapted for `podman kube play` (4.3), and
 * what a scenario does with the result (play it, read its containers, clean up).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@order-food/platform/testing/free-port';
import { stringify } from 'yaml';
import type { Manifest } from '../../order-food/test/deploy/kubernetes-schema.js';
import { type PodmanResult, podman, podmanOk } from './podman.js';

export { freePort };

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name: string; key: string };
    fieldRef?: { fieldPath: string };
  };
}

interface Container {
  name: string;
  image: string;
  command?: string[];
  env?: EnvVar[];
  volumeMounts?: { name: string; mountPath: string }[];
  ports?: unknown[];
  startupProbe?: unknown;
  readinessProbe?: unknown;
  livenessProbe?: unknown;
}

interface PodSpec {
  restartPolicy?: string;
  initContainers?: Container[];
  containers: Container[];
  volumes?: { name: string; emptyDir?: object }[];
}

interface PodTemplate {
  metadata: { labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: PodSpec;
}

export interface PodmanPodOptions {
  /** The pod's name; podman names its containers NAME-CONTAINER. Unique per scenario. */
  name: string;
  /** The API's PORT: pods share the host's network, so each needs a port of its own. */
  port: number;
  /** The namespace the pods are told they run in (podman has none). */
  namespace?: string;
}

export interface PodmanPod {
  /** The Deployment's pod template as a Pod, for `podman kube play`. */
  pod: Manifest;
  /** The chart's Secrets under per-pod names: `podman secret create NAME` with the document. */
  secrets: { name: string; document: string }[];
  /** The chart's `helm test` pod, asking this pod's API instead of the Service. */
  test: Manifest | undefined;
  /** The podman volumes that stand for emptyDir volumes. */
  volumes: string[];
}

const annotationLimit = 63;

/**
 * Adapts the rendered chart for podman 4.3, changing only what podman cannot do as a cluster
 * would (Pod with restartPolicy Never, podman secrets, no containerPort/probes, plain namespace,
 * short annotations, kept init containers, per-pod emptyDir and PORT): docs/DEPLOYMENT.md's table.
 */
export function podForPodman(manifests: Manifest[], options: PodmanPodOptions): PodmanPod {
  const deployment = manifests.find((m) => m.kind === 'Deployment');
  if (!deployment) throw new Error('the chart rendered no Deployment');
  const template = structuredClone((deployment.spec as { template: PodTemplate }).template);
  const secretName = (name: string) => `${options.name}-${name}`;

  const adapt = (container: Container) => {
    delete container.ports;
    delete container.startupProbe;
    delete container.readinessProbe;
    delete container.livenessProbe;
    container.env = container.env?.map((variable) => {
      const from = variable.valueFrom;
      if (from?.fieldRef?.fieldPath === 'metadata.namespace')
        return { name: variable.name, value: options.namespace ?? 'default' };
      if (from?.secretKeyRef)
        return {
          name: variable.name,
          valueFrom: {
            secretKeyRef: { ...from.secretKeyRef, name: secretName(from.secretKeyRef.name) },
          },
        };
      if (variable.name === 'PORT') return { name: 'PORT', value: String(options.port) };
      return variable;
    });
  };
  const volumes: string[] = [];
  const ownVolumes = (spec: PodSpec, pod: string) => {
    const renamed = new Map<string, string>();
    for (const volume of spec.volumes ?? []) {
      if (!volume.emptyDir) continue;
      renamed.set(volume.name, `${pod}-${volume.name}`);
      volume.name = `${pod}-${volume.name}`;
      volumes.push(volume.name);
    }
    for (const container of [...(spec.initContainers ?? []), ...spec.containers]) {
      for (const mount of container.volumeMounts ?? [])
        mount.name = renamed.get(mount.name) ?? mount.name;
    }
  };
  for (const container of [...(template.spec.initContainers ?? []), ...template.spec.containers])
    adapt(container);
  ownVolumes(template.spec, options.name);

  const annotations = Object.fromEntries(
    Object.entries(template.metadata.annotations ?? {}).map(([k, v]) => [
      k,
      v.slice(0, annotationLimit),
    ]),
  );
  // podman removes a finished init container unless told otherwise; kept, its exit code and log
  // can be read as `kubectl` reads them from a pod's status.
  annotations['io.podman.annotations.init.container.type'] = 'always';
  const pod: Manifest = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: options.name, labels: template.metadata.labels ?? {}, annotations },
    spec: { ...template.spec, restartPolicy: 'Never' },
  };

  const secrets = manifests
    .filter((m) => m.kind === 'Secret')
    .map((m) => {
      const { data, stringData } = m as { data?: Record<string, string>; stringData?: object };
      const encoded = Object.entries(stringData ?? {}).map(([k, v]) => [
        k,
        Buffer.from(String(v)).toString('base64'),
      ]);
      return {
        name: secretName(m.metadata.name),
        document: JSON.stringify({ ...data, ...Object.fromEntries(encoded) }),
      };
    });

  const chartTest = manifests.find(
    (m) => m.kind === 'Pod' && m.metadata.annotations?.['helm.sh/hook'] === 'test',
  );
  let test: Manifest | undefined;
  if (chartTest) {
    test = structuredClone(chartTest);
    test.metadata = { name: `${options.name}-test`, labels: chartTest.metadata.labels ?? {} };
    ownVolumes(test.spec as PodSpec, test.metadata.name);
    for (const container of (test.spec as PodSpec).containers) {
      container.command = container.command?.map((arg) =>
        /^http:\/\/[^/]+\/ready$/.test(arg) ? `http://127.0.0.1:${options.port}/ready` : arg,
      );
    }
  }
  return { pod, secrets, test, volumes };
}

/** The podman name of a container of a played pod. */
export const containerName = (pod: string, container: string) => `${pod}-${container}`;

/**
 * Creates the secrets, then plays the pod on the host network. `kube play` runs the init
 * containers to their end and starts the others: it exits 0 then, non-zero when an init container
 * failed (what it printed is in the result). podman reads both from files: it takes `-` only from
 * a pipe, and Node gives a child a socket.
 */
export async function playPod(played: PodmanPod): Promise<PodmanResult> {
  const dir = mkdtempSync(join(tmpdir(), 'order-food-pod-'));
  try {
    for (const secret of played.secrets) {
      const file = join(dir, `${secret.name}.yaml`);
      writeFileSync(file, secret.document, { mode: 0o600 });
      await podman(['secret', 'rm', secret.name]);
      await podmanOk(['secret', 'create', secret.name, file]);
    }
    const file = join(dir, 'pod.yaml');
    writeFileSync(file, stringify(played.pod));
    return await podman(['kube', 'play', '--network', 'host', file]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Removes a played pod (stopping it at once) and its secrets. */
export async function removePod(played: PodmanPod): Promise<void> {
  await podman(['pod', 'rm', '--force', '--time', '0', played.pod.metadata.name]);
  if (played.test) await podman(['pod', 'rm', '--force', '--time', '0', played.test.metadata.name]);
  for (const secret of played.secrets) await podman(['secret', 'rm', secret.name]);
  for (const volume of played.volumes) await podman(['volume', 'rm', '--force', volume]);
}

/** Plays the `helm test` pod and waits for its container to exit: its exit code and output. */
export async function runChartTest(played: PodmanPod): Promise<{ code: number; output: string }> {
  if (!played.test) throw new Error('the chart rendered no test pod');
  const dir = mkdtempSync(join(tmpdir(), 'order-food-pod-'));
  try {
    const file = join(dir, 'test.yaml');
    writeFileSync(file, stringify(played.test));
    await podmanOk(['kube', 'play', '--network', 'host', file]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const pod = played.test.metadata.name;
  const container = (played.test.spec as PodSpec).containers[0]!.name;
  const state = await waitForExit(containerName(pod, container));
  return { code: state.exitCode, output: await containerLogs(containerName(pod, container)) };
}

/** Waits until a container has exited (or was never started after its pod stopped). */
export async function waitForExit(name: string, timeoutMs = 180_000): Promise<ContainerState> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = await containerState(name);
    if (state && ['exited', 'stopped'].includes(state.status)) return state;
    if (Date.now() > deadline)
      throw new Error(`${name} did not exit within ${timeoutMs} ms (${state?.status ?? 'absent'})`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export interface ContainerState {
  status: string;
  exitCode: number;
  startedAt: string;
  finishedAt: string;
}

/** A container's state, or undefined when podman has no such container. */
export async function containerState(name: string): Promise<ContainerState | undefined> {
  const result = await podman(['container', 'inspect', '--format', '{{json .State}}', name]);
  if (result.code !== 0) return undefined;
  const state = JSON.parse(result.stdout) as {
    Status: string;
    ExitCode: number;
    StartedAt: string;
    FinishedAt: string;
  };
  return {
    status: state.Status,
    exitCode: state.ExitCode,
    startedAt: state.StartedAt,
    finishedAt: state.FinishedAt,
  };
}

/** A container's output (stdout and stderr). */
export async function containerLogs(name: string): Promise<string> {
  const result = await podman(['logs', name]);
  return result.stdout + result.stderr;
}

/**
 * Polls the API's /ready on the host network until it answers 200; fails as soon as the API
 * container has exited (its log in the message).
 */
export async function waitForReady(port: number, api: string, timeoutMs = 180_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await fetch(`http://127.0.0.1:${port}/ready`, {
      signal: AbortSignal.timeout(2_000),
    }).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) return;
    const state = await containerState(api);
    if (state?.status === 'exited')
      throw new Error(`${api} exited ${state.exitCode}:\n${await containerLogs(api)}`);
    if (Date.now() > deadline)
      throw new Error(`${api} was not ready within ${timeoutMs} ms (last /ready: ${status})`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
