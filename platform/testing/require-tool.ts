/**
 * Tests that run a system tool (shellcheck, promtool, the chart renderer, ...) are skipped when it
 * is missing, with one line naming what to install; under CI=true a missing tool fails instead.
 * scripts/install-test-tools.sh installs them all (as root on Debian).
 */
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { TestContext } from 'node:test';

/** Where `command` is on PATH, if it is. */
export function onPath(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {}
  }
  return undefined;
}

/** packages: the Debian packages that bring the tool, space-separated. */
function missing(tool: string, packages: string): string {
  return `${tool} is missing: apt-get install ${packages} (or, as root: bash scripts/install-test-tools.sh)`;
}

/**
 * Whether the test can run `tool`. If not, the test is marked skipped with one line naming the
 * Debian package(s) to install and false is returned (return at once); under CI=true it throws.
 */
export function requireTool(
  t: TestContext,
  tool: string,
  packages: string,
  installed = onPath(tool) !== undefined,
): boolean {
  if (installed) return true;
  if (process.env.CI === 'true') throw new Error(`CI=true: ${missing(tool, packages)}`);
  t.skip(missing(tool, packages));
  return false;
}

/**
 * The same for a whole describe(): its `skip` option, false when `tool` is installed; under
 * CI=true a missing tool throws, which fails the file.
 */
export function skipWithoutTool(
  tool: string,
  packages: string,
  installed = onPath(tool) !== undefined,
): string | false {
  if (installed) return false;
  if (process.env.CI === 'true') throw new Error(`CI=true: ${missing(tool, packages)}`);
  return missing(tool, packages);
}
