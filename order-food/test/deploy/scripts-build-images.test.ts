/** scripts/build-images.sh run against the stand-in docker. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { scriptStubs, version } from './script-stubs.js';

const { run } = scriptStubs();

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
