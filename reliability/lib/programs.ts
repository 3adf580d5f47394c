import { type ProgramResult, runProgram } from '@order-food/platform/testing/run-program';

const quiet = { LOG_LEVEL: 'warn', DB_WAIT_TIMEOUT: '30' };

function check(what: string, result: ProgramResult): ProgramResult {
  if (result.code !== 0) {
    throw new Error(
      `${what} exited ${result.code ?? result.signal}:\n${result.stdout.slice(-3000)}\n${result.stderr.slice(-3000)}`,
    );
  }
  return result;
}

/** database-migration migrate, expected to succeed. */
export async function migrate(
  databaseUrl: string,
  args: string[] = [],
  env: Record<string, string> = {},
): Promise<ProgramResult> {
  return check(
    `database-migration ${args.join(' ')}`,
    await runProgram('database-migration', ['migrate', ...args], {
      env: { DATABASE_URL: databaseUrl, ...quiet, ...env },
      timeoutMs: 180_000,
    }),
  );
}

/** database-load load, expected to succeed. */
export async function load(
  databaseUrl: string,
  args: string[] = [],
  env: Record<string, string> = {},
): Promise<ProgramResult> {
  return check(
    `database-load ${args.join(' ')}`,
    await runProgram('database-load', ['load', ...args], {
      env: { DATABASE_URL: databaseUrl, ...quiet, ...env },
      timeoutMs: 600_000,
    }),
  );
}

/** The users every data set has (DESIGN.md). */
export const users = {
  alice: 'alice@example.com',
  bob: 'bob@example.com',
  admin: 'admin@example.com',
} as const;
