#!/usr/bin/env node
/**
 * database-load: loads the data set into the database (the pod's second init container), reports
 * on it (status), or writes a synthetic one (generate).
 */
import { defineProgram, type ProgramContext } from '@order-food/platform/program';
import { waitForDatabase } from '@order-food/platform/wait-for-database';
import { type DataCommand, parseDataCommand } from './config.js';
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
  const { command, dir, mode } = config;
  logger.info({ database: db!.display, command, dir, mode }, 'database-load starting');
  await waitForDatabase(db!, { timeoutMs: config.dbWaitTimeoutMs, logger });
  if (command === 'status') {
    const status = await dataStatus(db!, dir);
    process.stdout.write(
      config.json ? `${JSON.stringify(status, null, 2)}\n` : formatStatus(status),
    );
    return 0;
  }
  const result = await loadDataSet(db!, {
    dir,
    mode,
    force: config.force,
    logger,
    lockTimeoutMs: config.lockTimeoutMs,
    progressIntervalMs: config.progressIntervalMs,
    appliedBy: config.instance,
    serviceVersion: config.serviceVersion,
  });
  span?.setAttribute('data.outcome', result.outcome);
  return 0;
}

/** The program; a launcher in one process (inLauncher) imports it and calls main. */
export const databaseLoad = defineProgram({ name: 'database-load', config: parseDataCommand, run });

await databaseLoad.runAsEntry();
