/**
 * The README's API examples and the commands `npm start` prints work when pasted: they run in bash
 * against the real API on the demo data, every curl failing the run on a 4xx or 5xx. The first
 * block uses the tokens `npm start` prints; the second, `npm run token` on PostgreSQL.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { repoRoot } from '@order-food/platform/testing/run-program';
import { startApiProcess } from '../helpers.js';
import { type DemoApi, startDemoApi } from './api-process.js';

const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
const bashBlocks = [...readme.matchAll(/```bash\n([\s\S]*?)```/g)].map((m) => m[1]!);

/** Runs commands in bash as pasted, but with every curl failing on an HTTP error status. */
function paste(commands: string, env: Record<string, string>): { code: number; output: string } {
  const script = `set -euo pipefail\ncurl() { command curl --fail-with-body --silent --show-error "$@"; }\n${commands}`;
  const r = spawnSync('bash', ['-c', script], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: r.status ?? -1, output: `${r.stdout}\n${r.stderr}` };
}

let demo: DemoApi;
before(async () => {
  demo = await startDemoApi('readme_examples');
});
after(async () => {
  await demo?.stop();
});

const onTestPort = (commands: string) =>
  commands.replaceAll('localhost:8080', demo.api.url.replace('http://', ''));

test('the README examples of the API run as pasted, with the tokens npm start prints', async () => {
  const block = bashBlocks.find((b) => b.includes('PRODUCT_ID=$('));
  assert.ok(block, 'the README has the API examples');
  // A placeholder is an id word that is neither a variable ($ORDER_ID) nor assigned (ORDER_ID=).
  assert.doesNotMatch(block, /(?<![$\w])(PRODUCT|ORDER)_ID(?!=)/, 'no placeholders');
  const r = paste(onTestPort(block), {
    CUSTOMER_TOKEN: await demo.token('alice@example.com'),
    ADMIN_TOKEN: await demo.token('admin@example.com'),
  });
  assert.equal(r.code, 0, r.output);
  assert.match(r.output, /"status":"confirmed"/, 'the order moved on');
  assert.match(r.output, /"sku":"SOUP-PUMPKIN"/, 'the product was added');
});

test('npm run token in the README gives a token the API accepts (on PostgreSQL)', () => {
  const block = bashBlocks.find((b) => b.includes('CUSTOMER_TOKEN=$(npm run -s token'));
  assert.ok(block, 'the README shows npm run token');
  const r = paste(
    `${block}\ncurl "${demo.api.url}/api/users/me" -H "Authorization: Bearer $CUSTOMER_TOKEN"`,
    { DATABASE_URL: demo.db.url },
  );
  assert.equal(r.code, 0, r.output);
  assert.match(r.output, /"email":"alice@example.com"/);
});

test('the commands npm start prints run as pasted', async () => {
  const api = await startApiProcess({
    DATABASE_URL: demo.db.url,
    ENVIRONMENT: 'development',
    ORDER_FOOD_PRINT_EXAMPLES: 'true',
  });
  try {
    // Printed once ready; the bound is for a broken start, not a timing.
    for (let i = 0; i < 600 && !api.output().includes('ADMIN_TOKEN='); i++)
      await new Promise((r) => setTimeout(r, 100));
    const printed = api
      .output()
      .split('\n')
      .filter((l) => /^ {2}(curl|export|ORDER_ID=)/.test(l))
      .map((l) => l.trim());
    assert.ok(printed.length >= 7, api.output());
    const r = paste(printed.join('\n'), {});
    assert.equal(r.code, 0, `${printed.join('\n')}\n${r.output}`);
    assert.match(r.output, /"status":"confirmed"/);
  } finally {
    api.child.kill('SIGTERM');
    if (api.child.exitCode === null) await new Promise((r) => api.child.once('exit', r));
  }
});
