/**
 * Renders the Helm chart as `helm template` does: a real helm on PATH, else the repository's own
 * renderer (tools/helm-template, built from Debian's Go packages on first use).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { onPath, requireTool, skipWithoutTool } from '@order-food/platform/testing/require-tool';
import { repoRoot } from '@order-food/platform/testing/run-program';
import { parseAllDocuments } from 'yaml';
import type { Manifest } from './kubernetes-schema.js';

export const chartDir = join(repoRoot, 'order-food/helm');

/** The renderer: [command, ...leading args]. */
export function renderer(): string[] {
  const helm = onPath('helm');
  return helm ? [helm, 'template'] : [join(repoRoot, 'tools/helm-template/run')];
}

/** The Debian packages tools/helm-template/run needs to build the renderer that are missing. */
function rendererMissing(): string {
  if (onPath('helm')) return '';
  const gopath = '/usr/share/gocode/src';
  return [
    onPath('go') ? '' : 'golang-go',
    existsSync(join(gopath, 'github.com/Masterminds/sprig'))
      ? ''
      : 'golang-github-masterminds-sprig-dev',
    existsSync(join(gopath, 'gopkg.in/yaml.v2')) ? '' : 'golang-gopkg-yaml.v2-dev',
  ]
    .filter(Boolean)
    .join(' ');
}

const rendererName = 'helm (or Go to build tools/helm-template)';

/** requireTool for the renderer: whether the test can render the chart. */
export function requireRenderer(t: TestContext): boolean {
  const packages = rendererMissing();
  return requireTool(t, rendererName, packages, !packages);
}

/** skipWithoutTool for the renderer, as describe()'s skip option. */
export function skipWithoutRenderer(): string | false {
  const packages = rendererMissing();
  return skipWithoutTool(rendererName, packages, !packages);
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
