import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  envBool,
  envInt,
  envSeconds,
  parseCommonConfig,
  parseDatabaseTarget,
  releaseVersion,
} from '../src/config.js';
import { ConfigError } from '../src/errors.js';

test('the common configuration has defaults and is frozen', () => {
  const config = parseCommonConfig({ HOSTNAME: 'host-1' });
  assert.deepEqual(config, {
    database: {
      kind: 'pglite',
      dataDir: '.data/pglite',
      display: 'embedded PGlite (.data/pglite)',
    },
    dbWaitTimeoutMs: 60_000,
    logLevel: 'info',
    environment: undefined,
    serviceVersion: releaseVersion,
    instance: 'host-1',
  });
  assert.ok(Object.isFrozen(config));
  assert.ok(Object.isFrozen(config.database));
  assert.equal(parseCommonConfig({ POD_NAME: 'pod-a', HOSTNAME: 'h' }).instance, 'pod-a');
  assert.equal(parseCommonConfig({ DB_WAIT_TIMEOUT: '2.5' }).dbWaitTimeoutMs, 2500);
  assert.equal(parseCommonConfig({ LOG_LEVEL: 'DEBUG' }).logLevel, 'debug');
});

test('a malformed value fails with the variable name', () => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ DB_WAIT_TIMEOUT: 'soon' }, /^DB_WAIT_TIMEOUT must be a number of seconds, got "soon"$/],
    [{ DB_WAIT_TIMEOUT: '-1' }, /^DB_WAIT_TIMEOUT must be a number of seconds/],
    [{ DB_WAIT_TIMEOUT: '7200' }, /^DB_WAIT_TIMEOUT must be between 0 and 3600 seconds, got 7200$/],
    [
      { LOG_LEVEL: 'loud' },
      /^LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent/,
    ],
    [
      { DATABASE_URL: 'mysql://db/x' },
      /^DATABASE_URL must start with postgres:\/\/ or postgresql:\/\//,
    ],
    [{ DATABASE_URL: 'not a url' }, /^DATABASE_URL is not a valid URL/],
    [{ DATABASE_URL: 'pglite:' }, /^DATABASE_URL pglite: needs a path/],
    [
      { DATABASE_URL_FILE: '/nonexistent/secret' },
      /^DATABASE_URL_FILE names \/nonexistent\/secret, which cannot be read/,
    ],
  ];
  for (const [env, message] of cases) {
    assert.throws(
      () => parseCommonConfig(env),
      (err: unknown) => err instanceof ConfigError && message.test((err as Error).message),
      JSON.stringify(env),
    );
  }
  assert.throws(() => envInt({ N: '1.5' }, 'N', 1), /N must be an integer, got "1.5"$/);
  assert.throws(() => envInt({ N: '11' }, 'N', 1, { max: 10 }), /N must be between/);
  assert.throws(() => envBool({ B: 'maybe' }, 'B', false), /B must be true or false/);
  assert.equal(envBool({ B: ' Yes ' }, 'B', false), true);
  assert.equal(envSeconds({ S: '' }, 'S', 3), 3000, 'blank means unset');
});

test('DATABASE_URL selects PostgreSQL or embedded PGlite; passwords stay out of display', () => {
  assert.deepEqual(parseDatabaseTarget({ DATABASE_URL: 'pglite:memory' }), {
    kind: 'pglite',
    dataDir: undefined,
    display: 'embedded PGlite (memory)',
  });
  assert.deepEqual(parseDatabaseTarget({ DATABASE_URL: 'pglite:///tmp/x' }), {
    kind: 'pglite',
    dataDir: '/tmp/x',
    display: 'embedded PGlite (/tmp/x)',
  });
  const pg = parseDatabaseTarget({ DATABASE_URL: 'postgres://app:s3cret@db:5432/orders' });
  assert.equal(pg.kind, 'postgres');
  assert.equal(pg.display, 'postgres://app@db:5432/orders');
  assert.ok(!pg.display.includes('s3cret'));

  const dir = mkdtempSync(join(tmpdir(), 'config-secret-'));
  try {
    writeFileSync(join(dir, 'password'), 'p@ss word\n');
    const target = parseDatabaseTarget({
      DATABASE_URL: 'postgresql://app@db/orders',
      DATABASE_PASSWORD_FILE: join(dir, 'password'),
    });
    assert.equal(target.kind, 'postgres');
    assert.equal(target.kind === 'postgres' && new URL(target.url).password, 'p%40ss%20word');
    assert.equal(target.display, 'postgres://app@db/orders');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
