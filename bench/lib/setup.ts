import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { runMode } from './build.js';
import type { BenchContext } from './context.js';
import { adminUrl, query } from './db.js';
import { childEnv, entryArgs, programEntry, type RunResult, repoRoot, runOk } from './processes.js';

const run = promisify(execFile);

export interface DataSetSize {
  products: number;
  users: number;
  orders: number;
}

/** Every program run by the bench without telemetry unless a figure asks for it. */
const quiet = { OTEL_SDK_DISABLED: 'true', LOG_LEVEL: 'warn', DB_WAIT_TIMEOUT: '10' };

export async function migrate(ctx: BenchContext, url: string, label: string): Promise<void> {
  const { mode } = await runMode(ctx);
  await runOk('database-migration', {
    entry: programEntry('database-migration', mode),
    args: ['migrate'],
    env: { ...quiet, DATABASE_URL: url },
    core: ctx.serverCore,
    logFile: ctx.logFile(`migrate-${label}`),
    timeoutMs: 120_000,
  });
}

/** A hash of the generator's source: a cached data set is reused only if made by the same code. */
function generatorVersion(): string {
  return createHash('sha256')
    .update(readFileSync(join(repoRoot, 'database-load', 'src', 'generate.ts')))
    .digest('hex')
    .slice(0, 16);
}

/**
 * A generated data set (`database-load generate`), kept in bench/results/tmp/datasets between runs:
 * the generator is deterministic, and a 1M-order set takes a while to write.
 */
export function dataSet(ctx: BenchContext, size: DataSetSize): Promise<string> {
  const key = `${size.products}p_${size.users}u_${size.orders}o`;
  return ctx.once(`dataset:${key}`, async () => {
    const dir = join(repoRoot, 'bench', 'results', 'tmp', 'datasets', key);
    const marker = join(dir, '.generated-by');
    const version = generatorVersion();
    if (existsSync(marker) && readFileSync(marker, 'utf8') === version) return dir;
    rmSync(dir, { recursive: true, force: true });
    ctx.log(`generating data set ${key}`);
    await runOk('database-load generate', {
      entry: programEntry('database-load', 'source'),
      args: [
        'generate',
        '--out',
        dir,
        '--products',
        String(size.products),
        '--users',
        String(size.users),
        '--orders',
        String(size.orders),
      ],
      env: quiet,
      core: ctx.serverCore,
      logFile: ctx.logFile(`generate-${key}`),
      timeoutMs: 600_000,
    });
    writeFileSync(marker, version);
    return dir;
  });
}

export async function load(
  ctx: BenchContext,
  url: string,
  dir: string,
  label: string,
  extraEnv: Record<string, string> = {},
) {
  const { mode } = await runMode(ctx);
  return runOk('database-load', {
    entry: programEntry('database-load', mode),
    args: ['load', '--dir', dir],
    env: { ...quiet, DATABASE_URL: url, ...extraEnv },
    core: ctx.serverCore,
    logFile: ctx.logFile(`load-${label}`),
    timeoutMs: 600_000,
  });
}

/** Prints a bearer token for a user with the API's token CLI. */
export async function token(ctx: BenchContext, url: string, email: string): Promise<string> {
  const { stdout } = await run(
    process.execPath,
    [...entryArgs('order-food/src/token-cli.ts'), '--email', email],
    {
      cwd: repoRoot,
      env: childEnv({
        ...quiet,
        DATABASE_URL: url,
        JWT_SECRET: ctx.jwtSecret,
        ENVIRONMENT: 'production',
      }),
      timeout: 60_000,
    },
  );
  const t = stdout.trim().split('\n').pop()?.trim() ?? '';
  if (!/^[\w-]+\.[\w-]+\.[\w-]+$/.test(t)) throw new Error(`token CLI printed no token: ${stdout}`);
  return t;
}

/** The environment the Helm chart gives the API in production (values.yaml defaults). */
export function apiEnv(
  ctx: BenchContext,
  url: string,
  overrides: Record<string, string | undefined> = {},
): Record<string, string | undefined> {
  return {
    DATABASE_URL: url,
    JWT_SECRET: ctx.jwtSecret,
    ENVIRONMENT: 'production',
    NODE_ENV: 'production',
    LOG_LEVEL: 'info',
    DB_WAIT_TIMEOUT: '60',
    OTEL_SERVICE_NAME: 'order-food',
    OTEL_EXPORTER_OTLP_ENDPOINT: ctx.sink.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
    OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
    OTEL_TRACES_SAMPLER_ARG: '0.1',
    // The chart waits SHUTDOWN_DRAIN_DELAY (5 s) for endpoints to drop the pod; nothing routes here.
    SHUTDOWN_DRAIN_DELAY: '0',
    ...overrides,
  };
}

/** The generated data set the HTTP figures use; the load figures' 100k-order point too. */
export function smallDataSet(ctx: BenchContext): DataSetSize {
  return { products: 1000, users: ctx.scale.smallOrders / 50, orders: ctx.scale.smallOrders };
}

export interface HttpData {
  url: string;
  /** The loader's first load of the data set into this fresh database. */
  loadRun: RunResult;
  customerEmail: string;
  customerId: string;
  customerOrders: number;
  token: string;
  productIds: string[];
}

/**
 * The database the HTTP figures share: migrated, a generated data set loaded (about 50 orders per
 * customer), and the customer with the most orders picked, with a token. Its load is also the
 * load figures' 100k-order point (a first load into a fresh database).
 */
export function httpData(ctx: BenchContext): Promise<HttpData> {
  return ctx.once('http-data', async () => {
    const { url } = await ctx.database('http');
    await migrate(ctx, url, 'http');
    const dir = await dataSet(ctx, smallDataSet(ctx));
    await query(adminUrl, 'CHECKPOINT');
    ctx.log(`loading ${ctx.scale.smallOrders} orders (the HTTP figures' database)`);
    const loadRun = await load(ctx, url, dir, 'http');
    const [customer] = await query<{ email: string; id: string; n: number }>(
      url,
      `SELECT u.email, u.id, count(*)::int AS n FROM orders o JOIN users u ON u.id = o.user_id
       WHERE u.role = 'customer' GROUP BY u.id ORDER BY n DESC, u.email LIMIT 1`,
    );
    if (!customer) throw new Error('the generated data set has no customer with orders');
    const products = await query<{ id: string }>(
      url,
      'SELECT id FROM products WHERE available ORDER BY sku LIMIT 50',
    );
    await query(url, 'ANALYZE');
    return {
      url,
      loadRun,
      customerEmail: customer.email,
      customerId: customer.id,
      customerOrders: customer.n,
      token: await token(ctx, url, customer.email),
      productIds: products.map((p) => p.id),
    };
  });
}

/** The environment the chart gives each container of a pod (init containers trace every run). */
export function podEnv(
  ctx: BenchContext,
  url: string,
  program: 'database-migration' | 'database-load' | 'order-food',
  podUid: string,
): Record<string, string | undefined> {
  const init = program !== 'order-food';
  return apiEnv(ctx, url, {
    OTEL_SERVICE_NAME: program,
    OTEL_TRACES_SAMPLER: init ? 'parentbased_always_on' : 'parentbased_traceidratio',
    OTEL_TRACES_SAMPLER_ARG: init ? '1' : '0.1',
    POD_UID: podUid,
    POD_NAME: `order-food-bench-${podUid.slice(0, 5)}`,
  });
}
