#!/usr/bin/env node
/**
 * database-migration: brings the database's schema to the newest migration (the pod's first init
 * container), or reports on it (status, validate), or writes a new migration file (create).
 */
import { defineProgram } from '@order-food/platform/program';
import { runMigrationCommand } from './commands.js';
import { parseMigrationCommand } from './config.js';

/** The program; a launcher in one process (inLauncher) imports it and calls main. */
export const databaseMigration = defineProgram({
  name: 'database-migration',
  config: parseMigrationCommand,
  run: runMigrationCommand,
});

await databaseMigration.runAsEntry();
