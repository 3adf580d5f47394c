/**
 * The OpenAPI document as its readers meet it: the API serves it, Redocly's and Spectral's CLIs
 * lint it with their recommended rules and find nothing, and openapi-typescript makes a typed
 * client from it that a small usage example compiles against (tsc, strict).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { TestDatabase } from '@order-food/platform/testing/test-database';
import { call, openApp, prepareDatabase, repoFile, type TestApp } from './helpers.js';

const require = createRequire(import.meta.url);

/** The file a package's bin entry runs. */
function bin(pkg: string, name: string): string {
  const manifest = require.resolve(`${pkg}/package.json`);
  const { bin: bins } = JSON.parse(readFileSync(manifest, 'utf8')) as {
    bin: Record<string, string>;
  };
  return join(dirname(manifest), bins[name] as string);
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a CLI as a process with this Node; the linters must not reach the network. */
function run(script: string, args: string[], cwd: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], {
      cwd,
      env: {
        ...process.env,
        REDOCLY_TELEMETRY: 'off',
        REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true',
        NO_COLOR: '1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

let tdb: TestDatabase;
let app: TestApp;
let dir: string;
let documentFile: string;

before(async () => {
  const prepared = await prepareDatabase('openapi_lint');
  tdb = prepared.tdb;
  app = await openApp(tdb, prepared.fixtures);
  dir = mkdtempSync(join(tmpdir(), 'order-food-openapi-'));
  const r = await call(app.server, 'GET', '/openapi.json');
  assert.equal(r.status, 200);
  documentFile = join(dir, 'openapi.json');
  writeFileSync(documentFile, r.text);
});

after(async () => {
  await app?.close();
  await tdb?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the OpenAPI document', () => {
  test("Redocly's recommended rules find no error and no warning", async () => {
    const config = repoFile('order-food', 'redocly.yaml');
    const r = await run(
      bin('@redocly/cli', 'redocly'),
      ['lint', documentFile, '--config', config, '--format', 'json'],
      dir,
    );
    const report = JSON.parse(r.stdout) as {
      totals: { errors: number; warnings: number; ignored: number };
      problems: { ruleId: string; message: string; location: { pointer: string }[] }[];
    };
    const found = report.problems.map(
      (p) => `${p.ruleId}: ${p.message} (${p.location[0]?.pointer ?? ''})`,
    );
    assert.deepEqual(found, [], r.stderr);
    assert.deepEqual(report.totals, { errors: 0, warnings: 0, ignored: 0 });
    assert.equal(r.code, 0, r.stderr);
  });

  test("Spectral's OpenAPI rules find nothing, of any severity", async () => {
    const ruleset = repoFile('order-food', '.spectral.yaml');
    const r = await run(
      bin('@stoplight/spectral-cli', 'spectral'),
      [
        'lint',
        documentFile,
        '--ruleset',
        ruleset,
        '--format',
        'json',
        '--fail-severity',
        'hint',
        '--quiet',
      ],
      dir,
    );
    const results = JSON.parse(r.stdout) as { code: string; message: string; path: string[] }[];
    assert.deepEqual(
      results.map((p) => `${p.code}: ${p.message} (${p.path.join('.')})`),
      [],
      r.stderr,
    );
    assert.equal(r.code, 0, r.stderr);
  });

  test('docs/API.md names every named schema, and no linter rule is turned off', () => {
    const document = JSON.parse(readFileSync(documentFile, 'utf8')) as {
      components: { schemas: Record<string, unknown> };
    };
    const listed = readFileSync(repoFile('docs', 'API.md'), 'utf8').match(
      /\*\*Named schemas\.\*\*[\s\S]*?\n- /,
    )?.[0];
    assert.ok(listed, 'the Named schemas item of docs/API.md');
    const names = [...listed.matchAll(/`([A-Z][A-Za-z]+)`/g)].map((m) => m[1]);
    assert.deepEqual(names.sort(), Object.keys(document.components.schemas).sort());
    for (const config of ['redocly.yaml', '.spectral.yaml'])
      assert.doesNotMatch(readFileSync(repoFile('order-food', config), 'utf8'), /^rules:/m);
  });

  test('openapi-typescript makes a client whose named types a usage example compiles against', async () => {
    const generated = await run(
      bin('openapi-typescript', 'openapi-typescript'),
      [documentFile, '--output', join(dir, 'order-food-api.d.ts')],
      dir,
    );
    assert.equal(generated.code, 0, generated.stderr);
    const types = readFileSync(join(dir, 'order-food-api.d.ts'), 'utf8');
    for (const name of ['Product', 'Order', 'OrderItem', 'User', 'Problem'])
      assert.match(types, new RegExp(`\\n\\s+${name}: \\{`), `components.schemas.${name}`);
    copyFileSync(
      repoFile('order-food', 'test', 'fixtures', 'client-usage.ts'),
      join(dir, 'client-usage.ts'),
    );
    // The project's own compiler settings (strict, NodeNext), on the example alone.
    const compiled = await run(
      bin('typescript', 'tsc'),
      [
        '--noEmit',
        '--strict',
        '--noUncheckedIndexedAccess',
        '--target',
        'ES2023',
        '--lib',
        'ES2023,DOM',
        '--module',
        'NodeNext',
        '--moduleResolution',
        'NodeNext',
        'client-usage.ts',
      ],
      dir,
    );
    assert.equal(compiled.code, 0, compiled.stdout + compiled.stderr);
  });
});
