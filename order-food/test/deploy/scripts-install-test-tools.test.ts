/** scripts/install-test-tools.sh run against stand-in id, apt-get and helm commands. */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { scriptStubs } from './script-stubs.js';

const stubs = scriptStubs();

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
    const folder = mkdtempSync(join(stubs.dir, 'installed-'));
    for (const tool of installed) {
      writeFileSync(join(folder, tool), '#!/bin/sh\n');
      chmodSync(join(folder, tool), 0o755);
    }
    const path = `${stubs.pathWith(stands)}:${folder}`;
    return stubs.run(script, args, { PATH: path, STUB_INSTALLED: folder, ...env }, stands);
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
