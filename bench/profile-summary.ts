/**
 * Reads a .cpuprofile (node --cpu-prof; `npm run bench -- --profile` writes one per server into
 * its run directory) and prints where the self time went, by function and by package.
 * Usage: node --import tsx bench/profile-summary.ts FILE.cpuprofile [TOP] [SKIP_MS]
 * SKIP_MS leaves out the first milliseconds (start-up); idle time is never counted.
 */
import { readProfile, summarize } from './lib/cpuprofile.js';

const [file, top, skip] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: profile-summary FILE.cpuprofile [TOP] [SKIP_MS]\n');
  process.exit(2);
}
const { functions, owners, busyMs } = summarize(
  readProfile(file),
  Number(top ?? 30),
  Number(skip ?? 0),
);
process.stdout.write(`${busyMs} ms busy\nself %  by package / folder\n`);
for (const o of owners)
  process.stdout.write(`${o.selfPercent.toFixed(1).padStart(6)}  ${o.name}\n`);
process.stdout.write('\nself %  by function\n');
for (const f of functions)
  process.stdout.write(`${f.selfPercent.toFixed(1).padStart(6)}  ${f.name}\n`);
