import type { BenchContext } from '../lib/context.js';
import type { Figure } from '../lib/report.js';

export interface GroupResult {
  figures: Figure[];
  /** Detail kept in latest.json under details[group]. */
  details: Record<string, unknown>;
  /** A section of latest.md: how it was measured and the absolute numbers. */
  markdown: string;
}

export type GroupRunner = (ctx: BenchContext) => Promise<GroupResult>;
