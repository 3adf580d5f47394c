import type { Queryable } from '@order-food/platform/database';
import { type RunRow, readHistory } from './history.js';
import type { MigrationFile } from './migration-files.js';
import { type PlanEntry, planMigrations } from './plan.js';

/** One line of `status --json`. */
export interface StatusEntry {
  version: number;
  name: string;
  /** A file missing for an applied version is reported as changed, with checksum null. */
  state: 'applied' | 'pending' | 'changed';
  /** sha256 of the file as it is now; null when the file is gone. */
  checksum: string | null;
  /** ISO time it was applied; null while pending. */
  appliedAt: string | null;
  executionMs: number | null;
  /** The checksum recorded when it was applied; null while pending. */
  appliedChecksum: string | null;
}

/** Reads the history without taking the lock or creating anything: safe next to a running migration. */
export async function readPlan(
  db: Queryable,
  files: readonly MigrationFile[],
): Promise<PlanEntry[]> {
  return planMigrations(files, await readHistory(db));
}

export function statusEntries(entries: readonly PlanEntry[]): StatusEntry[] {
  return entries.map((e) => {
    const applied = e.state !== 'pending' ? e.history : undefined;
    return {
      version: e.version,
      name: e.name,
      state: e.state === 'missing' ? 'changed' : e.state,
      checksum: e.file?.checksum ?? null,
      appliedAt: applied ? applied.appliedAt.toISOString() : null,
      executionMs: applied ? applied.executionMs : null,
      appliedChecksum: applied ? applied.checksum : null,
    };
  });
}

/** A table for people: one line per version. */
export function formatStatus(entries: readonly PlanEntry[]): string {
  if (entries.length === 0) return 'no migrations\n';
  const rows = entries.map((e) => {
    let state: string = e.state;
    if (e.state === 'pending' && e.history && !e.history.success)
      state = `pending (last attempt failed ${e.history.appliedAt.toISOString()})`;
    const applied = e.state !== 'pending' && e.history ? e.history.appliedAt.toISOString() : '';
    return [String(e.version).padStart(4, '0'), e.name, state, applied];
  });
  const widths = [0, 1, 2].map((i) =>
    Math.max(...rows.map((r) => r[i]!.length), ['version', 'name', 'state'][i]!.length),
  );
  const line = (r: string[]) =>
    r
      .map((cell, i) => (i < 3 ? cell.padEnd(widths[i]!) : cell))
      .join('  ')
      .trimEnd();
  return `${[line(['version', 'name', 'state', 'applied at']), ...rows.map(line)].join('\n')}\n`;
}

/** The latest runs, for the text status: when each ran, how it ended, its error and trace id. */
export function formatRuns(runs: readonly RunRow[]): string {
  if (runs.length === 0) return '\nno runs yet\n';
  const lines = runs.map(
    (r) =>
      `  #${r.id}  ${r.startedAt}  ${r.success ? 'ok    ' : 'failed'}  applied ${r.appliedCount}  ${r.durationMs} ms  by ${r.appliedBy}${r.traceId ? `  trace ${r.traceId}` : ''}${r.error ? `  error: ${r.error}` : ''}`,
  );
  return `\nlatest runs (run, started, outcome, migrations applied):\n${lines.join('\n')}\n`;
}
