#!/usr/bin/env node
import { runCli } from '@order-food/platform/cli';
import type { Logger } from '@order-food/platform/logger';
import { startTelemetry } from '@order-food/platform/telemetry';
import { runCommand } from './commands.js';

await startTelemetry('database-migration');
let logger: Logger | undefined;
await runCli(
  'database-migration',
  () =>
    runCommand(process.argv.slice(2), {
      env: process.env,
      stdout: process.stdout,
      onLogger: (l) => {
        logger = l;
      },
    }),
  () => logger,
);
