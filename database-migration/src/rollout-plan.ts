import {
  blocks,
  type LockMode,
  mergeLocks,
  type StatementLocks,
  statementLocks,
  tableKey,
} from './locks.js';
import type { PlanEntry } from './plan.js';
import { locatedStatements, stripComments } from './sql-statements.js';

export interface PlannedLock {
  table: string;
  mode: LockMode;
  /** The application's traffic it holds up: reads, writes, … */
  blocks: string[];
  /** A table an earlier statement of this plan creates: nothing uses it yet. */
  newTable: boolean;
}

export interface PlannedStatement {
  line: number;
  sql: string;
  kind: string;
  locks: PlannedLock[];
  /** false when the lock table does not know the statement. */
  known: boolean;
  note?: string;
}

/** One pending migration of `plan --json`. */
export interface PlannedMigration {
  version: number;
  name: string;
  fileName: string;
  transactional: boolean;
  statements: PlannedStatement[];
  /** In a transaction every lock lasts until it commits: the strongest per table. */
  heldUntilCommit: PlannedLock[] | null;
}

export interface RolloutPlan {
  /** lock_timeout of migration statements: the longest a statement queues traffic behind it. */
  lockTimeoutMs: number;
  pending: PlannedMigration[];
}

const planned = (locks: StatementLocks['locks'], created: ReadonlySet<string>): PlannedLock[] =>
  locks.map(({ table, mode }) => ({
    table,
    mode,
    blocks: blocks(mode),
    newTable: created.has(tableKey(table)),
  }));

/** The statements of the pending migrations, in the order migrate would run them, with locks. */
export function rolloutPlan(entries: readonly PlanEntry[], lockTimeoutMs: number): RolloutPlan {
  const created = new Set<string>();
  const pending = entries
    .filter((e) => e.state === 'pending')
    .map(({ file }): PlannedMigration => {
      const statements = locatedStatements(file!.sql).map(({ text, line }): PlannedStatement => {
        const sql = stripComments(text).trim();
        const found = statementLocks(sql);
        if (found.creates) created.add(tableKey(found.creates));
        return {
          line,
          sql,
          kind: found.kind,
          locks: planned(found.locks, created),
          known: found.known,
          ...(found.note ? { note: found.note } : {}),
        };
      });
      const all = statements.flatMap((s) => s.locks);
      return {
        version: file!.version,
        name: file!.name,
        fileName: file!.fileName,
        transactional: file!.transactional,
        statements,
        heldUntilCommit: file!.transactional ? planned(mergeLocks(all), created) : null,
      };
    });
  return { lockTimeoutMs, pending };
}

function describeLock(lock: PlannedLock): string {
  let what = lock.blocks.length > 0 ? `blocks ${lock.blocks.join(', ')}` : 'reads and writes go on';
  if (lock.newTable) what = 'created by this plan: nothing uses it yet';
  return `${lock.mode} on ${lock.table} (${what})`;
}

function shorten(sql: string, width = 96): string {
  const one = sql.replace(/\s+/g, ' ');
  return one.length <= width ? one : `${one.slice(0, width - 1)}…`;
}

/** For people: per pending migration, each statement and the locks it takes. */
export function formatRolloutPlan(plan: RolloutPlan): string {
  if (plan.pending.length === 0) return 'nothing pending: the schema is up to date\n';
  const out = [
    `${plan.pending.length} pending migration(s), in the order migrate applies them. A statement waits at most lock_timeout (${plan.lockTimeoutMs} ms) for its locks; meanwhile what it blocks queues behind it.`,
  ];
  for (const m of plan.pending) {
    out.push(
      '',
      m.transactional
        ? `${m.fileName}: one transaction; every lock below is held until it commits`
        : `${m.fileName}: no transaction; each statement commits alone and releases its locks`,
    );
    for (const s of m.statements) {
      out.push(`  line ${s.line}: ${shorten(s.sql)}`);
      if (!s.known)
        out.push(`    ${s.kind}: not in the lock table; see the PostgreSQL documentation`);
      else if (s.locks.length === 0) out.push('    no lock on existing tables');
      for (const lock of s.locks) out.push(`    ${describeLock(lock)}`);
      if (s.note) out.push(`    note: ${s.note}`);
    }
    if (m.heldUntilCommit && m.heldUntilCommit.length > 0)
      out.push(`  held until commit: ${m.heldUntilCommit.map(describeLock).join('; ')}`);
  }
  return `${out.join('\n')}\n`;
}
