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

type Env = Record<string, string | undefined>;

export const usage = `usage: database-load [load] [--dir DIR] [--mode insert|upsert] [--force]
       database-load status [--dir DIR] [--json]
       database-load generate --out DIR [--products N] [--users N] [--orders N] [--seed N]

load      validates the data set in DIR (default: the bundled data/, or DATA_DIR) and loads it:
          rows missing by natural key are inserted; --mode upsert also overwrites users and
          products from the files. An unchanged data set already loaded in the same mode is
          skipped at once; --force loads it again.
status    the data set's hash, whether it is loaded, and the latest runs
generate  writes a synthetic data set of the given size (defaults 1000, 10000, 100000)
`;

/** The data set shipped with the program, next to src/ and dist/ alike. */
const bundledData = fileURLToPath(new URL('../data/', import.meta.url));

/** generate: a synthetic data set's size; it needs no database and no configuration. */
export interface GenerateCommand extends ProgramSettings {
  readonly command: 'generate';
  readonly out: string;
  readonly products: number;
  readonly users: number;
  readonly orders: number;
  readonly seed: number;
}

export interface LoadCommand extends CommonConfig, ProgramSettings {
  readonly command: 'load' | 'status';
  readonly dir: string;
  readonly mode: 'insert' | 'upsert';
  readonly force: boolean;
  readonly json: boolean;
  readonly lockTimeoutMs: number;
  readonly progressIntervalMs: number;
}

export type DataCommand = GenerateCommand | LoadCommand;

function count(flags: Record<string, string | boolean>, name: string, fallback: number): number {
  const v = flags[name];
  if (v === undefined) return fallback;
  if (typeof v !== 'string' || !/^\d+$/.test(v) || Number(v) > 100_000_000)
    throw new UsageError(`--${name} must be a whole number up to 100000000, got "${String(v)}"`);
  return Number(v);
}

/** The command line and the environment, read once; usage is checked before the environment. */
export function parseDataCommand(
  argv: readonly string[],
  env: Env = process.env,
): DataCommand | ProgramHelp {
  const args = parseArgs(
    [...argv],
    ['dir', 'mode', 'out', 'products', 'users', 'orders', 'seed'],
    ['json', 'force', 'help'],
  );
  const command = args.command ?? 'load';
  if (args.flags.help || command === 'help') return help(usage);
  if (command !== 'load' && command !== 'status' && command !== 'generate')
    throw new UsageError(`unknown command "${command}"\n${usage.trimEnd()}`);
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
    const seed = count(args.flags, 'seed', 1);
    const logLevel = parseLogLevel(env);
    return { command, out: resolve(out), products, users, orders, seed, logLevel };
  }

  const common = parseCommonConfig(env);
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
  return {
    ...common,
    command,
    dir,
    mode,
    force: args.flags.force === true,
    json: args.flags.json === true,
    lockTimeoutMs,
    progressIntervalMs,
    // status prints its report on stdout; its log lines go to stderr so --json stays parseable.
    logToStderr: command === 'status',
    // The seed's name for a data load; status is named by its program.
    topSpan: {
      name: command === 'load' ? 'dataload.execute' : `database-load ${command}`,
      attributes: { 'data.dir': dir, 'data.mode': mode },
    },
    // A direct connection, when given, is what the load's one transaction runs on.
    connect: { target: common.directDatabase ?? common.database, options: { max: poolSize } },
  };
}
