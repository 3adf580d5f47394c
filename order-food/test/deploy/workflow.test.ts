/**
 * .github/workflows/ci.yml, checked with GitHub's own workflow parser (@actions/workflow-parser):
 * valid, and doing what the README promises users (lint, tests on PostgreSQL, chart checks, the
 * chart installed on a kind cluster, images behind a push switch) with commands this repository
 * has.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  convertWorkflowTemplate,
  NoOperationTraceWriter,
  parseWorkflow,
} from '@actions/workflow-parser';
import { repoRoot } from '@order-food/platform/testing/run-program';
import { parse } from 'yaml';

const file = '.github/workflows/ci.yml';
const content = readFileSync(join(repoRoot, file), 'utf8');
const scripts = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).scripts as Record<
  string,
  string
>;

interface Step {
  run?: string;
  uses?: string;
  if?: string;
  with?: Record<string, string>;
}
interface Job {
  needs?: string[];
  services?: Record<string, { image: string }>;
  env?: Record<string, string>;
  steps: Step[];
}
const workflow = parse(content) as { jobs: Record<string, Job>; on: Record<string, unknown> };

describe('.github/workflows/ci.yml', () => {
  it("parses without errors with GitHub's workflow parser", async () => {
    const trace = new NoOperationTraceWriter();
    const result = parseWorkflow({ name: file, content }, trace);
    assert.deepEqual(
      result.context.errors.getErrors().map((e) => e.message),
      [],
    );
    assert.ok(result.value);
    const template = await convertWorkflowTemplate(result.context, result.value);
    assert.deepEqual(template.errors ?? [], []);
    assert.deepEqual(template.jobs.map((j) => j.id.value).sort(), [
      'chart',
      'e2e',
      'images',
      'test',
    ]);
  });

  it('the parser rejects a broken workflow (the check is real)', () => {
    const broken = content.replace('runs-on: ubuntu-24.04', 'runs_on: ubuntu-24.04');
    const result = parseWorkflow({ name: file, content: broken }, new NoOperationTraceWriter());
    assert.ok(result.context.errors.getErrors().length > 0);
  });

  it('lints, type checks and tests against a PostgreSQL service with CI=true', () => {
    const test = workflow.jobs.test!;
    assert.match(test.services?.postgres?.image ?? '', /^postgres:\d+/);
    assert.equal(test.env?.CI, 'true');
    assert.match(test.env?.TEST_DATABASE_URL ?? '', /^postgres:\/\/.+@127\.0\.0\.1:5432\//);
    const runs = test.steps.map((s) => s.run ?? '');
    for (const command of ['npm ci', 'npm run lint', 'npm run build', 'npm test']) {
      assert.ok(
        runs.some((r) => r.startsWith(command)),
        command,
      );
    }
    assert.ok(
      test.steps.some((s) => s.uses?.startsWith('azure/setup-helm@')),
      'a real helm renders the chart',
    );
    assert.ok(
      runs.some((r) => /^sudo bash scripts\/install-test-tools\.sh\b/.test(r)),
      'the tools come from the script npm test and .ci/run use',
    );
  });

  it('builds the images after the tests and chart checks, pushing only behind a switch', () => {
    const images = workflow.jobs.images!;
    assert.deepEqual(images.needs, ['test', 'chart']);
    assert.ok(images.steps.some((s) => s.run === 'npm run images'));
    assert.match(images.env?.PUSH ?? '', /inputs\.push/);
    assert.match(images.env?.PUSH ?? '', /vars\.PUSH_IMAGES == 'true'/);
    const login = images.steps.find((s) => s.uses?.startsWith('docker/login-action@'));
    assert.equal(login?.if, "env.PUSH == 'true'");
    assert.match(images.steps.map((s) => s.run ?? '').join('\n'), /EXTRA_TAGS=sha-/);
  });

  it("installs the chart on kind with the images built here, runs helm test, shows the init containers' logs on failure", () => {
    const e2e = workflow.jobs.e2e!;
    const at = (match: (s: Step) => boolean, what: string) => {
      const i = e2e.steps.findIndex(match);
      assert.ok(i >= 0, what);
      return { index: i, run: e2e.steps[i]!.run ?? '' };
    };
    const kind = at((s) => s.uses?.startsWith('helm/kind-action@') === true, 'a kind cluster');
    const cluster = e2e.steps[kind.index]!.with?.cluster_name ?? 'chart-testing';
    at((s) => s.uses?.startsWith('azure/setup-helm@') === true, 'helm');
    const build = at((s) => s.run === 'npm run images', 'the three images built');
    const load = at((s) => /^kind load docker-image\b/.test(s.run ?? ''), 'loaded into kind');
    const install = at((s) => /^helm install\b/.test(s.run ?? ''), 'helm install');
    const helmTest = at((s) => /^helm test\b/.test(s.run ?? ''), 'helm test');
    assert.ok(
      kind.index < load.index && build.index < load.index,
      'images loaded once built and the cluster is there',
    );
    assert.ok(load.index < install.index && install.index < helmTest.index, 'in order');

    // npm run images tags every image with IMAGE_TAG; the cluster gets those exact names.
    const tag = e2e.env?.IMAGE_TAG;
    assert.ok(tag && tag !== 'latest', 'a fixed tag, so that IfNotPresent uses the loaded image');
    assert.match(load.run, new RegExp(`--name ${cluster}\\b`));
    for (const image of ['database-migration', 'database-load', 'order-food'])
      assert.match(load.run, new RegExp(`\\b${image}:${tag}\\b`), image);

    // The chart of this repository, its development PostgreSQL, the loaded tags, --wait; every
    // value it sets is one the chart has.
    assert.match(install.run, /^helm install \S+ order-food\/helm /);
    assert.match(install.run, /--wait\b/);
    const values = parse(readFileSync(join(repoRoot, 'order-food/helm/values.yaml'), 'utf8'));
    const sets = Object.fromEntries(
      [...install.run.matchAll(/--set ([\w.]+)=(\S+)/g)].map((m) => [m[1]!, m[2]!]),
    );
    assert.equal(sets['postgresql.enabled'], 'true');
    // image.tag is the tag of all three images; an init container's own tag, if set, agrees.
    assert.equal(sets['image.tag'], tag);
    for (const key of [
      'initContainers.databaseMigration.image.tag',
      'initContainers.databaseLoad.image.tag',
    ])
      assert.ok(sets[key] === undefined || sets[key] === tag, key);
    for (const key of Object.keys(sets)) {
      const found = key
        .split('.')
        .reduce<unknown>((v, k) => (v as Record<string, unknown>)?.[k], values);
      assert.notEqual(found, undefined, `values.yaml has ${key}`);
    }
    assert.match(helmTest.run, /^helm test \S+ .*--logs\b/);

    // On failure: both init containers' logs (and their previous run's), the pods described.
    const debug = e2e.steps.find((s) => s.if === 'failure()');
    assert.ok(debug?.run, 'a step that runs on failure');
    const deployment = readFileSync(
      join(repoRoot, 'order-food/helm/templates/deployment.yaml'),
      'utf8',
    );
    for (const container of ['database-migration', 'database-load']) {
      assert.match(deployment, new RegExp(`- name: ${container}\\n`), `the chart has ${container}`);
      assert.match(debug.run, new RegExp(`kubectl logs .*-c ${container} .*\\n`));
      assert.match(debug.run, new RegExp(`kubectl logs .*-c ${container} .*--previous`));
    }
    assert.match(debug.run, /kubectl describe pods/);
  });

  it('every npm script it runs exists', () => {
    const used = [...content.matchAll(/npm run (\w[\w:-]*)/g)].map((m) => m[1]!);
    assert.ok(used.length >= 3);
    for (const name of used) assert.ok(scripts[name], `npm run ${name}`);
  });
});
