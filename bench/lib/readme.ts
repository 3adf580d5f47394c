import type { Figure } from './report.js';
import { markdownTable } from './report.js';

/** The README's Performance section: the latest table and where it comes from. */
export function performanceSection(
  figures: readonly Figure[],
  machine: Record<string, unknown>,
): string {
  const date = String(machine.date ?? '').slice(0, 10);
  return [
    '## Performance',
    '',
    `\`npm run bench\` compares each figure with a baseline measured in the same run (method, baselines and goals: [bench/README.md](bench/README.md); every round and the profiles of missed goals: [bench/results/latest.md](bench/results/latest.md)). Ratios are the baseline's cost divided by ours: higher is better. Latest full run, ${date}, ${machine.cores} cores, Node ${machine.node}, PostgreSQL ${machine.postgresql}:`,
    '',
    markdownTable(figures),
    '',
  ].join('\n');
}

/**
 * Puts section into the README in place of its "## Performance" section (up to the next "## "
 * heading), or appends it when there is none. The rest of the file is left byte for byte.
 */
export function replaceSection(readme: string, section: string): string {
  const lines = readme.split('\n');
  const start = lines.findIndex((l) => l.trim() === '## Performance');
  const body = section.endsWith('\n') ? section : `${section}\n`;
  if (start === -1) {
    const base = readme.endsWith('\n') ? readme : `${readme}\n`;
    return `${base}\n${body}`;
  }
  let end = lines.findIndex((l, i) => i > start && l.startsWith('## '));
  if (end === -1) end = lines.length;
  const before = lines.slice(0, start).join('\n');
  const after = lines.slice(end).join('\n');
  return `${before}\n${body}${after === '' ? '' : `\n${after}`}`.replace(/^\n/, '');
}
