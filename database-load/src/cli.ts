#!/usr/bin/env node
/**
 * database-load: loads the data set into the database (the pod's second init container), reports
 * on it (status), checks it (validate), creates the first admin, or writes a synthetic one.
 */
import { setFlagsFromString } from 'node:v8';
import {
  defineProgram,
  launchedInProcess,
  type ProgramContext,
} from '@order-food/platform/program';
import { waitForDatabase } from '@order-food/platform/wait-for-database';
import { type DataCommand, parseDataCommand } from './config.js';
import { createAdmin, formatAdmin } from './create-admin.js';
import { scanDataSet } from './dataset.js';
import { generateDataSet } from './generate.js';
import { loadDataSet } from './loader.js';
import { dataStatus, formatStatus } from './status.js';

async function run({ config, logger, db, span }: ProgramContext<DataCommand>): Promise<number> {
  if (config.command === 'generate') {
    const r = await generateDataSet(config);
    process.stdout.write(
      `wrote ${r.products} products, ${r.users} users, ${r.orders} orders (${r.orderItems} order lines) to ${r.out}\n`,
    );
    return 0;
  }
  if (config.command === 'validate') {
    const { data } = config;
    const s = await scanDataSet(data.dir, data.parts);
    process.stdout.write(
      `valid: ${data.name}: ${s.counts.products} products, ${s.counts.users} users, ${s.counts.orders} orders (${s.counts.order_items} order lines), hash ${s.hash}\n`,
    );
    return 0;
  }
  const { command, data, mode, admin } = config;
  logger.info(
    { database: db!.display, command, dir: data.dir, dataSet: data.name, parts: data.parts, mode },
    'database-load starting',
  );
  await waitForDatabase(db!, { timeoutMs: config.dbWaitTimeoutMs, logger });
  if (command === 'create-admin') {
    process.stdout.write(formatAdmin(await createAdmin(db!, admin!)));
    return 0;
  }
  if (command === 'status') {
    const status = await dataStatus(db!, data.dir, data.parts);
    process.stdout.write(
      config.json ? `${JSON.stringify(status, null, 2)}\n` : formatStatus(status),
    );
    return 0;
  }
  // V8 keeps doubling its young generation while a long load runs, and memory then grows with
  // the data set. Only a run-time setting stops that: V8 raises a --semi-space-growth-factor
  // below 2 given on the command line to 2 when it sets up the heap. Not in a launcher's
  // process, whose next program (the API) would inherit it.
  if (!launchedInProcess()) setFlagsFromString('--semi-space-growth-factor=1');
  const result = await loadDataSet(db!, {
    dir: data.dir,
    parts: data.parts,
    mode,
    force: config.force,
    logger,
    lockTimeoutMs: config.lockTimeoutMs,
    progressIntervalMs: config.progressIntervalMs,
    appliedBy: config.instance,
    serviceVersion: config.serviceVersion,
  });
  span?.setAttribute('data.outcome', result.outcome);
  if (admin) {
    const r = await createAdmin(db!, admin);
    logger.info({ email: r.email, id: r.id, outcome: r.outcome }, formatAdmin(r).trim());
  }
  return 0;
}

/** The program; a launcher in one process (inLauncher) imports it and calls main. */
export const databaseLoad = defineProgram({ name: 'database-load', config: parseDataCommand, run });

await databaseLoad.runAsEntry();
