import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '@order-food/platform/testing/run-program';
import { parse } from 'yaml';

const read = (path: string) => readFileSync(join(repoRoot, path), 'utf8');

test('one Node major everywhere: engines, .nvmrc, the pinned node, CI, the images, the README', () => {
  const pkg = JSON.parse(read('package.json'));
  const major = Number(/^\^?(\d+)\./.exec(pkg.devDependencies.node)?.[1]);
  assert.ok(major >= 24, `the pinned node ${pkg.devDependencies.node}`);
  assert.equal(pkg.engines.node, `>=${major}`);
  assert.equal(read('.nvmrc').trim(), String(major));
  const lock = JSON.parse(read('package-lock.json'));
  assert.equal(lock.packages[''].engines.node, pkg.engines.node, 'the lock file agrees');
  const ci = parse(read('.github/workflows/ci.yml')) as {
    jobs: Record<string, { steps?: { uses?: string; with?: { 'node-version'?: unknown } }[] }>;
  };
  const setups = Object.values(ci.jobs).flatMap((j) =>
    (j.steps ?? []).filter((s) => s.uses?.startsWith('actions/setup-node')),
  );
  assert.ok(setups.length > 0);
  for (const s of setups) assert.equal(String(s.with?.['node-version']), String(major));
  for (const program of ['database-migration', 'database-load', 'order-food']) {
    const froms = [...read(`${program}/Dockerfile`).matchAll(/^FROM node:(\d+)\./gm)];
    assert.ok(froms.length > 0, program);
    for (const f of froms) assert.equal(Number(f[1]), major, `${program}/Dockerfile`);
  }
  assert.match(
    read('README.md'),
    new RegExp(`Requirements: Node ${major} \\(\`\\.nvmrc\`; \`engines\` says \`>=${major}\``),
  );
});
