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
import { UsageError } from '@order-food/platform/errors';
import { createLogger } from '@order-food/platform/logger';
import { defineProgram, type ProgramContext } from '@order-food/platform/program';
import { waitForDatabase } from '@order-food/platform/wait-for-database';
import { type AdminInput, checkAdmin, createAdmin, formatAdmin } from './create-admin.js';
import { type DataFile, fileOrder, scanDataSet } from './dataset.js';
import { generateDataSet } from './generate.js';
import { loadDataSet } from './loader.js';
import { dataStatus, formatStatus } from './status.js';

const usage = `usage: database-load [load] [--dir DIR] [--mode insert|upsert] [--force]
       database-load status [--dir DIR] [--json]
       database-load validate [--dir DIR]
       database-load create-admin --email EMAIL [--name NAME]
       database-load generate --out DIR [--products N] [--users N] [--orders N] [--seed N]

load          validates the data set and loads it: rows missing by natural key are inserted;
              --mode upsert also overwrites users and products from the files. An unchanged
              data set already loaded in the same mode is skipped at once; --force loads it
              again. The data set: DIR (or DATA_DIR), else the bundled one DATA_SET names:
              menu (the products alone; the default when ENVIRONMENT=production) or demo
              (the products, demo users and orders; the default otherwise). With ADMIN_EMAIL
              set, then does what create-admin does.
status        the data set's hash, whether it is loaded, and the latest runs
validate      checks every record and reference of the data set, without a database
create-admin  creates the admin EMAIL, or makes that user an admin; idempotent, one line
generate      writes a synthetic data set of the given size (defaults 1000, 10000, 100000)`;

const commands = ['load', 'status', 'validate', 'create-admin', 'generate'];
const dataSets = ['demo', 'menu'] as const;

/** The data set shipped with the program, next to src/ and dist/ alike. */
const bundledData = fileURLToPath(new URL('../data/', import.meta.url));

interface DataChoice {
  dir: string;
  parts: readonly DataFile[];
  /** demo, menu, or the directory given. */
  name: string;
}

/**
 * What is loaded: --dir or DATA_DIR, all three files; else the bundled set DATA_SET names. The
 * demo users (admin@example.com among them) are never loaded by default where ENVIRONMENT is
 * production, the images' value: there the default is the menu alone.
 */
function chooseDataSet(env: NodeJS.ProcessEnv, dirFlag: string | boolean | undefined): DataChoice {
  const dir = typeof dirFlag === 'string' ? dirFlag : envString(env, 'DATA_DIR');
  const named =
    envString(env, 'DATA_SET') === undefined
      ? undefined
      : envEnum(env, 'DATA_SET', dataSets, 'menu');
  if (dir !== undefined && named !== undefined)
    throw new UsageError(
      `DATA_SET=${named} names a bundled data set and ${typeof dirFlag === 'string' ? '--dir' : 'DATA_DIR'} another one; set only one`,
    );
  if (dir !== undefined) return { dir: resolve(dir), parts: fileOrder, name: resolve(dir) };
  const name = named ?? (env.ENVIRONMENT === 'production' ? 'menu' : 'demo');
  return { dir: bundledData, parts: name === 'menu' ? ['products'] : fileOrder, name };
}

function count(flags: Record<string, string | boolean>, name: string, fallback: number): number {
  const v = flags[name];
  if (v === undefined) return fallback;
  if (typeof v !== 'string' || !/^\d+$/.test(v) || Number(v) > 100_000_000)
    throw new UsageError(`--${name} must be a whole number up to 100000000, got "${String(v)}"`);
  return Number(v);
}

async function main(program: ProgramContext): Promise<number> {
  const args = parseArgs(
    process.argv.slice(2),
    ['dir', 'mode', 'out', 'products', 'users', 'orders', 'seed', 'email', 'name'],
    ['json', 'force', 'help'],
  );
  const command = args.command ?? 'load';
  if (args.flags.help || command === 'help') {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  if (!commands.includes(command))
    throw new UsageError(`unknown command "${command}" (${commands.join(', ')}; --help for usage)`);
  if (args.positionals.length > 0)
    throw new UsageError(`unexpected argument "${args.positionals[0]}"`);
  const adminFlags = ['email', 'name'].filter((f) => args.flags[f] !== undefined);
  if (command !== 'create-admin' && adminFlags.length > 0)
    throw new UsageError(`--${adminFlags[0]} goes with the create-admin command`);
  let admin: AdminInput | undefined;
  if (command === 'create-admin') {
    if (typeof args.flags.email !== 'string')
      throw new UsageError(
        'create-admin needs --email EMAIL, e.g. create-admin --email ops@example.org',
      );
    admin = { email: args.flags.email, name: args.flags.name as string | undefined };
  } else if (command === 'load' && envString(process.env, 'ADMIN_EMAIL') !== undefined) {
    admin = {
      email: envString(process.env, 'ADMIN_EMAIL')!,
      name: envString(process.env, 'ADMIN_NAME'),
    };
  }
  // A bad address is a usage error before any database is reached.
  if (admin)
    checkAdmin(
      admin,
      command === 'load' ? { email: 'ADMIN_EMAIL', name: 'ADMIN_NAME' } : undefined,
    );

  if (command === 'validate') {
    const choice = chooseDataSet(process.env, args.flags.dir);
    const s = await scanDataSet(choice.dir, choice.parts);
    process.stdout.write(
      `valid: ${choice.name}: ${s.counts.products} products, ${s.counts.users} users, ${s.counts.orders} orders (${s.counts.order_items} order lines), hash ${s.hash}\n`,
    );
    return 0;
  }

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
  const choice = chooseDataSet(env, args.flags.dir);
  const { dir, parts } = choice;
  const modeFlag = args.flags.mode;
  if (modeFlag !== undefined && modeFlag !== 'insert' && modeFlag !== 'upsert')
    throw new UsageError(`--mode must be insert or upsert, got "${String(modeFlag)}"`);
  const mode = modeFlag ?? envEnum(env, 'LOAD_MODE', ['insert', 'upsert'] as const, 'insert');
  const lockTimeoutMs = envSeconds(env, 'LOAD_LOCK_TIMEOUT', 300, { min: 0, max: 86_400 });
  const progressIntervalMs = envSeconds(env, 'LOAD_PROGRESS_INTERVAL', 5, { min: 0 });
  const poolSize = envInt(env, 'DB_POOL_SIZE', 2, { min: 2, max: 20 });
  // status and create-admin print their result on stdout; their log lines go to stderr.
  const log =
    command === 'load'
      ? createLogger('database-load', config.logLevel)
      : createLogger('database-load', config.logLevel, process.stderr);
  program.useLogger(log);

  return program.topSpan(
    // The seed's name for a data load; status is named by its program.
    command === 'load' ? 'dataload.execute' : `database-load ${command}`,
    { 'data.dir': dir, 'data.set': choice.name, 'data.mode': mode },
    async (span) => {
      // A direct connection, when given, is what the load's one transaction runs on.
      const db = await createDatabase(config.directDatabase ?? config.database, {
        logger: log,
        applicationName: 'database-load',
        max: poolSize,
      });
      try {
        log.info(
          { database: db.display, command, dir, dataSet: choice.name, parts, mode },
          'database-load starting',
        );
        await waitForDatabase(db, { timeoutMs: config.dbWaitTimeoutMs, logger: log });
        if (command === 'create-admin') {
          process.stdout.write(formatAdmin(await createAdmin(db, admin!)));
          return 0;
        }
        if (command === 'status') {
          const status = await dataStatus(db, dir, parts);
          process.stdout.write(
            args.flags.json ? `${JSON.stringify(status, null, 2)}\n` : formatStatus(status),
          );
          return 0;
        }
        const result = await loadDataSet(db, {
          dir,
          parts,
          mode,
          force: args.flags.force === true,
          logger: log,
          lockTimeoutMs,
          progressIntervalMs,
          appliedBy: config.instance,
          serviceVersion: config.serviceVersion,
        });
        span.setAttribute('data.outcome', result.outcome);
        if (admin) {
          const r = await createAdmin(db, admin);
          log.info({ email: r.email, id: r.id, outcome: r.outcome }, formatAdmin(r).trim());
        }
        return 0;
      } finally {
        await db.close().catch(() => undefined);
      }
    },
  );
}

await defineProgram({ name: 'database-load', run: main });
