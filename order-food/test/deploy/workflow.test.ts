/**
 * .github/workflows/ci.yml, checked with GitHub's own workflow parser (@actions/workflow-parser):
 * valid, and doing what the README promises users (lint, tests on PostgreSQL, chart checks,
 * images behind a push switch) with commands this repository has.
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
      runs.some((r) => /shellcheck/.test(r) && /prometheus/.test(r)),
      'shellcheck and promtool',
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

  it('installs the chart from the built images on kind, runs helm test, and shows the logs on failure', () => {
    const e2e = workflow.jobs.e2e!;
    assert.deepEqual(e2e.needs, ['test', 'chart']);
    assert.ok(e2e.steps.some((s) => s.uses?.startsWith('helm/kind-action@')));
    const runs = e2e.steps.map((s) => s.run ?? '');
    const at = (pattern: RegExp) => runs.findIndex((r) => pattern.test(r));
    const order = [
      /^npm run images$/,
      /kind load docker-image/,
      /^helm install order-food \.\/order-food\/helm .*--wait/,
      /^helm test order-food/,
    ].map(at);
    assert.ok(
      order.every((i, n) => i >= 0 && (n === 0 || i > order[n - 1]!)),
      `images, load, install, test in that order: ${order}`,
    );
    for (const image of ['database-migration', 'database-load', 'order-food'])
      assert.match(runs[order[1]!]!, new RegExp(image));
    const onFailure = e2e.steps.find((s) => s.if === 'failure()')?.run ?? '';
    assert.match(onFailure, /kubectl logs -l app\.kubernetes\.io\/name=order-food -c/);
    for (const container of ['database-migration', 'database-load'])
      assert.ok(onFailure.includes(container), `the ${container} logs on failure`);
  });

  it('every npm script it runs exists', () => {
    const used = [...content.matchAll(/npm run (\w[\w:-]*)/g)].map((m) => m[1]!);
    assert.ok(used.length >= 3);
    for (const name of used) assert.ok(scripts[name], `npm run ${name}`);
  });
});
