/**
 * deploy.sh and scripts/build-images.sh: shellcheck clean, valid bash, and what they do, run for
 * real against stand-in minikube, docker, helm and kubectl commands that record their arguments.
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
import { repoRoot } from '@order-food/platform/testing/run-program';
import { render } from './render.js';

const scripts = [
  'deploy.sh',
  'scripts/build-images.sh',
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
};

let dir: string;
let bin: string;
let log: string;

/** A PATH holding only the basic tools the scripts use and the stand-ins named. */
function pathWith(tools: string[]): string {
  const path = join(dir, `path-${tools.join('-') || 'none'}`);
  mkdirSync(path, { recursive: true });
  for (const tool of ['bash', 'sed', 'head', 'cut', 'sha256sum', 'dirname', 'git', 'cat', 'env']) {
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
    it(`${script} passes shellcheck and bash -n`, () => {
      const check = spawnSync('shellcheck', ['--severity=style', script], {
        cwd: repoRoot,
        encoding: 'utf8',
      });
      assert.equal(check.error, undefined, 'shellcheck is installed (.ci/run installs it)');
      assert.equal(check.status, 0, check.stdout);
      const syntax = spawnSync('bash', ['-n', script], { cwd: repoRoot, encoding: 'utf8' });
      assert.equal(syntax.status, 0, syntax.stderr);
      assert.match(
        readFileSync(join(repoRoot, script), 'utf8'),
        /^#!\/usr\/bin\/env bash\n[\s\S]*set -euo pipefail/,
      );
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

  it("builds the three images in minikube's Docker, then helm upgrade --install with --atomic --wait", () => {
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
          spec: { containers: Array<{ image: string; imagePullPolicy: string }> };
        };
      };
    };
    assert.equal(deployment.spec.template.spec.containers[0]!.imagePullPolicy, 'Never');
    assert.equal(deployment.spec.template.spec.containers[0]!.image, `order-food:${version}`);
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
