/**
 * The /docs page in headless Chromium against the API as a process: nothing fetched from elsewhere,
 * only what works offline, bearer auth preselected, how to get a token, and "Test Request" on
 * GET /api/users/me with an `npm run token` token answers 200. API_DOCS_SCREENSHOTS=docs/images
 * writes the screenshots docs/ shows (api-docs.png, api-docs-test-request.png).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { skipWithoutTool } from '@order-food/platform/testing/require-tool';
import { repoRoot, runProgram } from '@order-food/platform/testing/run-program';
import type { TestDatabase } from '@order-food/platform/testing/test-database';
import type { BrowserContext, Page } from 'playwright-core';
import { type ApiProcess, prepareDatabase, startApiProcess } from './helpers.js';

/** Debian's chromium, not a browser build of Playwright's own (those are downloaded). */
const chromium = '/usr/bin/chromium';
const skip = skipWithoutTool('chromium', 'chromium', existsSync(chromium));

describe('the /docs page in a browser', { skip }, () => {
  let tdb: TestDatabase;
  let api: ApiProcess;
  let profile: string;
  let context: BrowserContext;
  let page: Page;
  let token: string;
  /** Every URL the page asked for that is not the API's own. */
  const elsewhere: string[] = [];

  before(async () => {
    ({ tdb } = await prepareDatabase('api_docs_page'));
    const env = { DATABASE_URL: tdb.url, ENVIRONMENT: 'development', LOG_LEVEL: 'warn' };
    // Before the API starts: an embedded database has one process at a time.
    const printed = await runProgram(
      join(repoRoot, 'order-food/src/token-cli.ts'),
      ['--email', 'alice@example.com'],
      { env },
    );
    assert.equal(printed.code, 0, printed.stderr);
    token = printed.stdout.trim().split('\n').at(-1) as string;
    api = await startApiProcess(env);
    profile = mkdtempSync(join(tmpdir(), 'order-food-chromium-'));
    const { chromium: browserType } = await import('playwright-core');
    context = await browserType.launchPersistentContext(profile, {
      executablePath: chromium,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      viewport: { width: 1400, height: 900 },
    });
    // Nothing may leave the API's origin: such requests are refused and listed.
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith(api.url) || url.startsWith('data:') || url.startsWith('blob:'))
        return route.continue();
      elsewhere.push(url);
      return route.abort();
    });
    page = await context.newPage();
  });

  after(async () => {
    await context?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    if (api) {
      const exited = new Promise((r) => api.child.once('exit', r));
      api.child.kill('SIGTERM');
      await exited;
    }
    await tdb?.drop();
  });

  test('shows how to get a token, with bearer authentication preselected', async () => {
    await page.goto(`${api.url}/docs`);
    await page.getByRole('heading', { name: 'Getting a token' }).waitFor();
    await page.getByText('npm run token -- --email alice@example.com').first().waitFor();
    await page.getByText('Selected Auth Type: bearerAuth').first().waitFor();
    assert.equal(await page.getByText('No authentication selected').count(), 0);
  });

  test('offers nothing that needs another site: no AI, MCP, deploy or share, no outside links', async () => {
    for (const name of [/Ask AI/i, /MCP/, /Deploy/i, /Share/i, /Open API Client/i]) {
      const shown = await page.getByRole('button', { name }).or(page.getByRole('link', { name }));
      assert.equal(await shown.filter({ visible: true }).count(), 0, `a control named ${name}`);
    }
    const links = await page
      .locator('a[href]')
      .filter({ visible: true })
      .evaluateAll((anchors) => anchors.map((a) => (a as unknown as { href: string }).href));
    assert.ok(links.length > 0, 'the sidebar links');
    assert.deepEqual(
      links.filter((href) => !href.startsWith(api.url)),
      [],
      'visible links lead only to this server',
    );
  });

  test('"Test Request" on GET /api/users/me with a token from npm run token answers 200', async () => {
    const shots = process.env.API_DOCS_SCREENSHOTS;
    if (shots) {
      mkdirSync(resolve(repoRoot, shots), { recursive: true });
      await page.screenshot({ path: resolve(repoRoot, shots, 'api-docs.png') });
    }
    await page.getByPlaceholder('Token').first().fill(token);
    await page.getByRole('link', { name: 'users', exact: true }).click();
    await page.getByRole('link', { name: /^The caller/ }).click();
    await page.getByRole('button', { name: /Test Request.*get \/api\/users\/me\)/ }).click();
    const send = page.locator('button[data-addressbar-action="send"]').filter({ visible: true });
    await send.waitFor();
    await send.click();
    await page.getByText('200 OK').first().waitFor();
    await page.getByText('"alice@example.com"').first().waitFor();
    if (shots)
      await page.screenshot({ path: resolve(repoRoot, shots, 'api-docs-test-request.png') });
    assert.deepEqual(elsewhere, [], 'requests to anywhere but the API');
  });
});
