import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '@order-food/platform/testing/run-program';

const reportFile = join(repoRoot, 'docs', 'RELIABILITY.md');

export interface ScenarioResult {
  title: string;
  passed: boolean;
  finishedAt: string;
  seconds: number;
  trials: number;
  faults: number;
  requests: number;
  /** Requests or runs that ended in a way the scenario forbids. */
  errors: number;
  /** Connections, locks or partial data left behind. */
  leaks: number;
  notes: string[];
  /** Markdown tables and figures. */
  details: string[];
  /** 1-minute load average of the machine when the scenario started and ended. */
  load?: [number, number];
  failure?: string;
}

interface Results {
  machine: Record<string, string>;
  scenarios: Record<string, ScenarioResult>;
}

/** Order of the scenarios in the report. */
const order = [
  'migration-crash',
  'load-crash',
  'database-down-at-start',
  'database-restart',
  'network-faults',
  'graceful-shutdown',
  'soak',
  'bad-input-bodies',
  'bad-input-parameters',
  'bad-input-headers',
  'menu-cache-flood',
  'pooler-replicas',
  'authorization',
  'authority',
  'pool-churn',
  'dependencies',
];

/** Scenarios no file records any more (bad-input is now three): dropped when the report is written. */
const retired = ['bad-input'];

/**
 * The figures of one scenario, written to docs/RELIABILITY.md; the figures of every scenario are
 * kept as JSON in a comment at its end, so running one file updates its own section only.
 */
export class Scenario {
  trials = 0;
  faults = 0;
  requests = 0;
  errors = 0;
  leaks = 0;
  readonly notes: string[] = [];
  readonly details: string[] = [];
  readonly #started = Date.now();
  readonly #loadAtStart = loadavg()[0] ?? 0;

  constructor(
    readonly id: string,
    readonly title: string,
  ) {}

  note(line: string): void {
    this.notes.push(line);
    process.stdout.write(`# ${this.id}: ${line}\n`);
  }

  detail(markdown: string): void {
    this.details.push(markdown);
    process.stdout.write(`${markdown.replace(/^/gm, '# ')}\n`);
  }

  /** Runs the scenario body and records its outcome whatever happens. */
  async run(body: () => Promise<void>): Promise<void> {
    let failure: string | undefined;
    try {
      await body();
    } catch (err) {
      failure = ((err as Error).message ?? String(err)).split('\n').slice(0, 6).join(' ');
      throw err;
    } finally {
      this.#write(failure);
    }
  }

  #write(failure: string | undefined): void {
    const results = readResults();
    for (const id of retired) delete results.scenarios[id];
    results.machine = machine();
    results.scenarios[this.id] = {
      title: this.title,
      passed: failure === undefined,
      finishedAt: new Date().toISOString(),
      seconds: Math.round((Date.now() - this.#started) / 1000),
      trials: this.trials,
      faults: this.faults,
      requests: this.requests,
      errors: this.errors,
      leaks: this.leaks,
      notes: this.notes,
      details: this.details,
      load: [round1(this.#loadAtStart), round1(loadavg()[0] ?? 0)],
      ...(failure ? { failure: failure.slice(0, 600) } : {}),
    };
    mkdirSync(join(repoRoot, 'docs'), { recursive: true });
    writeFileSync(reportFile, render(results));
  }
}

const round1 = (n: number) => Math.round(n * 10) / 10;

const dataStart = '<!-- reliability-data';
const dataEnd = '-->';

function readResults(): Results {
  const empty: Results = { machine: {}, scenarios: {} };
  if (!existsSync(reportFile)) return empty;
  const text = readFileSync(reportFile, 'utf8');
  const at = text.lastIndexOf(dataStart);
  if (at < 0) return empty;
  const end = text.indexOf(dataEnd, at);
  try {
    return JSON.parse(text.slice(at + dataStart.length, end)) as Results;
  } catch {
    return empty;
  }
}

function machine(): Record<string, string> {
  let postgres = 'unknown';
  try {
    postgres = execFileSync('psql', ['--version'], { encoding: 'utf8' }).trim();
  } catch {}
  return {
    cores: String(cpus().length),
    memory: `${Math.round(totalmem() / 2 ** 30)} GiB`,
    node: process.version,
    postgres,
    ci: process.env.CI === 'true' ? 'yes' : 'no',
  };
}

function render(results: Results): string {
  const ids = [
    ...order.filter((id) => results.scenarios[id]),
    ...Object.keys(results.scenarios).filter((id) => !order.includes(id)),
  ];
  const out: string[] = [
    '# Reliability',
    '',
    'Written by `npm run test:reliability` (reliability/*.test.ts): each scenario records its',
    'figures here when it ends. The programs are black boxes: real processes started from source,',
    'real PostgreSQL, loopback only; every loop is bounded in count and time. A scenario that fails',
    'keeps its failure here until it passes again.',
    '',
    `Machine: ${Object.entries(results.machine)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}.`,
    '',
    '| scenario | result | trials | faults survived | requests sent | errors | leaks | seconds | load average | finished |',
    '|---|---|---:|---:|---:|---:|---:|---:|---|---|',
  ];
  for (const id of ids) {
    const s = results.scenarios[id] as ScenarioResult;
    out.push(
      `| [${s.title}](#${id}) | ${s.passed ? 'pass' : '**FAIL**'} | ${s.trials} | ${s.faults} | ${s.requests} | ${s.errors} | ${s.leaks} | ${s.seconds} | ${s.load ? `${s.load[0]} → ${s.load[1]}` : ''} | ${s.finishedAt.slice(0, 16).replace('T', ' ')} |`,
    );
  }
  out.push(
    '',
    'Errors are outcomes the scenario forbids (a 5xx where none may occur, a failed request during a',
    'drain, a rerun that did not complete); leaks are connections, advisory locks or partial data',
    'left behind. Faults survived counts the injected faults (kills, cuts, outages) after which the',
    "system came back to a correct state. Load average is the machine's 1-minute load when the",
    'scenario started and ended (2 cores: above 2 the programs wait for CPU, and latencies grow).',
  );
  for (const id of ids) {
    const s = results.scenarios[id] as ScenarioResult;
    out.push('', `<a id="${id}"></a>`, `## ${s.title}`, '');
    if (s.failure) out.push(`**Failed:** ${s.failure}`, '');
    for (const n of s.notes) out.push(`- ${n}`);
    for (const d of s.details) out.push('', d);
  }
  // '--' cannot occur inside an HTML comment; JSON escapes it so the comment stays closed.
  const data = JSON.stringify(results, null, 1).replaceAll('--', '-\\u002d');
  out.push('', dataStart, data, dataEnd);
  return `${out.join('\n')}\n`;
}
