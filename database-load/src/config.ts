import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from '@order-food/platform/cli';
import {
  type CommonConfig,
  envEnum,
  envInt,
  envSeconds,
  envString,
  parseCommonConfig,
  parseLogLevel,
} from '@order-food/platform/config';
import { UsageError } from '@order-food/platform/errors';
import { help, type ProgramHelp, type ProgramSettings } from '@order-food/platform/program';
import { type AdminInput, checkAdmin } from './create-admin.js';
import { type DataFile, fileOrder } from './dataset.js';

type Env = Record<string, string | undefined>;

export const usage = `usage: database-load [load] [--dir DIR] [--mode insert|upsert] [--force]
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
generate      writes a synthetic data set of the given size (defaults 1000, 10000, 100000)
`;

/** The data set shipped with the program, next to src/ and dist/ alike. */
const bundledData = fileURLToPath(new URL('../data/', import.meta.url));

const dataSets = ['demo', 'menu'] as const;

/** What is loaded: a directory, or a bundled data set by name (the parts it holds). */
export interface DataChoice {
  readonly dir: string;
  readonly parts: readonly DataFile[];
  /** demo, menu, or the directory given. */
  readonly name: string;
}

/**
 * --dir or DATA_DIR, all three files; else the bundled set DATA_SET names. Where ENVIRONMENT is
 * production (the images' value) the default is the menu alone: never the demo users by default.
 */
function chooseDataSet(env: Env, dirFlag: string | boolean | undefined): DataChoice {
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

/** generate: a synthetic data set's size; it needs no database and no configuration. */
export interface GenerateCommand extends ProgramSettings {
  readonly command: 'generate';
  readonly out: string;
  readonly products: number;
  readonly users: number;
  readonly orders: number;
  readonly seed: number;
}

/** validate: the data set's records and references, without a database. */
export interface ValidateCommand extends ProgramSettings {
  readonly command: 'validate';
  readonly data: DataChoice;
}

export interface LoadCommand extends CommonConfig, ProgramSettings {
  readonly command: 'load' | 'status' | 'create-admin';
  readonly data: DataChoice;
  /** create-admin's, or ADMIN_EMAIL's after a load. */
  readonly admin: AdminInput | undefined;
  readonly mode: 'insert' | 'upsert';
  readonly force: boolean;
  readonly json: boolean;
  readonly lockTimeoutMs: number;
  readonly progressIntervalMs: number;
}

export type DataCommand = GenerateCommand | ValidateCommand | LoadCommand;

function count(flags: Record<string, string | boolean>, name: string, fallback: number): number {
  const v = flags[name];
  if (v === undefined) return fallback;
  if (typeof v !== 'string' || !/^\d+$/.test(v) || Number(v) > 100_000_000)
    throw new UsageError(`--${name} must be a whole number up to 100000000, got "${String(v)}"`);
  return Number(v);
}

const commands = ['load', 'status', 'validate', 'create-admin', 'generate'] as const;

/** The command line and the environment, read once; usage is checked before the environment. */
export function parseDataCommand(
  argv: readonly string[],
  env: Env = process.env,
): DataCommand | ProgramHelp {
  const args = parseArgs(
    [...argv],
    ['dir', 'mode', 'out', 'products', 'users', 'orders', 'seed', 'email', 'name'],
    ['json', 'force', 'help'],
  );
  const named = args.command ?? 'load';
  if (args.flags.help || named === 'help') return help(usage);
  if (!(commands as readonly string[]).includes(named))
    throw new UsageError(`unknown command "${named}" (${commands.join(', ')}; --help for usage)`);
  const command = named as (typeof commands)[number];
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
  } else if (command === 'load' && envString(env, 'ADMIN_EMAIL') !== undefined) {
    admin = { email: envString(env, 'ADMIN_EMAIL')!, name: envString(env, 'ADMIN_NAME') };
  }
  // A bad address is a usage error before any database is reached.
  if (admin)
    checkAdmin(
      admin,
      command === 'load' ? { email: 'ADMIN_EMAIL', name: 'ADMIN_NAME' } : undefined,
    );
  if (command === 'validate')
    return { command, data: chooseDataSet(env, args.flags.dir), logLevel: parseLogLevel(env) };

  if (command === 'generate') {
    const out = args.flags.out;
    if (typeof out !== 'string') throw new UsageError('generate needs --out DIR');
    const products = count(args.flags, 'products', 1000);
    const users = count(args.flags, 'users', 10_000);
    const orders = count(args.flags, 'orders', 100_000);
    if (orders > 0 && (products === 0 || users === 0))
      throw new UsageError('orders need at least one product and one user');
    const seed = count(args.flags, 'seed', 1);
    const logLevel = parseLogLevel(env);
    return { command, out: resolve(out), products, users, orders, seed, logLevel };
  }

  const common = parseCommonConfig(env);
  const data = chooseDataSet(env, args.flags.dir);
  const modeFlag = args.flags.mode;
  if (modeFlag !== undefined && modeFlag !== 'insert' && modeFlag !== 'upsert')
    throw new UsageError(`--mode must be insert or upsert, got "${String(modeFlag)}"`);
  const mode = modeFlag ?? envEnum(env, 'LOAD_MODE', ['insert', 'upsert'] as const, 'insert');
  const lockTimeoutMs = envSeconds(env, 'LOAD_LOCK_TIMEOUT', 300, { min: 0, max: 86_400 });
  const progressIntervalMs = envSeconds(env, 'LOAD_PROGRESS_INTERVAL', 5, { min: 0 });
  const poolSize = envInt(env, 'DB_POOL_SIZE', 2, { min: 2, max: 20 });
  return {
    ...common,
    command,
    data,
    admin,
    mode,
    force: args.flags.force === true,
    json: args.flags.json === true,
    lockTimeoutMs,
    progressIntervalMs,
    // status and create-admin print their result on stdout; their log lines go to stderr.
    logToStderr: command !== 'load',
    // The seed's name for a data load; status is named by its program.
    topSpan: {
      name: command === 'load' ? 'dataload.execute' : `database-load ${command}`,
      attributes: { 'data.dir': data.dir, 'data.set': data.name, 'data.mode': mode },
    },
    // A direct connection, when given, is what the load's one transaction runs on.
    connect: { target: common.directDatabase ?? common.database, options: { max: poolSize } },
  };
}
