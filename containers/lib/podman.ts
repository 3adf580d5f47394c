/**
 * podman for the container suite: the images scripts/containers/prepare.sh builds, whether they
 * are there, and a small runner for podman commands.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '@order-food/platform/testing/run-program';

export const programNames = ['database-migration', 'database-load', 'order-food'] as const;
export type ProgramName = (typeof programNames)[number];

function version(workspace: string): string {
  return (
    JSON.parse(readFileSync(join(repoRoot, workspace, 'package.json'), 'utf8')) as {
      version: string;
    }
  ).version;
}

/**
 * Each program's image as scripts/build-images.sh tags it: NAME:VERSION, which podman stores as
 * localhost/NAME:VERSION (the name the chart and the compose file use resolves to it).
 */
export const images: Record<ProgramName, string> = Object.fromEntries(
  programNames.map((name) => [name, `localhost/${name}:${version(name)}`]),
) as Record<ProgramName, string>;

export const baseImage = 'docker.io/library/node:24.21.0-bookworm-slim';

export interface PodmanResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs podman to completion (synchronously: for short commands). */
export function podmanSync(args: string[], input?: string): PodmanResult {
  const result = spawnSync('podman', args, {
    encoding: 'utf8',
    input,
    timeout: 600_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  return { code: result.status, stdout: result.stdout ?? '', stderr: result.stderr ?? '' };
}

/** Runs podman to completion without blocking the event loop (for long commands). */
export function podman(args: string[], input?: string): Promise<PodmanResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('podman', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}

/** podman, and fails with its output when it exits non-zero. */
export async function podmanOk(args: string[], input?: string): Promise<string> {
  const result = await podman(args, input);
  if (result.code !== 0) {
    throw new Error(`podman ${args.join(' ')} exited ${result.code}:\n${result.stderr}`);
  }
  return result.stdout;
}

let present: string | undefined | null = null;

/**
 * Why the images cannot be used (podman missing, an image not built), or undefined when they
 * are all there. Tests skip with this reason; under CI=true they fail instead (missingImages).
 */
export function imagesMissing(): string | undefined {
  if (present !== null) return present;
  const version = spawnSync('podman', ['--version'], { encoding: 'utf8' });
  if (version.error || version.status !== 0) {
    present = 'podman is not installed (scripts/install-test-tools.sh --containers installs it)';
  } else {
    const missing = Object.values(images).filter(
      (image) => podmanSync(['image', 'exists', image]).code !== 0,
    );
    present =
      missing.length > 0
        ? `not built: ${missing.join(', ')} (npm run test:containers builds them)`
        : undefined;
  }
  return present;
}

/** Whether podman and the three images are there. */
export function imagesPresent(): boolean {
  return imagesMissing() === undefined;
}

/**
 * The `skip` option of a suite that needs the images: false when they are there; the reason
 * otherwise; under CI=true a missing image throws (a failure, never a skip).
 */
export function skipWithoutImages(): string | false {
  const reason = imagesMissing();
  if (reason === undefined) return false;
  if (process.env.CI === 'true') throw new Error(`CI=true: ${reason}`);
  return reason;
}

/** Size of an image in MB (10^6 bytes), as podman reports it. */
export function imageSizeMb(image: string): number {
  const size = Number(podmanSync(['image', 'inspect', '--format', '{{.Size}}', image]).stdout);
  return Math.round(size / 1e5) / 10;
}
