import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { defaultMigrationsDir, parseMigrationConfig } from '../src/config.js';
import { migrationsDir } from './helpers.js';

test('the migration configuration has bounded defaults and is frozen', () => {
  const config = parseMigrationConfig({});
  assert.ok(Object.isFrozen(config));
  assert.equal(join(defaultMigrationsDir), join(migrationsDir, '/'));
  assert.equal(config.migrationsDir, defaultMigrationsDir);
  assert.equal(config.lockWaitTimeoutMs, 300_000);
  assert.equal(config.statementLockTimeoutMs, 5000);
  assert.equal(config.statementTimeoutMs, 900_000);
  assert.equal(config.lockRetries, 3);
  assert.equal(config.lockRetryDelayMs, 2000);
  assert.equal(config.dbWaitTimeoutMs, 60_000);
});

test('--dir wins over MIGRATIONS_DIR; the variables are read in seconds', () => {
  const env = {
    MIGRATIONS_DIR: '/from/env',
    MIGRATION_LOCK_TIMEOUT: '30',
    MIGRATION_STATEMENT_LOCK_TIMEOUT: '0.5',
    MIGRATION_STATEMENT_TIMEOUT: '0',
    MIGRATION_LOCK_RETRIES: '0',
    MIGRATION_LOCK_RETRY_DELAY: '1.5',
  };
  const config = parseMigrationConfig(env);
  assert.equal(config.migrationsDir, '/from/env');
  assert.equal(config.lockWaitTimeoutMs, 30_000);
  assert.equal(config.statementLockTimeoutMs, 500);
  assert.equal(config.statementTimeoutMs, 0);
  assert.equal(config.lockRetries, 0);
  assert.equal(config.lockRetryDelayMs, 1500);
  assert.equal(parseMigrationConfig(env, { dir: '/from/flag' }).migrationsDir, '/from/flag');
  assert.throws(
    () => parseMigrationConfig({ MIGRATION_STATEMENT_TIMEOUT: '5m' }),
    /MIGRATION_STATEMENT_TIMEOUT must be a number of seconds, got "5m"/,
  );
});
