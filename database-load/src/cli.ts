#!/usr/bin/env node
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from '@order-food/platform/cli';
import {
  envEnum,
  envInt,
  envSeconds,
  envString,
  parseCommonConfig,
} from '@order-food/platform/config';
import { createDatabase } from '@order-food/platform/database';
import { runsItself } from '@order-food/platform/entry';
import { UsageError } from '@order-food/platform/errors';
import { createLogger } from '@order-food/platform/logger';
import { defineProgram, type ProgramContext } from '@order-food/platform/program';
import { waitForDatabase } from '@order-food/platform/wait-for-database';
import { generateDataSet } from './generate.js';
import { loadDataSet } from './loader.js';
import { dataStatus, formatStatus } from './status.js';

const usage = `usage: database-load [load] [--dir DIR] [--mode insert|upsert] [--force]
       database-load status [--dir DIR] [--json]
       database-load generate --out DIR [--products N] [--users N] [--orders N] [--seed N]

load      validates the data set in DIR (default: the bundled data/, or DATA_DIR) and loads it:
          rows missing by natural key are inserted; --mode upsert also overwrites users and
          products from the files. An unchanged data set already loaded in the same mode is
          skipped at once; --force loads it again.
status    the data set's hash, whether it is loaded, and the latest runs
generate  writes a synthetic data set of the given size (defaults 1000, 10000, 100000)`;

/** The data set shipped with the program, next to src/ and dist/ alike. */
const bundledData = fileURLToPath(new URL('../data/', import.meta.url));

function count(flags: Record<string, string | boolean>, name: string, fallback: number): number {
  const v = flags[name];
  if (v === undefined) return fallback;
  if (typeof v !== 'string' || !/^\d+$/.test(v) || Number(v) > 100_000_000)
    throw new UsageError(`--${name} must be a whole number up to 100000000, got "${String(v)}"`);
  return Number(v);
}

/** The program's work, for defineProgram or a launcher that runs it in its own process. */
export async function main(
  program: ProgramContext,
  argv: readonly string[] = process.argv.slice(2),
): Promise<number> {
  const args = parseArgs(
    [...argv],
    ['dir', 'mode', 'out', 'products', 'users', 'orders', 'seed'],
    ['json', 'force', 'help'],
  );
  const command = args.command ?? 'load';
  if (args.flags.help || command === 'help') {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  if (!['load', 'status', 'generate'].includes(command))
    throw new UsageError(`unknown command "${command}" (load, status, generate; --help for usage)`);
  if (args.positionals.length > 0)
    throw new UsageError(`unexpected argument "${args.positionals[0]}"`);

  if (command === 'generate') {
    const out = args.flags.out;
    if (typeof out !== 'string') throw new UsageError('generate needs --out DIR');
    const products = count(args.flags, 'products', 1000);
    const users = count(args.flags, 'users', 10_000);
    const orders = count(args.flags, 'orders', 100_000);
    if (orders > 0 && (products === 0 || users === 0))
      throw new UsageError('orders need at least one product and one user');
    const r = await generateDataSet({
      out: resolve(out),
      products,
      users,
      orders,
      seed: count(args.flags, 'seed', 1),
    });
    process.stdout.write(
      `wrote ${r.products} products, ${r.users} users, ${r.orders} orders (${r.orderItems} order lines) to ${r.out}\n`,
    );
    return 0;
  }

  const config = parseCommonConfig();
  const env = process.env;
  const dir = resolve(
    typeof args.flags.dir === 'string' ? args.flags.dir : envString(env, 'DATA_DIR', bundledData),
  );
  const modeFlag = args.flags.mode;
  if (modeFlag !== undefined && modeFlag !== 'insert' && modeFlag !== 'upsert')
    throw new UsageError(`--mode must be insert or upsert, got "${String(modeFlag)}"`);
  const mode = modeFlag ?? envEnum(env, 'LOAD_MODE', ['insert', 'upsert'] as const, 'insert');
  const lockTimeoutMs = envSeconds(env, 'LOAD_LOCK_TIMEOUT', 300, { min: 0, max: 86_400 });
  const progressIntervalMs = envSeconds(env, 'LOAD_PROGRESS_INTERVAL', 5, { min: 0 });
  const poolSize = envInt(env, 'DB_POOL_SIZE', 2, { min: 2, max: 20 });
  // status prints its report on stdout; its log lines go to stderr so --json stays parseable.
  const log =
    command === 'status'
      ? createLogger('database-load', config.logLevel, process.stderr)
      : createLogger('database-load', config.logLevel);
  program.useLogger(log);

  return program.topSpan(
    // The seed's name for a data load; status is named by its program.
    command === 'load' ? 'dataload.execute' : `database-load ${command}`,
    { 'data.dir': dir, 'data.mode': mode },
    async (span) => {
      // A direct connection, when given, is what the load's one transaction runs on.
      const db = await createDatabase(config.directDatabase ?? config.database, {
        logger: log,
        applicationName: 'database-load',
        max: poolSize,
      });
      try {
        log.info({ database: db.display, command, dir, mode }, 'database-load starting');
        await waitForDatabase(db, { timeoutMs: config.dbWaitTimeoutMs, logger: log });
        if (command === 'status') {
          const status = await dataStatus(db, dir);
          process.stdout.write(
            args.flags.json ? `${JSON.stringify(status, null, 2)}\n` : formatStatus(status),
          );
          return 0;
        }
        const result = await loadDataSet(db, {
          dir,
          mode,
          force: args.flags.force === true,
          logger: log,
          lockTimeoutMs,
          progressIntervalMs,
          appliedBy: config.instance,
          serviceVersion: config.serviceVersion,
        });
        span.setAttribute('data.outcome', result.outcome);
        return 0;
      } finally {
        await db.close().catch(() => undefined);
      }
    },
  );
}

if (runsItself()) await defineProgram({ name: 'database-load', run: main });
