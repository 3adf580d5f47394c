import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createTestDatabase, type TestDatabase } from '@order-food/platform/testing/test-database';
import { ensureHistoryTables, recordMigration } from '../src/history.js';
import { withDatabase } from './helpers.js';

let db: TestDatabase;

before(async () => {
  db = await createTestDatabase('migration_history');
});
after(async () => {
  await db?.drop();
});

test('attempts are appended and a success is never overwritten by a later failure', async () => {
  const attempt = (success: boolean, appliedBy: string) => ({
    version: 7,
    name: 'seven',
    checksum: 'c',
    executionMs: 1,
    success,
    appliedBy,
    serviceVersion: '1',
    traceId: null,
  });
  await withDatabase(db, async (q) => {
    await ensureHistoryTables(q);
    await recordMigration(q, attempt(false, 'first-failed'));
    await recordMigration(q, attempt(true, 'winner'));
    await recordMigration(q, attempt(false, 'raced-and-failed'));
    const row = await q.query<{ success: boolean; applied_by: string }>(
      'SELECT success, applied_by FROM schema_migrations WHERE version = 7',
    );
    assert.deepEqual(row.rows, [{ success: true, applied_by: 'winner' }]);
    const attempts = await q.query<{ success: boolean; applied_by: string }>(
      'SELECT success, applied_by FROM schema_migration_attempts ORDER BY id',
    );
    assert.deepEqual(
      attempts.rows.map((a) => [a.applied_by, a.success]),
      [
        ['first-failed', false],
        ['winner', true],
        ['raced-and-failed', false],
      ],
    );
  });
});
