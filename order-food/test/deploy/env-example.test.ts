/**
 * .env.example names every variable the three programs read, no other, and its uncommented
 * lines are the defaults: the config modules parse the file's values to what they make of an
 * empty environment.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseCommonConfig } from '@order-food/platform/config';
import { telemetrySettings } from '@order-food/platform/telemetry';
import { repoRoot } from '@order-food/platform/testing/run-program';
import { parseMigrationConfig } from '../../../database-migration/src/config.js';
import { parseApiConfig } from '../../src/config.js';

const sources = ['platform/src', 'database-migration/src', 'database-load/src', 'order-food/src'];
/** Read by the programs but set by the system, not by an operator. */
const notOperatorSettings = new Set(['HOSTNAME']);

/** Variables the source reads: env helpers, secrets (NAME and NAME_FILE), process.env. */
function variablesRead(): Set<string> {
  const names = new Set<string>();
  const pattern =
    /\b(?:env|process\.env)(?:\.([A-Z][A-Z0-9_]+)\b|\[\s*'([A-Z][A-Z0-9_]+)'\s*\])|\b(env[A-Z]\w*|optionalMs)\(\s*(?:[\w.]+,\s*)?'([A-Z][A-Z0-9_]+)'/g;
  for (const dir of sources) {
    const files = readdirSync(join(repoRoot, dir), { recursive: true, encoding: 'utf8' });
    for (const file of files.filter((f) => f.endsWith('.ts'))) {
      const text = readFileSync(join(repoRoot, dir, file), 'utf8');
      for (const m of text.matchAll(pattern)) {
        const name = (m[1] ?? m[2] ?? m[4])!;
        names.add(name);
        if (m[3] === 'envSecret') names.add(`${name}_FILE`);
      }
    }
  }
  for (const n of notOperatorSettings) names.delete(n);
  return names;
}

const lines = readFileSync(join(repoRoot, '.env.example'), 'utf8').split('\n');
const listed = new Map<string, string | undefined>();
for (const line of lines) {
  const m = /^(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
  if (m) listed.set(m[2]!, m[1] ? undefined : m[3]!);
}

test('.env.example lists every variable the programs read, and no other', () => {
  const read = variablesRead();
  assert.ok(read.size > 40, `the scan finds the variables (${read.size})`);
  assert.deepEqual(
    [...read].filter((n) => !listed.has(n)).sort(),
    [],
    'read by the programs, missing from .env.example',
  );
  assert.deepEqual(
    [...listed.keys()].filter((n) => !read.has(n)).sort(),
    [],
    'in .env.example, read by no program',
  );
});

test('its uncommented values are the defaults the config modules use', () => {
  const values = Object.fromEntries(
    [...listed].filter((e): e is [string, string] => e[1] !== undefined),
  );
  assert.ok(Object.keys(values).length > 30);
  for (const v of Object.values(values)) assert.doesNotMatch(v, /\s|^$/, 'plain shell words');
  assert.deepEqual(parseCommonConfig(values), parseCommonConfig({}));
  // The API needs a key outside development: the same one on both sides.
  const key = { JWT_SECRET: 'k'.repeat(32) };
  assert.deepEqual(parseApiConfig({ ...values, ...key }), parseApiConfig(key));
  assert.deepEqual(parseMigrationConfig(values, {}), parseMigrationConfig({}, {}));
  for (const program of ['database-migration', 'database-load', 'order-food'])
    assert.deepEqual(telemetrySettings(program, values), telemetrySettings(program, {}));
});
