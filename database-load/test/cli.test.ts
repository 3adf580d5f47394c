import assert from 'node:assert/strict';
import { test } from 'node:test';
import { explain, runLoad } from './helpers.js';

// Nothing listens here: usage is checked before any database is reached.
const nowhere = 'postgres://postgres@127.0.0.1:9/none';

test('bad usage or configuration exits 2 with one line naming the problem', async () => {
  const cases: [string[], Record<string, string>, RegExp][] = [
    [['frobnicate'], {}, /unknown command "frobnicate"/],
    [['--bogus'], {}, /unknown option --bogus/],
    [['--mode', 'merge'], {}, /--mode must be insert or upsert, got "merge"/],
    [['generate'], {}, /generate needs --out DIR/],
    [['generate', '--out', '/tmp/x', '--orders', 'many'], {}, /--orders must be a whole number/],
    [[], { LOAD_LOCK_TIMEOUT: 'soon' }, /LOAD_LOCK_TIMEOUT must be a number of seconds/],
    [[], { LOAD_MODE: 'merge' }, /LOAD_MODE must be one of insert, upsert/],
    [[], { DATABASE_URL: 'mysql://localhost/x' }, /DATABASE_URL must start with postgres:\/\//],
  ];
  const results = await Promise.all(cases.map(([args, env]) => runLoad(nowhere, args, env)));
  cases.forEach(([args, , message], i) => {
    const r = results[i]!;
    assert.equal(r.code, 2, `${args.join(' ')}: ${explain(r)}`);
    // One line, and nothing else: no usage text, no stack (beside the same error as a JSON log
    // line once the program has its logger).
    const lines = r.stderr.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('{'));
    assert.equal(lines.length, 1, explain(r));
    assert.ok(lines[0]!.startsWith('database-load: error: '), explain(r));
    assert.match(lines[0]!, message);
  });
});

test('--help prints the usage and exits 0', async () => {
  const r = await runLoad(nowhere, ['--help']);
  assert.equal(r.code, 0, explain(r));
  assert.match(r.stdout, /usage: database-load/);
  assert.match(r.stdout, /status \[--dir DIR\] \[--json\]/);
});

test('a database that never answers: exit 1 after DB_WAIT_TIMEOUT, one line naming the variable', async () => {
  const r = await runLoad(nowhere, [], { DB_WAIT_TIMEOUT: '1' });
  assert.equal(r.code, 1, explain(r));
  assert.match(
    r.stderr,
    /database-load: error: database at .* did not answer within 1s \(DB_WAIT_TIMEOUT\)/,
  );
});
