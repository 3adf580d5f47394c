import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Queryable } from '@order-food/platform/database';
import { listOrders } from '../../order-food/src/order-repository.js';
import { listProducts } from '../../order-food/src/product-repository.js';
import { currentRole } from '../../order-food/src/user-repository.js';
import {
  currentRoleSql,
  listOrdersSql,
  listProductsSql,
  orderItemsSql,
} from '../baseline/server.js';

/** Records the SQL the API's repository functions send, answering with canned rows. */
function recorder(answers: Record<string, unknown>[][]): { db: Queryable; sent: string[] } {
  const sent: string[] = [];
  const db: Queryable = {
    async query<T>(text: string) {
      sent.push(text);
      const rows = (answers.shift() ?? []) as T[];
      return { rows, rowCount: rows.length };
    },
    async exec() {},
  };
  return { db, sent };
}

test("the bare server's orders SQL is the API's, statement for statement", async () => {
  const order = {
    id: '00000000-0000-4000-8000-000000000001',
    user_id: '00000000-0000-4000-8000-000000000002',
    status: 'pending',
    total_cents: 100,
    delivery_address: null,
    delivery_note: null,
    created_at: new Date(),
    updated_at: new Date(),
    position: '2026-01-01T00:00:00.000000Z',
  };
  const { db, sent } = recorder([[order], []]);
  await listOrders(db, { userId: order.user_id, limit: 20 });
  assert.deepEqual(sent, [listOrdersSql, orderItemsSql]);
});

test("the bare server's read of the caller is the API's", async () => {
  const { db, sent } = recorder([[{ role: 'customer' }]]);
  assert.equal(await currentRole(db, '00000000-0000-4000-8000-000000000002'), 'customer');
  assert.deepEqual(sent, [currentRoleSql]);
});

test("the bare server's menu SQL is the API's", async () => {
  const { db, sent } = recorder([[]]);
  await listProducts(db, { limit: 20 });
  assert.deepEqual(sent, [listProductsSql]);
});
