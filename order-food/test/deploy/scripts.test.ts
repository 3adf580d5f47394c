/**
 * The shell scripts (deploy.sh, scripts/build-images.sh, scripts/install-test-tools.sh and the
 * chart renderer's launcher): shellcheck clean, valid bash, and what they do, run for real against
 * stand-in minikube, docker, helm, kubectl, id and apt-get commands that record their arguments.
 * The helm arguments deploy.sh passes are then rendered with the chart, so the values it sets exist.
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
import { after, before, describe, it } from 'node:test';
import { requireTool } from '@order-food/platform/testing/require-tool';
import { repoRoot } from '@order-food/platform/testing/run-program';
import { render, requireRenderer } from './render.js';

const scripts = [
  'deploy.sh',
  'scripts/build-images.sh',
  'scripts/install-test-tools.sh',
  'tools/helm-template/run',
  'scripts/containers/prepare.sh',
  'scripts/containers/base-image.sh',
];
const version = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).version as string;

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

let dir: string;
let bin: string;
let log: string;

/** A PATH holding only the basic tools the scripts use and the stand-ins named. */
function pathWith(tools: string[]): string {
  const path = join(dir, `path-${tools.join('-') || 'none'}`);
  mkdirSync(path, { recursive: true });
  const basic = ['bash', 'sed', 'head', 'cut', 'sha256sum', 'dirname', 'git', 'cat', 'env'];
  for (const tool of [...basic, 'sort', 'chmod']) {
    const found = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
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

interface Call {
  tool: string;
  args: string[];
  dockerHost: string;
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
    // Each stand-in records its name, its arguments (JSON) and DOCKER_HOST, then behaves.
    writeFileSync(
      file,
      `#!/usr/bin/env bash
args='['; sep=''
for a in "$@"; do a=\${a//\\\\/\\\\\\\\}; a=\${a//\\"/\\\\\\"}; args+="$sep\\"$a\\""; sep=','; done
printf '%s\\001%s\\001%s\\n' "${name}" "$args]" "\${DOCKER_HOST:-}" >>"$STUB_LOG"
${body}
`,
    );
    chmodSync(file, 0o755);
  }
});

after(() => rmSync(dir, { recursive: true, force: true }));

describe('shell scripts', () => {
  for (const script of scripts) {
    it(`${script} passes shellcheck and bash -n`, (t) => {
      const syntax = spawnSync('bash', ['-n', script], { cwd: repoRoot, encoding: 'utf8' });
      assert.equal(syntax.status, 0, syntax.stderr);
      assert.match(
        readFileSync(join(repoRoot, script), 'utf8'),
        /^#!\/usr\/bin\/env bash\n[\s\S]*set -euo pipefail/,
      );
      if (!requireTool(t, 'shellcheck', 'shellcheck')) return;
      const check = spawnSync('shellcheck', ['--severity=style', script], {
        cwd: repoRoot,
        encoding: 'utf8',
      });
      assert.equal(check.status, 0, check.stdout);
    });
  }
});

describe('deploy.sh', () => {
  it('names every missing tool and exits 2 before doing anything', () => {
    const result = run('deploy.sh', [], {}, ['docker']);
    assert.equal(result.status, 2);
    assert.match(result.stderr, /missing: minikube helm kubectl/);
    assert.deepEqual(result.calls, []);
  });

  it('stops with a clear line when minikube is not running', () => {
    const result = run('deploy.sh', [], { STUB_MINIKUBE_STATUS: '7' });
    assert.equal(result.status, 1);
    assert.match(result.stderr, /minikube is not running; start it with: minikube start/);
    assert.ok(!result.calls.some((c) => c.tool === 'helm'));
  });

  it("builds the three images in minikube's Docker, then helm upgrade --install with --atomic --wait", (t) => {
    const result = run('deploy.sh', [], {});
    assert.equal(result.status, 0, result.stderr);
    const builds = result.calls.filter((c) => c.tool === 'docker' && c.args[0] === 'build');
    assert.deepEqual(
      builds.map((b) => b.args[b.args.indexOf('-f') + 1]),
      ['database-migration/Dockerfile', 'database-load/Dockerfile', 'order-food/Dockerfile'],
    );
    for (const b of builds) {
      assert.equal(b.dockerHost, 'tcp://192.168.49.2:2376', "built in minikube's Docker");
      assert.equal(b.args.at(-1), '.', 'from the repository root');
      assert.ok(b.args.includes(`VERSION=${version}`));
    }
    const helm = result.calls.filter((c) => c.tool === 'helm');
    assert.equal(helm.length, 1);
    const args = helm[0]!.args;
    assert.deepEqual(args.slice(0, 4), ['upgrade', '--install', 'order-food', './order-food/helm']);
    for (const flag of ['--wait', '--atomic', '--create-namespace'])
      assert.ok(args.includes(flag), flag);
    assert.equal(args[args.indexOf('--timeout') + 1], '10m');
    for (const set of [
      'image.pullPolicy=Never',
      'initContainers.databaseMigration.image.pullPolicy=Never',
      'initContainers.databaseLoad.image.pullPolicy=Never',
      'postgresql.enabled=true',
      'jaeger.enabled=true',
      'databaseLoad.dataSet.bundled=demo',
    ]) {
      assert.ok(args.includes(set), set);
    }
    assert.ok(
      result.calls.some(
        (c) => c.tool === 'kubectl' && c.args.includes('app.kubernetes.io/name=order-food'),
      ),
    );
    assert.match(result.stdout, /kubectl port-forward -n default svc\/order-food 8080:80/);
    assert.match(result.stdout, /kubectl port-forward -n default svc\/jaeger 16686:16686/);

    // The values deploy.sh sets are ones the chart has: render with exactly those flags.
    if (!requireRenderer(t)) return;
    const valueFlags: string[] = [];
    for (let i = 0; i < args.length; i++) {
      if (args[i] === '--set' || args[i] === '--set-string') valueFlags.push(args[i]!, args[++i]!);
    }
    const objects = render(valueFlags);
    const deployment = objects.find(
      (o) => o.kind === 'Deployment' && o.metadata.name === 'order-food',
    ) as unknown as {
      spec: {
        template: {
          metadata: { annotations: Record<string, string> };
          spec: {
            containers: Array<{ image: string; imagePullPolicy: string }>;
            initContainers: Array<{ image: string; imagePullPolicy: string }>;
          };
        };
      };
    };
    const pod = deployment.spec.template.spec;
    assert.deepEqual(
      [...pod.initContainers, ...pod.containers].map((c) => [c.image, c.imagePullPolicy]),
      [
        [`database-migration:${version}`, 'Never'],
        [`database-load:${version}`, 'Never'],
        [`order-food:${version}`, 'Never'],
      ],
    );
    assert.match(
      deployment.spec.template.metadata.annotations['order-food/images']!,
      /^[0-9a-f]{16}$/,
    );
    assert.ok(objects.some((o) => o.kind === 'Service' && o.metadata.name === 'jaeger'));
  });

  it('is idempotent: a second run with the same images asks helm for the same release', () => {
    const first = run('deploy.sh', [], {}).calls.find((c) => c.tool === 'helm')!;
    const second = run('deploy.sh', [], {}).calls.find((c) => c.tool === 'helm')!;
    assert.deepEqual(second.args, first.args);
    const changed = run('deploy.sh', [], { STUB_IMAGE_ID: '2222' }).calls.find(
      (c) => c.tool === 'helm',
    )!;
    assert.notDeepEqual(changed.args, first.args, 'a rebuilt image rolls the pods');
  });

  it('reports a rollback and exits 1 when the release does not become ready', () => {
    const result = run('deploy.sh', [], { STUB_HELM_EXIT: '1', TIMEOUT: '2m' });
    assert.equal(result.status, 1);
    assert.match(result.stderr, /did not become ready within 2m and was rolled back/);
    assert.match(
      result.stderr,
      /kubectl logs -n default -l app.kubernetes.io\/name=order-food -c database-migration/,
    );
  });

  it('passes extra flags to helm and can leave the development dependencies out', () => {
    const result = run('deploy.sh', ['--set', 'replicaCount=2'], {
      DEV_DEPENDENCIES: 'false',
      SKIP_BUILD: 'true',
      NAMESPACE: 'shop',
    });
    assert.equal(result.status, 0, result.stderr);
    assert.ok(!result.calls.some((c) => c.tool === 'docker' && c.args[0] === 'build'));
    const args = result.calls.find((c) => c.tool === 'helm')!.args;
    assert.deepEqual(args.slice(-2), ['--set', 'replicaCount=2']);
    assert.ok(!args.includes('postgresql.enabled=true'));
    assert.equal(args[args.indexOf('--namespace') + 1], 'shop');
  });
});

describe('scripts/build-images.sh (npm run images)', () => {
  it('tags each image with the package version, extra tags and a registry, and pushes on request', () => {
    const result = run('scripts/build-images.sh', [], {
      IMAGE_REGISTRY: 'ghcr.io/acme/',
      EXTRA_TAGS: 'abc1234 latest',
      PUSH: 'true',
    });
    assert.equal(result.status, 0, result.stderr);
    const builds = result.calls.filter((c) => c.args[0] === 'build');
    assert.equal(builds.length, 3);
    for (const [i, name] of ['database-migration', 'database-load', 'order-food'].entries()) {
      const args = builds[i]!.args;
      const tags = args.flatMap((a, j) => (args[j - 1] === '-t' ? [a] : []));
      assert.deepEqual(tags, [
        `ghcr.io/acme/${name}:${version}`,
        `ghcr.io/acme/${name}:abc1234`,
        `ghcr.io/acme/${name}:latest`,
      ]);
      assert.ok(args.some((a) => a.startsWith('GIT_REVISION=')));
    }
    const pushes = result.calls.filter((c) => c.args[0] === 'push').map((c) => c.args[1]);
    assert.equal(pushes.length, 9);
  });

  it('passes BUILD_FLAGS to every build, before the Dockerfile', () => {
    const result = run('scripts/build-images.sh', [], {
      BUILD_FLAGS: '--network host --volume /ca.crt:/run/build-ca.crt:ro',
    });
    assert.equal(result.status, 0, result.stderr);
    const builds = result.calls.filter((c) => c.args[0] === 'build');
    assert.equal(builds.length, 3);
    for (const build of builds)
      assert.deepEqual(build.args.slice(1, 6), [
        '--network',
        'host',
        '--volume',
        '/ca.crt:/run/build-ca.crt:ro',
        '-f',
      ]);
  });

  it('builds only the images named, with IMAGE_TAG overriding the version, and refuses unknown ones', () => {
    const one = run('scripts/build-images.sh', ['order-food'], { IMAGE_TAG: 'dev' });
    assert.equal(one.status, 0, one.stderr);
    assert.deepEqual(
      one.calls.map((c) => c.args.filter((_, j) => c.args[j - 1] === '-t')),
      [['order-food:dev']],
    );
    assert.equal(one.calls.filter((c) => c.args[0] === 'push').length, 0);
    const bad = run('scripts/build-images.sh', ['api'], {});
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /unknown image 'api'/);
    const noDocker = run('scripts/build-images.sh', [], {}, []);
    assert.equal(noDocker.status, 2);
    assert.match(noDocker.stderr, /'docker' is not installed/);
  });
});

describe('scripts/install-test-tools.sh (npm test and .ci/run run it first)', () => {
  const script = 'scripts/install-test-tools.sh';
  const base = ['shellcheck', 'promtool', 'psql', 'pg_dump', 'pgbouncer', 'chromium'];

  /** Runs the script with the stand-ins named and a folder of tools already installed on PATH. */
  function install(
    stands: string[],
    installed: string[],
    env: Record<string, string> = {},
    args: string[] = [],
  ) {
    const folder = mkdtempSync(join(dir, 'installed-'));
    for (const tool of installed) {
      writeFileSync(join(folder, tool), '#!/bin/sh\n');
      chmodSync(join(folder, tool), 0o755);
    }
    const path = `${pathWith(stands)}:${folder}`;
    return run(script, args, { PATH: path, STUB_INSTALLED: folder, ...env }, stands);
  }
  const missingLines = (stderr: string) =>
    stderr.split('\n').filter((l) => l.includes(' is missing: '));

  it('says nothing and exits 0 when every tool is there', () => {
    const result = install(['id', 'helm'], base);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout + result.stderr, '');
  });

  it('not root: names the package of each missing tool, one line each, installs nothing, exits 0', () => {
    const result = install(['id', 'apt-get', 'helm'], ['psql', 'pg_dump', 'pgbouncer', 'chromium']);
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(missingLines(result.stderr), [
      'install-test-tools: shellcheck is missing: apt-get install shellcheck',
      'install-test-tools: promtool is missing: apt-get install prometheus',
    ]);
    assert.deepEqual(
      result.calls.filter((c) => c.tool === 'apt-get'),
      [],
    );
  });

  it('without helm it asks for Go, which builds the chart renderer', () => {
    const result = install(['id'], base);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stderr, /go is missing: apt-get install golang-go/);
  });

  it('under CI=true a missing tool fails, naming it', () => {
    const result = install(
      ['id', 'helm'],
      ['psql', 'pg_dump', 'pgbouncer', 'promtool', 'chromium'],
      { CI: 'true' },
    );
    assert.equal(result.status, 1);
    assert.match(result.stderr, /shellcheck is missing: apt-get install shellcheck/);
    assert.match(result.stderr, /CI=true and the tests need shellcheck$/m);
  });

  it('as root on Debian: apt-get update once, then one install of each missing package', () => {
    const result = install(['id', 'apt-get', 'helm'], ['pgbouncer'], { STUB_UID: '0', CI: 'true' });
    assert.equal(result.status, 0, result.stderr);
    const apt = result.calls.filter((c) => c.tool === 'apt-get').map((c) => c.args);
    assert.deepEqual(
      apt.map((a) => a[0]),
      ['update', 'install'],
    );
    assert.deepEqual(
      apt[1]!.filter((a) => !a.startsWith('-') && a !== 'install'),
      ['chromium', 'postgresql-client', 'prometheus', 'shellcheck'],
    );
    assert.equal(
      result.stdout,
      'install-test-tools: apt-get install chromium postgresql-client prometheus shellcheck\n',
    );
    assert.equal(result.stderr, '');
  });

  it('as root, a failed apt-get or TEST_TOOLS_INSTALL=no leaves the missing tools reported', () => {
    const failed = install(
      ['id', 'apt-get', 'helm'],
      ['psql', 'pg_dump', 'pgbouncer', 'promtool', 'chromium'],
      {
        STUB_UID: '0',
        STUB_APT_EXIT: '100',
        CI: 'true',
      },
    );
    assert.equal(failed.status, 1);
    assert.match(failed.stderr, /apt-get update failed/);
    assert.match(failed.stderr, /shellcheck is missing: apt-get install shellcheck/);
    const reportOnly = install(
      ['id', 'apt-get', 'helm'],
      ['psql', 'pg_dump', 'pgbouncer', 'chromium'],
      {
        STUB_UID: '0',
        TEST_TOOLS_INSTALL: 'no',
      },
    );
    assert.equal(reportOnly.status, 0);
    assert.equal(missingLines(reportOnly.stderr).length, 2);
    assert.deepEqual(
      reportOnly.calls.filter((c) => c.tool === 'apt-get'),
      [],
    );
  });

  it('--containers also asks for the container tools; an unknown option is bad usage', () => {
    const result = install(['id', 'helm'], base, {}, ['--containers']);
    assert.equal(result.status, 0, result.stderr);
    for (const [tool, pkg] of [
      ['podman', 'podman'],
      ['buildah', 'buildah'],
      ['docker-compose', 'docker-compose'],
      ['newuidmap', 'uidmap'],
    ])
      assert.match(result.stderr, new RegExp(`${tool} is missing: apt-get install ${pkg}$`, 'm'));
    const bad = install(['id', 'helm'], base, {}, ['--all']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /unknown option '--all'/);
  });
});

describe('tools/helm-template/run', () => {
  it('without Go it names the Debian packages to install, in one line', () => {
    const result = run(
      'tools/helm-template/run',
      ['order-food', 'order-food/helm'],
      {
        XDG_CACHE_HOME: join(dir, 'no-go-cache'),
      },
      [],
    );
    assert.equal(result.status, 1);
    assert.match(
      result.stderr,
      /^helm-template: to build it, install the Debian packages: golang-go.*\n$/,
    );
  });
});
