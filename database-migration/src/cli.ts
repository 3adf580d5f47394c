#!/usr/bin/env node
import { defineProgram } from '@order-food/platform/program';
import { runCommand } from './commands.js';

await defineProgram({
  name: 'database-migration',
  run: (program) =>
    runCommand(process.argv.slice(2), {
      env: process.env,
      stdout: process.stdout,
      onLogger: program.useLogger,
    }),
});
