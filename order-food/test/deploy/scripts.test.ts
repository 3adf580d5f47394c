/**
 * The shell scripts (deploy.sh, scripts/build-images.sh, scripts/install-test-tools.sh, the chart
 * renderer's launcher and the container scripts): shellcheck clean and valid bash. What the first
 * three do is in scripts-*.test.ts; what the launcher does without Go is here.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { requireTool } from '@order-food/platform/testing/require-tool';
import { repoRoot } from '@order-food/platform/testing/run-program';
import { scriptStubs } from './script-stubs.js';

const scripts = [
  'deploy.sh',
  'scripts/build-images.sh',
  'scripts/install-test-tools.sh',
  'tools/helm-template/run',
  'scripts/containers/prepare.sh',
  'scripts/containers/base-image.sh',
];
const stubs = scriptStubs();

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

describe('tools/helm-template/run', () => {
  it('without Go it names the Debian packages to install, in one line', () => {
    const result = stubs.run(
      'tools/helm-template/run',
      ['order-food', 'order-food/helm'],
      {
        XDG_CACHE_HOME: join(stubs.dir, 'no-go-cache'),
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
