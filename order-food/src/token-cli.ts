/**
 * `npm run token -- --email EMAIL`: prints a bearer token for a user (a development aid). The
 * token is the last line of output. With the embedded database, run it while the API is stopped
 * (an embedded database has one process at a time); `npm start` prints tokens itself.
 */
import { parseArgs, runCli } from '@order-food/platform/cli';
import { createDatabase } from '@order-food/platform/database';
import { OperationalError, UsageError } from '@order-food/platform/errors';
import { createLogger, type Logger } from '@order-food/platform/logger';
import { parseApiConfig } from './config.js';
import { createTokenService } from './token.js';
import { findUserByEmail } from './user-repository.js';

const usage = 'usage: npm run token -- --email EMAIL';
let logger: Logger | undefined;

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2), ['email'], ['help']);
  if (args.flags.help) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  if (args.command !== undefined)
    throw new UsageError(`unexpected argument "${args.command}"; ${usage}`);
  const email = args.flags.email;
  if (typeof email !== 'string') throw new UsageError(`--email is required; ${usage}`);
  const config = parseApiConfig();
  // Log lines go to stderr: stdout carries only the token.
  logger = createLogger(
    'order-food-token',
    config.logLevel === 'info' ? 'warn' : config.logLevel,
    process.stderr,
  );
  const db = await createDatabase(config.database, {
    logger,
    applicationName: 'order-food-token',
    max: 1,
    connectTimeoutMs: config.pool.connectTimeoutMs,
  });
  try {
    const user = await findUserByEmail(db, email);
    if (!user) {
      throw new OperationalError(
        `no user with email ${email} in ${db.display}; check the address, or create the user (POST /api/users as an admin)`,
      );
    }
    const tokens = createTokenService(config.jwt.secret, config.jwt.ttlSeconds);
    process.stderr.write(
      `bearer token for ${user.email} (${user.role}, id ${user.id}), valid ${Math.round(config.jwt.ttlSeconds / 3600)} h:\n`,
    );
    process.stdout.write(`${tokens.sign({ userId: user.id, role: user.role })}\n`);
    return 0;
  } finally {
    await db.close();
  }
}

await runCli('order-food token', main, () => logger);
