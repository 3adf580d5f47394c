/** Renders the Helm chart as `helm template` does: a real helm on PATH, else the project's renderer. */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { repoRoot } from '@order-food/platform/testing/run-program';
import { parseAllDocuments } from 'yaml';
import type { Manifest } from './kubernetes-schema.js';

export const chartDir = join(repoRoot, 'order-food/helm');

function onPath(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, command);
    if (dir && existsSync(candidate)) return candidate;
  }
  return undefined;
}

let toolReady = false;

/** The renderer: [command, ...leading args]. */
export function renderer(): string[] {
  const helm = onPath('helm');
  if (helm) return [helm, 'template'];
  const tool = join(repoRoot, '..', 'shared', 'tools', 'helm-template', 'run');
  if (existsSync(tool)) {
    // Its first run installs Go and builds it: test files starting together take turns.
    if (!toolReady) {
      spawnSync('flock', [join(tmpdir(), 'order-food-helm-template.lock'), tool, '-help'], {
        stdio: 'ignore',
        timeout: 600_000,
      });
      toolReady = true;
    }
    return [tool];
  }
  throw new Error(
    'no Helm renderer: install helm (https://helm.sh/docs/intro/install/) or provide ../shared/tools/helm-template/run',
  );
}

export interface RenderResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function renderRaw(args: string[], release = 'order-food', chart = chartDir): RenderResult {
  const [command, ...lead] = renderer();
  const result = spawnSync(command!, [...lead, release, chart, ...args], {
    cwd: repoRoot,
    encoding: 'utf8',
    timeout: 300_000,
  });
  return { status: result.status, stdout: result.stdout ?? '', stderr: result.stderr ?? '' };
}

/** Renders and parses; throws with helm's message when rendering fails. */
export function render(args: string[] = [], release = 'order-food'): Manifest[] {
  const result = renderRaw(args, release);
  if (result.status !== 0) {
    throw new Error(
      `rendering the chart with ${args.join(' ') || 'default values'} failed:\n${result.stderr}`,
    );
  }
  const objects: Manifest[] = [];
  for (const doc of parseAllDocuments(result.stdout, { uniqueKeys: true })) {
    if (doc.errors.length > 0)
      throw new Error(`rendered YAML is invalid: ${doc.errors[0]!.message}`);
    const value = doc.toJS() as Manifest | null;
    if (value !== null) objects.push(value);
  }
  return objects;
}

export function find(objects: Manifest[], kind: string, name: string): Manifest {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) {
    const have = objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ');
    throw new Error(`no ${kind}/${name} among ${have}`);
  }
  return found;
}
