/**
 * Runs the shell scripts for real against stand-in minikube, docker, helm, kubectl, id and apt-get
 * commands that record their name, arguments and DOCKER_HOST, so a test reads what a script did.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { repoRoot } from '@order-food/platform/testing/run-program';

export const version = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'))
  .version as string;

const stubs: Record<string, string> = {
  minikube: `case "$1" in
  docker-env) echo 'export DOCKER_HOST="tcp://192.168.49.2:2376"; export MINIKUBE_ACTIVE_DOCKERD="minikube"' ;;
  status) exit "\${STUB_MINIKUBE_STATUS:-0}" ;;
esac`,
  docker: `case "$1" in
  image) echo "sha256:\${STUB_IMAGE_ID:-1111}-\${!#}" ;;
esac`,
  helm: `exit "\${STUB_HELM_EXIT:-0}"`,
  kubectl: 'echo "NAME                         READY   STATUS    RESTARTS   AGE"',
  id: `echo "\${STUB_UID:-1000}"`,
  // Installs a stand-in for each command of the packages named into STUB_INSTALLED.
  'apt-get': `[ "\${STUB_APT_EXIT:-0}" = 0 ] || exit "$STUB_APT_EXIT"
[ "$1" = install ] || exit 0
for p in "$@"; do
  case "$p" in
    install | -*) continue ;;
    prometheus) c=promtool ;;
    postgresql-client) c='psql pg_dump' ;;
    *) c=$p ;;
  esac
  for x in $c; do printf '#!/bin/sh\\n' >"$STUB_INSTALLED/$x"; chmod +x "$STUB_INSTALLED/$x"; done
done`,
};

/** Each stand-in records its name, its arguments (JSON) and DOCKER_HOST, then behaves. */
function stubScript(name: string, body: string): string {
  return `#!/usr/bin/env bash
args='['; sep=''
for a in "$@"; do a=\${a//\\\\/\\\\\\\\}; a=\${a//\\"/\\\\\\"}; args+="$sep\\"$a\\""; sep=','; done
printf '%s\\001%s\\001%s\\n' "${name}" "$args]" "\${DOCKER_HOST:-}" >>"$STUB_LOG"
${body}
`;
}

export interface Call {
  tool: string;
  args: string[];
  dockerHost: string;
}

/**
 * The stand-ins of a test file: registers its before hook (a folder holding them) and after hook
 * (the folder removed). Read dir and call the functions inside tests.
 */
export function scriptStubs() {
  let dir = '';
  let bin = '';
  let log = '';

  /** A PATH holding only the basic tools the scripts use and the stand-ins named. */
  function pathWith(tools: string[]): string {
    const path = join(dir, `path-${tools.join('-') || 'none'}`);
    mkdirSync(path, { recursive: true });
    const basic = ['bash', 'sed', 'head', 'cut', 'sha256sum', 'dirname', 'git', 'cat', 'env'];
    for (const tool of [...basic, 'sort', 'chmod']) {
      const found = spawnSync('sh', ['-c', `command -v ${tool}`], {
        encoding: 'utf8',
      }).stdout.trim();
      assert.ok(found, `${tool} is installed`);
      try {
        symlinkSync(found, join(path, tool));
      } catch {}
    }
    for (const tool of tools) {
      try {
        symlinkSync(join(bin, tool), join(path, tool));
      } catch {}
    }
    return path;
  }

  function run(
    script: string,
    args: string[],
    env: Record<string, string>,
    tools = Object.keys(stubs),
  ) {
    writeFileSync(log, '');
    const result = spawnSync(join(repoRoot, script), args, {
      cwd: tmpdir(),
      encoding: 'utf8',
      timeout: 60_000,
      env: { PATH: pathWith(tools), HOME: dir, STUB_LOG: log, ...env },
    });
    const calls: Call[] = readFileSync(log, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const [tool, args, dockerHost] = line.split('\u0001');
        return { tool: tool!, args: JSON.parse(args!) as string[], dockerHost: dockerHost ?? '' };
      });
    return { ...result, calls };
  }

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'order-food-scripts-'));
    bin = join(dir, 'stubs');
    log = join(dir, 'calls.log');
    mkdirSync(bin);
    for (const [name, body] of Object.entries(stubs)) {
      const file = join(bin, name);
      writeFileSync(file, stubScript(name, body));
      chmodSync(file, 0o755);
    }
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  return {
    get dir(): string {
      return dir;
    },
    pathWith,
    run,
  };
}
