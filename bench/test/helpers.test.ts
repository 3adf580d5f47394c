import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { roundSize } from '../lib/ab.js';
import { copyValue, psqlCopyArgs } from '../lib/copy-files.js';
import { cpuMicros, parseProcStat, parseProcStatus } from '../lib/proc.js';
import { countSpansJson, countSpansProtobuf } from '../lib/protobuf.js';
import { performanceSection, replaceSection } from '../lib/readme.js';
import { catalog, figure, markdownTable, selectFigures } from '../lib/report.js';
import { median, percentile } from '../lib/stats.js';

describe('/proc parsing', () => {
  test('utime and stime are fields 14 and 15, counted after the command name', () => {
    // A command name with spaces and parentheses must not shift the fields.
    const line =
      '4242 (node (a) b) S 1 4242 4242 0 -1 4194560 2000 0 0 0 1234 567 0 0 20 0 11 0 100 1000000 5000 18446744073709551615';
    assert.deepEqual(parseProcStat(line), { utime: 1234, stime: 567 });
  });

  test('a malformed line is refused', () => {
    assert.throws(() => parseProcStat('no parentheses here'));
    assert.throws(() => parseProcStat('1 (x) S 1 2'));
  });

  test('CPU microseconds from tick deltas', () => {
    assert.equal(cpuMicros({ utime: 100, stime: 50 }, { utime: 130, stime: 70 }, 100), 500_000);
  });

  test('VmRSS and VmHWM from /proc/PID/status, in bytes', () => {
    const status = 'Name:\tnode\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\nThreads:\t11\n';
    assert.deepEqual(parseProcStatus(status), { rss: 100 * 2 ** 20, peak: 200 * 2 ** 20 });
    assert.throws(() => parseProcStatus('Name:\tnode\n'));
  });
});

describe('statistics', () => {
  test('median of odd and even counts', () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.ok(Number.isNaN(median([])));
  });

  test('nearest-rank percentiles', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    assert.equal(percentile(values, 50), 50);
    assert.equal(percentile(values, 99), 99);
    assert.equal(percentile(values, 100), 100);
    assert.equal(percentile([7], 99), 7);
  });
});

describe('round length', () => {
  test('rounds last about roundSeconds at the fastest warm-up rate, never under requestsPerRound', () => {
    const options = { requestsPerRound: 2500, roundSeconds: 2 };
    // A cached page at 20 000 req/s beside a bare server at 7 000: the cached page sets the size.
    assert.equal(roundSize(options, [20_000, 7_000]), 40_000);
    // Dear pages at 1 000 req/s keep the least.
    assert.equal(roundSize(options, [1_000, 1_200]), 2500);
    assert.equal(roundSize({ requestsPerRound: 1000, roundSeconds: 0 }, [20_000]), 1000);
    assert.equal(roundSize(options, []), 2500);
  });
});

describe('figures', () => {
  test('a ratio is the baseline cost over ours, and the goal is checked on it', () => {
    const f = figure('orders_read_vs_bare.c10', 200, 150);
    assert.deepEqual(Object.keys(f), ['id', 'value', 'unit', 'baseline', 'ratio', 'goal', 'met']);
    assert.equal(f.ratio, 0.75);
    assert.equal(f.goal, 'ratio >= 0.8');
    assert.equal(f.met, false);
    assert.equal(figure('orders_read_vs_bare.c50', 160, 150).met, true);
  });

  test('a value goal is checked on the value; a watched figure has none', () => {
    assert.equal(figure('orders_p99_ms_at_500rps', 12.5).met, true);
    assert.equal(figure('orders_p99_ms_at_500rps', 15.5).met, false);
    const watched = figure('node_startup_ms.order-food', 400, 300);
    assert.equal(watched.goal, null);
    assert.equal(watched.met, null);
  });

  test('an unmeasured figure has no value and no verdict', () => {
    const f = figure('menu_read_vs_bare', null);
    assert.equal(f.value, null);
    assert.equal(f.ratio, null);
    assert.equal(f.met, null);
  });

  test('the issue’s figure ids are all in the catalog', () => {
    const ids = catalog.map((s) => s.id);
    for (const id of [
      'orders_read_vs_bare.c10',
      'orders_read_vs_bare.c50',
      'tracing_full_vs_off',
      'menu_read_vs_bare',
      'orders_p99_ms_at_500rps',
      'load_1m_vs_psql_copy',
      'load_rerun_ms',
      'pod_start_to_ready_ms',
      'api_rss_mb_after_60s',
    ])
      assert.ok(ids.includes(id), id);
    assert.ok(ids.some((id) => id.startsWith('node_startup_ms.')));
  });

  test('selection by id, id prefix or group; unknown names refused', () => {
    assert.deepEqual(
      selectFigures(['menu_read_vs_bare']).map((s) => s.id),
      ['menu_read_vs_bare'],
    );
    assert.equal(selectFigures(['node_startup_ms']).length, 3);
    assert.deepEqual(
      selectFigures(['orders_read_vs_bare']).map((s) => s.id),
      ['orders_read_vs_bare.c10', 'orders_read_vs_bare.c50'],
    );
    assert.deepEqual(
      selectFigures(['orders-write']).map((s) => s.id),
      ['orders_p99_ms_at_500rps', 'orders_p50_ms_at_500rps', 'orders_max_sustainable_rps'],
    );
    assert.equal(selectFigures(undefined).length, catalog.length);
    assert.throws(() => selectFigures(['no_such_figure']), /unknown figure no_such_figure/);
  });

  test('the markdown table has a row per figure', () => {
    const table = markdownTable([figure('load_rerun_ms', 42), figure('menu_read_vs_bare', null)]);
    const rows = table.split('\n');
    assert.equal(rows.length, 4);
    assert.match(rows[2]!, /`load_rerun_ms` \| 42 \| ms/);
    assert.match(rows[3]!, /\| – \|/);
  });
});

/** Length-delimited protobuf field. */
function field(num: number, payload: Uint8Array): Uint8Array {
  const header: number[] = [(num << 3) | 2];
  let len = payload.length;
  while (len >= 0x80) {
    header.push((len & 0x7f) | 0x80);
    len >>= 7;
  }
  header.push(len);
  return Buffer.concat([Buffer.from(header), payload]);
}

describe('OTLP span counting', () => {
  test('protobuf: spans under resource_spans → scope_spans, other fields skipped', () => {
    const span = field(1, Buffer.alloc(16, 1)); // trace_id inside a span
    const scope = Buffer.concat([
      field(1, Buffer.from('scope')),
      field(2, span),
      field(2, span),
      Buffer.from([(4 << 3) | 0, 0x96, 0x01]), // a varint field
    ]);
    const resourceSpans = Buffer.concat([
      field(1, Buffer.from('resource')),
      field(2, scope),
      field(2, scope),
    ]);
    const body = Buffer.concat([field(1, resourceSpans), field(1, field(2, field(2, span)))]);
    // 2 scopes × 2 spans + 1 span in the second resource.
    assert.equal(countSpansProtobuf(body), 5);
    assert.equal(countSpansProtobuf(new Uint8Array()), 0);
    assert.throws(() => countSpansProtobuf(Buffer.from([0x0a, 0x05, 0x01])));
  });

  test('JSON', () => {
    const body = {
      resourceSpans: [{ scopeSpans: [{ spans: [{}, {}] }, { spans: [{}] }] }, { scopeSpans: [] }],
    };
    assert.equal(countSpansJson(JSON.stringify(body)), 3);
  });
});

describe('psql \\copy baseline files', () => {
  test('COPY text format escapes', () => {
    assert.equal(copyValue(null), '\\N');
    assert.equal(copyValue(true), 't');
    assert.equal(copyValue(42), '42');
    assert.equal(copyValue('a\tb\\c\nd'), 'a\\tb\\\\c\\nd');
  });

  test('one transaction, tables in foreign-key order', () => {
    const args = psqlCopyArgs('postgres://x/db', '/data');
    assert.ok(args.includes('--single-transaction'));
    const copies = args.filter((a) => a.startsWith('\\copy'));
    assert.deepEqual(
      copies.map((c) => c.split(' ')[1]),
      ['products', 'users', 'orders', 'order_items'],
    );
    assert.match(copies[3]!, /FROM '\/data\/order_items\.copy'$/);
  });
});

describe('README Performance section', () => {
  const section = '## Performance\n\nnew table\n';

  test('replaces the section up to the next heading and leaves the rest alone', () => {
    const readme = '# t\n\nintro\n\n## Performance\n\nold\n\n## Layout\n\nx\n';
    assert.equal(
      replaceSection(readme, section),
      '# t\n\nintro\n\n## Performance\n\nnew table\n\n## Layout\n\nx\n',
    );
  });

  test('replaces a last section', () => {
    assert.equal(
      replaceSection('# t\n\n## Performance\n\nold\n', section),
      '# t\n\n## Performance\n\nnew table\n',
    );
  });

  test('appends the section when there is none', () => {
    assert.equal(
      replaceSection('# t\n\n## Layout\n', section),
      '# t\n\n## Layout\n\n## Performance\n\nnew table\n',
    );
  });

  test('the section carries the table of figures', () => {
    const s = performanceSection([figure('load_rerun_ms', 42)], {
      date: '2026-11-24T05:00:00Z',
      cores: 2,
    });
    assert.match(s, /^## Performance\n/);
    assert.match(s, /`load_rerun_ms` \| 42/);
    assert.match(s, /2026-11-24, 2 cores/);
  });
});
