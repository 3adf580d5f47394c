import { OperationalError } from '@order-food/platform/errors';
import type { HistoryEntry } from './history.js';
import type { MigrationFile } from './migration-files.js';

/**
 * applied: recorded and the file is unchanged. pending: not applied yet (or its last attempt
 * failed and was rolled back). changed: applied, but the file's bytes differ now. missing:
 * applied, but no file has that version any more.
 */
export type MigrationState = 'applied' | 'pending' | 'changed' | 'missing';

export interface PlanEntry {
  readonly version: number;
  readonly name: string;
  readonly state: MigrationState;
  readonly file: MigrationFile | undefined;
  readonly history: HistoryEntry | undefined;
}

/** Lines up the directory with the history, by version. */
export function planMigrations(files: readonly MigrationFile[], history: readonly HistoryEntry[]) {
  const byVersion = new Map(history.map((h) => [h.version, h]));
  const entries: PlanEntry[] = [];
  for (const file of files) {
    const h = byVersion.get(file.version);
    byVersion.delete(file.version);
    let state: MigrationState = 'pending';
    if (h?.success) state = h.checksum === file.checksum ? 'applied' : 'changed';
    entries.push({ version: file.version, name: file.name, state, file, history: h });
  }
  for (const h of byVersion.values()) {
    // A failed attempt left nothing behind: without its file it is simply gone.
    if (h.success)
      entries.push({
        version: h.version,
        name: h.name,
        state: 'missing',
        file: undefined,
        history: h,
      });
  }
  return entries.sort((a, b) => a.version - b.version);
}

export function fileNameOf(version: number, name: string): string {
  return `${String(version).padStart(4, '0')}_${name}.sql`;
}

/**
 * Applied versions above the newest file that another release recorded (by its service version):
 * a newer release migrated this database before this one started (a rollback, or a pod of the
 * previous release started during a rolling update). Releases' migrations only expand, so this
 * release works on that schema and leaves them alone. A file of its own release that went
 * missing (recorded with this release's version) is no such entry.
 */
export function newerReleaseEntries(
  entries: readonly PlanEntry[],
  serviceVersion: string,
): PlanEntry[] {
  const newestFile = Math.max(0, ...entries.filter((e) => e.file).map((e) => e.version));
  return entries.filter(
    (e) =>
      e.state === 'missing' &&
      e.version > newestFile &&
      e.history!.serviceVersion !== serviceVersion,
  );
}

/**
 * Throws, naming every file, when applied migrations no longer match the directory: running on
 * would leave a schema nobody can rebuild from the files. Given this release's service version,
 * a newer release's migrations (newerReleaseEntries) are no problem.
 */
export function assertConsistent(
  entries: readonly PlanEntry[],
  dir: string,
  lead = 'refusing to migrate',
  serviceVersion?: string,
): void {
  const problems: string[] = [];
  const newer = new Set(
    serviceVersion === undefined ? [] : newerReleaseEntries(entries, serviceVersion),
  );
  for (const e of entries) {
    if (newer.has(e)) continue;
    if (e.state === 'changed' && e.history!.name !== e.file!.name) {
      problems.push(
        `${e.file!.fileName} reuses version ${e.version}, which was applied as ${fileNameOf(e.version, e.history!.name)} on ${e.history!.appliedAt.toISOString()}; give the new file the next free version (npm run migrate -- create NAME)`,
      );
    } else if (e.state === 'changed') {
      problems.push(
        `${e.file!.fileName} was changed after it was applied on ${e.history!.appliedAt.toISOString()} (checksum recorded ${e.history!.checksum.slice(0, 12)}…, file now ${e.file!.checksum.slice(0, 12)}…)`,
      );
    } else if (e.state === 'missing') {
      problems.push(
        `${fileNameOf(e.version, e.name)} (version ${e.version}, applied on ${e.history!.appliedAt.toISOString()}) is missing from ${dir}`,
      );
    }
  }
  if (problems.length > 0)
    throw new OperationalError(
      `${lead}: ${problems.join('; ')}. Restore the applied files as they were and put changes in a new migration`,
    );
}
