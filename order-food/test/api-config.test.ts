import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '@order-food/platform/testing/run-program';
import { parse } from 'yaml';
import { developmentJwtSecret, parseApiConfig } from '../src/config.js';

const secret = 'a-production-secret-of-at-least-32-characters';

test('the development secret and a loopback HOST only when ENVIRONMENT is exactly development', () => {
  const development = parseApiConfig({ ENVIRONMENT: 'development' });
  assert.equal(development.jwt.secret, developmentJwtSecret);
  assert.equal(development.jwt.isDevelopmentSecret, true);
  assert.equal(development.host, '127.0.0.1');
  assert.equal(parseApiConfig({ ENVIRONMENT: 'development', HOST: '0.0.0.0' }).host, '0.0.0.0');
  for (const environment of [
    undefined,
    'production',
    'kubernetes',
    'compose',
    'DEVELOPMENT',
    'dev',
  ])
    assert.throws(
      () => parseApiConfig({ ENVIRONMENT: environment }),
      /JWT_SECRET \(or JWT_SECRET_FILE\) is required/,
      String(environment),
    );
  const production = parseApiConfig({ ENVIRONMENT: 'kubernetes', JWT_SECRET: secret });
  assert.equal(production.jwt.secret, secret);
  assert.equal(production.host, '0.0.0.0');
  assert.equal(parseApiConfig({ JWT_SECRET: secret }).host, '0.0.0.0');
  assert.throws(() => parseApiConfig({ JWT_SECRET: 'short' }), /at least 32 characters/);
});

test('the images set ENVIRONMENT=production in their runtime stage', () => {
  for (const program of ['database-migration', 'database-load', 'order-food']) {
    const text = readFileSync(join(repoRoot, program, 'Dockerfile'), 'utf8');
    const runtime = text.slice(text.lastIndexOf('\nFROM '));
    assert.match(runtime, /^ENV [^\n]*\bENVIRONMENT=production\b/m, `${program}/Dockerfile`);
  }
});

test("docker compose's environment starts the API (ENVIRONMENT=compose is production-like)", () => {
  const compose = parse(readFileSync(join(repoRoot, 'docker-compose.yml'), 'utf8'), {
    merge: true,
  }) as { services: Record<string, { environment: Record<string, string> }> };
  // ${NAME:-default} as compose reads it with nothing set in the shell.
  const env = Object.fromEntries(
    Object.entries(compose.services['order-food']!.environment).map(([k, v]) => [
      k,
      String(v).replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1'),
    ]),
  );
  assert.equal(env.ENVIRONMENT, 'compose');
  const config = parseApiConfig(env);
  assert.equal(config.jwt.isDevelopmentSecret, false);
  assert.equal(config.host, '0.0.0.0');
});
