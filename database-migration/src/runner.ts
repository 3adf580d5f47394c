import { isSpanContextValid, type Span } from '@opentelemetry/api';
import {
  type AdvisoryLock,
  acquireAdvisoryLock,
  releaseAdvisoryLock,
} from '@order-food/platform/advisory-lock';
import type { Database, DbClient } from '@order-food/platform/database';
import { describeError, OperationalError, UsageError } from '@order-food/platform/errors';
import { acquireLease, type Lease } from '@order-food/platform/lease-lock';
import type { Logger } from '@order-food/platform/logger';
import { behindPooler } from '@order-food/platform/pooler';
import { inSpan } from '@order-food/platform/span';
import { startupContext } from '@order-food/platform/telemetry';
import { waitForDatabase } from '@order-food/platform/wait-for-database';
import type { MigrationConfig } from './config.js';
import {
  ensureHistoryTables,
  historyExists,
  type Provenance,
  readHistory,
  recordMigration,
  recordRun,
} from './history.js';
import { dropInvalidIndexes, verifyIndexes } from './index-validity.js';
import { loadMigrations, type MigrationFile } from './migration-files.js';
import { assertConsistent, fileNameOf, newerReleaseEntries, planMigrations } from './plan.js';
import { tracer } from './tracing.js';

/** All migration runners of one database serialize on this lock ('OFMG', 1). */
export const migrationLock: AdvisoryLock = {
  key: [0x4f464d47, 1],
  name: 'migration lock',
  timeoutVariable: 'MIGRATION_LOCK_TIMEOUT',
};

export interface RunnerOptions {
  db: Database;
  config: MigrationConfig;
  logger: Logger;
}

export interface AppliedMigration {
  version: number;
  name: string;
  fileName: string;
  executionMs: number;
}

export interface MigrateResult {
  applied: AppliedMigration[];
  /** Versions that were already applied when this runner got the lock. */
  alreadyApplied: number;
  lockWaitMs: number;
}

/** SQLSTATE lock_not_available: lock_timeout expired. */
const lockNotAvailable = '55P03';

function traceIdOf(span: Span): string | null {
  const ctx = span.spanContext();
  return isSpanContextValid(ctx) ? ctx.traceId : null;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Brings the database to the newest migration in the directory: waits for the database, takes
 * the advisory lock on a dedicated connection (so concurrent runners serialize), creates the
 * history tables, refuses when applied files changed or vanished, then applies each pending file
 * in its own transaction. Every run, failed ones too, is recorded in schema_migration_runs.
 */
export async function migrate(options: RunnerOptions): Promise<MigrateResult> {
  const { db, config, logger } = options;
  return inSpan(
    tracer,
    'migration.execute',
    { 'migration.dir': config.migrationsDir, 'db.namespace': db.display },
    async (runSpan) => {
      const startedAt = new Date();
      const provenance: Provenance = {
        appliedBy: config.instance,
        serviceVersion: config.serviceVersion,
        traceId: traceIdOf(runSpan),
      };
      logger.info({ dir: config.migrationsDir, database: db.display }, 'migration run started');
      const files = await loadMigrations(config.migrationsDir);
      logger.info({ files: files.length }, 'migration files read');
      await waitForDatabase(db, { timeoutMs: config.dbWaitTimeoutMs, logger });

      // Through a transaction pooler a session advisory lock would stay on whichever server
      // connection took it: the lock is then a lease row instead.
      const pooled = await behindPooler(db);
      if (pooled)
        logger.info(
          'the database connection goes through a transaction pooler: the migration lock is a lease (set DATABASE_DIRECT_URL to use a direct connection)',
        );
      const client = await db.connect();
      let clientError: Error | undefined;
      let locked = false;
      let lease: Lease | undefined;
      const applied: AppliedMigration[] = [];
      try {
        const lock = await inSpan(
          tracer,
          'database-migration lock',
          {
            'migration.lock.timeout_ms': config.lockWaitTimeoutMs,
            'migration.lock.kind': pooled ? 'lease' : 'advisory',
          },
          async (span) => {
            const lockOptions = { timeoutMs: config.lockWaitTimeoutMs, logger };
            if (pooled) {
              lease = await acquireLease(db, migrationLock, {
                ...lockOptions,
                leaseMs: config.lockLeaseMs,
                holder: config.instance,
                leaseVariable: 'MIGRATION_LOCK_LEASE',
              });
            }
            const acquired =
              lease ?? (await acquireAdvisoryLock(client, migrationLock, lockOptions));
            span.setAttributes({
              'migration.lock.wait_ms': acquired.waitedMs,
              'migration.lock.attempts': acquired.attempts,
            });
            return acquired;
          },
        );
        locked = true;
        logger.info({ waitedMs: lock.waitedMs }, 'migration lock acquired');

        await ensureHistoryTables(client);
        const entries = planMigrations(files, await readHistory(client));
        assertConsistent(entries, config.migrationsDir, undefined, config.serviceVersion);
        for (const e of newerReleaseEntries(entries, config.serviceVersion)) {
          logger.warn(
            { version: e.version, serviceVersion: e.history!.serviceVersion },
            `${fileNameOf(e.version, e.name)} was applied by release ${e.history!.serviceVersion}, not this one (${config.serviceVersion}), which has no such file; leaving it as it is`,
          );
        }
        const pending = entries.filter((e) => e.state === 'pending').map((e) => e.file!);
        const alreadyApplied = entries.filter((e) => e.state === 'applied').length;
        const sessionOnly = pending.find((f) => !f.transactional);
        if (pooled && sessionOnly)
          throw new UsageError(
            `${sessionOnly.fileName} runs outside a transaction, which needs a direct connection: DATABASE_URL goes through a transaction pooler, set DATABASE_DIRECT_URL to PostgreSQL itself`,
          );
        logger.info(
          { pending: pending.length, applied: alreadyApplied },
          pending.length === 0 ? 'schema is up to date' : `${pending.length} migration(s) to apply`,
        );
        const newestApplied = Math.max(
          0,
          ...entries.filter((e) => e.state === 'applied').map((e) => e.version),
        );
        for (const file of pending.filter((f) => f.version < newestApplied)) {
          logger.warn(
            { version: file.version, file: file.fileName, newestApplied },
            `${file.fileName} is older than the newest applied migration; applying it out of order`,
          );
        }
        for (const file of pending) {
          applied.push(await applyMigration(client, file, config, logger, provenance, lease));
        }
        await recordRun(client, {
          ...provenance,
          startedAt,
          finishedAt: new Date(),
          success: true,
          appliedCount: applied.length,
          error: null,
        });
        runSpan.setAttribute('migration.applied_count', applied.length);
        logger.info(
          {
            appliedCount: applied.length,
            alreadyApplied,
            durationMs: Date.now() - startedAt.getTime(),
          },
          'migration run finished',
        );
        return { applied, alreadyApplied, lockWaitMs: lock.waitedMs };
      } catch (err) {
        runSpan.setAttribute('migration.applied_count', applied.length);
        clientError = await recordFailedRun(client, {
          ...provenance,
          startedAt,
          appliedCount: applied.length,
          error: describeError(err),
          logger,
        });
        throw err;
      } finally {
        if (lease) {
          await lease
            .release()
            .catch((err) =>
              logger.warn(
                { error: describeError(err) },
                'could not release the migration lock lease; it ends with its lease',
              ),
            );
        } else if (locked && !clientError) {
          try {
            await releaseAdvisoryLock(client, migrationLock);
          } catch (err) {
            // Closing the connection below releases a session lock anyway.
            clientError = err as Error;
          }
        }
        client.release(clientError ?? false);
      }
    },
    { parent: startupContext() },
  );
}

/** Returns the error when the connection itself is no longer usable. */
async function recordFailedRun(
  client: DbClient,
  run: Provenance & { startedAt: Date; appliedCount: number; error: string; logger: Logger },
): Promise<Error | undefined> {
  try {
    if (!(await historyExists(client))) return undefined;
    await recordRun(client, { ...run, finishedAt: new Date(), success: false });
    return undefined;
  } catch (err) {
    run.logger.warn({ error: describeError(err) }, 'could not record the failed run');
    return err as Error;
  }
}

/** Line of the file a PostgreSQL error position (1-based character offset) points at. */
function lineAt(sql: string, position: unknown): number | undefined {
  const offset = Number(position);
  if (!Number.isInteger(offset) || offset < 1) return undefined;
  return sql.slice(0, offset - 1).split('\n').length;
}

async function withLockRetries<T>(
  what: string,
  config: MigrationConfig,
  logger: Logger,
  span: Span,
  attempt: () => Promise<T>,
): Promise<T> {
  for (let retry = 0; ; retry++) {
    try {
      return await attempt();
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code !== lockNotAvailable || retry >= config.lockRetries) throw err;
      const delay = Math.min(config.lockRetryDelayMs * 2 ** retry, 60_000);
      span.addEvent('lock timeout, retrying', { 'migration.retry': retry + 1 });
      logger.warn(
        { retry: retry + 1, of: config.lockRetries, retryInMs: delay, error: describeError(err) },
        `${what} hit lock_timeout, retrying`,
      );
      await sleep(delay);
    }
  }
}

async function setTimeouts(client: DbClient, config: MigrationConfig, local: boolean) {
  await client.query('SELECT set_config($1, $2, $5), set_config($3, $4, $5)', [
    'lock_timeout',
    `${config.statementLockTimeoutMs}ms`,
    'statement_timeout',
    `${config.statementTimeoutMs}ms`,
    local,
  ]);
}

/**
 * Applies one file. A transactional file and its history row commit together or not at all; a
 * lock timeout rolls back and is retried with backoff. A file with the no-transaction header runs
 * statement by statement (each retried alone), then every index it names must be valid.
 */
async function applyMigration(
  client: DbClient,
  file: MigrationFile,
  config: MigrationConfig,
  logger: Logger,
  provenance: Provenance,
  lease: Lease | undefined,
): Promise<AppliedMigration> {
  return inSpan(
    tracer,
    'database-migration apply',
    {
      'migration.version': file.version,
      'migration.name': file.name,
      'migration.file': file.fileName,
      'migration.transactional': file.transactional,
    },
    async (span) => {
      const started = performance.now();
      const elapsed = () => Math.round(performance.now() - started);
      logger.info(
        { version: file.version, file: file.fileName, transactional: file.transactional },
        `applying ${file.fileName}`,
      );
      try {
        if (file.transactional) {
          await withLockRetries(file.fileName, config, logger, span, async () => {
            await client.query('BEGIN');
            try {
              await lease?.fence(client);
              await setTimeouts(client, config, true);
              await client.exec(file.sql);
              await recordMigration(client, {
                ...provenance,
                version: file.version,
                name: file.name,
                checksum: file.checksum,
                executionMs: elapsed(),
                success: true,
              });
              await client.query('COMMIT');
            } catch (err) {
              await client.query('ROLLBACK').catch(() => undefined);
              throw err;
            }
          });
        } else {
          await setTimeouts(client, config, false);
          try {
            await dropInvalidIndexes(client, file.indexes, logger);
            for (const [i, statement] of file.statements.entries()) {
              await withLockRetries(
                `${file.fileName} statement ${i + 1}`,
                config,
                logger,
                span,
                async () => {
                  try {
                    await client.exec(statement);
                  } catch (err) {
                    // A concurrent index build that failed leaves an invalid index behind.
                    await dropInvalidIndexes(client, file.indexes, logger).catch(() => undefined);
                    throw Object.assign(err as Error, { statement: i + 1 });
                  }
                },
              );
            }
            await verifyIndexes(client, file.indexes, file.fileName);
          } finally {
            await client.exec('RESET lock_timeout; RESET statement_timeout').catch(() => undefined);
          }
          await recordMigration(client, {
            ...provenance,
            version: file.version,
            name: file.name,
            checksum: file.checksum,
            executionMs: elapsed(),
            success: true,
          });
        }
      } catch (err) {
        const executionMs = elapsed();
        span.setAttributes({ 'migration.outcome': 'failed', 'migration.duration_ms': executionMs });
        await recordMigration(client, {
          ...provenance,
          version: file.version,
          name: file.name,
          checksum: file.checksum,
          executionMs,
          success: false,
        }).catch((e) =>
          logger.warn({ error: describeError(e) }, 'could not record the failed migration'),
        );
        throw failure(file, err);
      }
      const executionMs = elapsed();
      span.setAttributes({ 'migration.outcome': 'applied', 'migration.duration_ms': executionMs });
      logger.info(
        { version: file.version, file: file.fileName, executionMs },
        `applied ${file.fileName}`,
      );
      return { version: file.version, name: file.name, fileName: file.fileName, executionMs };
    },
  );
}

function failure(file: MigrationFile, err: unknown): OperationalError {
  if (err instanceof OperationalError) return err;
  const e = err as { position?: unknown; statement?: number };
  let where = '';
  if (file.transactional) {
    const line = lineAt(file.sql, e.position);
    if (line) where = ` at line ${line}`;
  } else if (e.statement) {
    where = ` at statement ${e.statement}`;
  }
  const outcome = file.transactional
    ? 'was rolled back'
    : 'stopped (it runs outside a transaction: the statements before it stay applied)';
  return new OperationalError(
    `migration ${file.fileName} failed${where} and ${outcome}: ${describeError(err)}; fix the file and run again`,
    { cause: err },
  );
}
