import type { Database } from '@order-food/platform/database';
import type { FastifyInstance } from 'fastify';
import type { ApiConfig } from './config.js';
import { findUserByEmail } from './user-repository.js';

/**
 * Example commands with working tokens for a seeded customer and the admin, printed once the API
 * is ready when `npm start` asks for them: the quickest way to try the API by hand.
 */
export async function printExamples(
  db: Database,
  server: FastifyInstance,
  config: Pick<ApiConfig, 'port'>,
): Promise<void> {
  const base = `http://localhost:${config.port}`;
  const alice = await findUserByEmail(db, 'alice@example.com').catch(() => undefined);
  const admin = await findUserByEmail(db, 'admin@example.com').catch(() => undefined);
  const { rows } = await db
    .query<{ id: string }>('SELECT id FROM products WHERE available ORDER BY name, id LIMIT 1')
    .catch(() => ({ rows: [] as { id: string }[] }));
  const lines = ['', `order-food is ready on ${base}  (API reference: ${base}/docs)`, ''];
  // Pasted into a shell as printed: URLs with ? quoted, ids looked up, node to read the JSON.
  const firstId = `node -pe 'JSON.parse(fs.readFileSync(0, "utf8")).items[0].id'`;
  lines.push(`  curl -s '${base}/api/products?limit=5'`);
  if (alice) {
    const token = server.tokens.sign({ userId: alice.id, role: alice.role });
    lines.push('', `  # as the customer ${alice.email}`, `  export CUSTOMER_TOKEN=${token}`);
    lines.push(`  curl -s ${base}/api/users/me -H "Authorization: Bearer $CUSTOMER_TOKEN"`);
    if (rows[0]) {
      lines.push(
        `  curl -s -X POST ${base}/api/orders -H "Authorization: Bearer $CUSTOMER_TOKEN" -H 'Content-Type: application/json' -H "Idempotency-Key: $(node -pe 'crypto.randomUUID()')" -d '{"items":[{"productId":"${rows[0].id}","quantity":2}]}'`,
      );
    }
    lines.push(`  curl -s ${base}/api/orders -H "Authorization: Bearer $CUSTOMER_TOKEN"`);
  }
  if (admin) {
    const token = server.tokens.sign({ userId: admin.id, role: admin.role });
    lines.push('', `  # as the admin ${admin.email}`, `  export ADMIN_TOKEN=${token}`);
    lines.push(
      `  curl -s "${base}/api/orders?status=pending" -H "Authorization: Bearer $ADMIN_TOKEN"`,
    );
    lines.push(
      `  ORDER_ID=$(curl -s '${base}/api/orders?status=pending&limit=1' -H "Authorization: Bearer $ADMIN_TOKEN" | ${firstId})`,
      `  curl -s -X PATCH ${base}/api/orders/$ORDER_ID/status -H "Authorization: Bearer $ADMIN_TOKEN" -H 'Content-Type: application/json' -d '{"status":"confirmed"}'`,
    );
  }
  if (!alice && !admin)
    lines.push(
      '',
      '  (no seeded users found: run database-load, or create users with POST /api/users)',
    );
  lines.push('');
  process.stdout.write(`${lines.join('\n')}\n`);
}
