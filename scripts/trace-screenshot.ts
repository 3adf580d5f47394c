/**
 * node --conditions=source --import tsx scripts/trace-screenshot.ts [OUT.png]: a real pod start
 * (the three programs, one POD_UID, PostgreSQL at TEST_DATABASE_URL or 127.0.0.1:5432) exported
 * to a local OTLP receiver, drawn as a waterfall and photographed by headless Chromium (Debian's
 * chromium). Exit 2 when PostgreSQL or chromium is missing.
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort } from '@order-food/platform/testing/free-port';
import { OtlpReceiver, type ReceivedSpan } from '@order-food/platform/testing/otlp-receiver';
import { repoRoot, runProgram, startProgram } from '@order-food/platform/testing/run-program';
import { createTestDatabase, postgresAvailable } from '@order-food/platform/testing/test-database';

const out = resolve(process.argv[2] ?? join(repoRoot, 'docs/images/pod-start-trace.png'));

function fail(message: string, code = 1): never {
  process.stderr.write(`trace-screenshot: ${message}\n`);
  process.exit(code);
}

if (spawnSync('chromium', ['--version']).status !== 0)
  fail('chromium is missing: apt-get install chromium', 2);
if (!(await postgresAvailable())) fail('no PostgreSQL answers (TEST_DATABASE_URL)', 2);

const receiver = await new OtlpReceiver().start();
const db = await createTestDatabase('trace_screenshot');
const port = await freePort();
const env = {
  ...receiver.env(),
  OTEL_SDK_DISABLED: 'false',
  DATABASE_URL: db.url,
  POD_UID: randomUUID(),
  POD_NAME: 'order-food-7d9f8b6c4-x2k8p',
  ENVIRONMENT: 'development',
  PORT: String(port),
  LOG_LEVEL: 'warn',
};
let spans: ReceivedSpan[];
try {
  for (const program of ['database-migration', 'database-load'] as const) {
    const r = await runProgram(program, [], { env });
    if (r.code !== 0) fail(`${program} exited ${r.code}: ${r.stderr.trim()}`);
  }
  const api = startProgram('order-food', [], { env });
  try {
    for (let ready = false; !ready; ) {
      ready = await fetch(`http://127.0.0.1:${port}/ready`)
        .then((r) => r.ok)
        .catch(() => false);
      if (api.exitCode !== null) fail(`the API exited ${api.exitCode}`);
      if (!ready) await new Promise((r) => setTimeout(r, 50));
    }
    // Stopped only once its start span has arrived: a SIGTERM before would end it as failed.
    await receiver.waitFor((s) => s.some((x) => x.name === 'order-food start'), 60_000);
  } finally {
    api.kill('SIGTERM');
    await new Promise((r) => api.once('exit', r));
  }
  const start = receiver.spans.find((s) => s.serviceName === 'database-migration')!;
  spans = receiver.spans.filter((s) => s.traceId === start.traceId);
} finally {
  await receiver.stop();
  await db.drop();
}

if (process.env.TRACE_SCREENSHOT_SPANS)
  writeFileSync(process.env.TRACE_SCREENSHOT_SPANS, JSON.stringify(spans, null, 1));
const ns = (t: string) => BigInt(t);
const t0 = spans.reduce(
  (m, s) => (ns(s.startTimeUnixNano) < m ? ns(s.startTimeUnixNano) : m),
  ns(spans[0]!.startTimeUnixNano),
);
const t1 = spans.reduce((m, s) => (ns(s.endTimeUnixNano) > m ? ns(s.endTimeUnixNano) : m), 0n);
const total = Number(t1 - t0) / 1e6;

// Depth-first from the roots, children by start time: the waterfall Jaeger draws.
// The database client's spans (kind CLIENT, one per statement) are folded into their parents, as
// one would collapse them in Jaeger: the picture shows the steps.
const shown = spans.filter((s) => s.kind !== 3);
const byParent = new Map<string, ReceivedSpan[]>();
const ids = new Set(shown.map((s) => s.spanId));
for (const s of shown) {
  const parent = ids.has(s.parentSpanId) ? s.parentSpanId : '';
  byParent.set(parent, [...(byParent.get(parent) ?? []), s]);
}
const rows: { span: ReceivedSpan; depth: number }[] = [];
const walk = (parent: string, depth: number) => {
  const children = (byParent.get(parent) ?? []).sort((a, b) =>
    ns(a.startTimeUnixNano) < ns(b.startTimeUnixNano) ? -1 : 1,
  );
  for (const span of children) {
    rows.push({ span, depth });
    walk(span.spanId, depth + 1);
  }
};
walk('', 0);

const colours: Record<string, string> = {
  'database-migration': '#e6a23c',
  'database-load': '#67c23a',
  'order-food': '#409eff',
};
const esc = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
const ms = (n: number) =>
  n >= 1 ? `${n.toFixed(n >= 100 ? 0 : 1)} ms` : `${(n * 1000).toFixed(0)} µs`;
/** A bar's duration beside it: to its right, or to its left near the end of the axis. */
const label = (left: number, width: number, text: string) =>
  left + width > 85
    ? `<span class="dur" style="right:calc(${100 - left}% + 4px)">${text}</span>`
    : `<span class="dur" style="left:calc(${left + width}% + 4px)">${text}</span>`;
const body = rows
  .map(({ span, depth }) => {
    const start = Number(ns(span.startTimeUnixNano) - t0) / 1e6;
    const dur = Number(ns(span.endTimeUnixNano) - ns(span.startTimeUnixNano)) / 1e6;
    const left = (start / total) * 100;
    const width = Math.max((dur / total) * 100, 0.2);
    const colour = colours[span.serviceName] ?? '#909399';
    const error = span.status.code === 2 ? ' error' : '';
    return `<div class="row${error}"><div class="name" style="padding-left:${8 + depth * 14}px"><span class="svc" style="background:${colour}"></span>${esc(span.serviceName)} <b>${esc(span.name)}</b></div><div class="lane"><div class="bar" style="left:${left}%;width:${width}%;background:${colour}"></div>${label(left, width, ms(dur))}</div></div>`;
  })
  .join('\n');
const ticks = [0, 0.25, 0.5, 0.75, 1]
  .map((f) => `<span style="left:${f * 100}%">${ms(total * f)}</span>`)
  .join('');
const html = `<!doctype html><meta charset="utf-8"><style>
body{font:13px/1.2 system-ui,sans-serif;margin:0;color:#222;background:#fff}
h1{font-size:15px;margin:0;padding:10px 12px;background:#f4f4f5;border-bottom:1px solid #ddd}
h1 small{font-weight:normal;color:#666;margin-left:8px}
.row{display:flex;border-bottom:1px solid #f0f0f0;height:24px;align-items:center}
.row.error .name b{color:#c00}
.name{width:430px;flex:none;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.svc{display:inline-block;width:8px;height:8px;border-radius:2px;margin-right:6px}
.lane,.axis{position:relative;flex:1;height:100%;margin-right:70px}
.bar{position:absolute;top:6px;height:12px;border-radius:2px;min-width:2px}
.dur{position:absolute;top:5px;color:#555;font-size:11px;white-space:nowrap}
.head{display:flex;height:22px;border-bottom:1px solid #ddd;color:#666;font-size:11px;align-items:center}
.axis span{position:absolute;top:4px;transform:translateX(-50%);white-space:nowrap}
</style>
<h1>Trace ${spans[0]!.traceId.slice(0, 16)}… pod start <small>${spans.length} spans (${spans.length - shown.length} database statements folded), ${new Set(spans.map((s) => s.serviceName)).size} services, ${ms(total)}; made by scripts/trace-screenshot.ts from a real run</small></h1>
<div class="head"><div class="name" style="padding-left:8px">service · operation</div><div class="axis">${ticks}</div></div>
${body}`;

const dir = mkdtempSync(join(tmpdir(), 'trace-screenshot-'));
try {
  writeFileSync(join(dir, 'trace.html'), html);
  const height = 70 + rows.length * 25;
  const shot = spawnSync(
    'chromium',
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--hide-scrollbars',
      `--user-data-dir=${join(dir, 'profile')}`,
      `--window-size=1280,${height}`,
      `--screenshot=${out}`,
      `file://${join(dir, 'trace.html')}`,
    ],
    { encoding: 'utf8', timeout: 120_000 },
  );
  if (shot.status !== 0) fail(`chromium failed: ${shot.stderr.trim().split('\n').at(-1)}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.stdout.write(`wrote ${out}: ${spans.length} spans of trace ${spans[0]!.traceId}\n`);
