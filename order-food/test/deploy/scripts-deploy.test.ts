/**
 * deploy.sh run against the stand-in commands; the helm arguments it passes are then rendered with
 * the chart, so the values it sets exist.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { render, requireRenderer } from './render.js';
import { scriptStubs, version } from './script-stubs.js';

const { run } = scriptStubs();

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
