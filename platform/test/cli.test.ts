import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { parseArgs } from '../src/cli.js';
import { UsageError } from '../src/errors.js';
import { repoRoot, runProgram } from '../testing/run-program.js';

const dir = mkdtempSync(join(tmpdir(), 'platform-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A program whose main does `body`, run as a real process through runCli. */
function program(name: string, body: string): string {
  const path = join(dir, `${name}.mts`);
  const url = (p: string) => pathToFileURL(join(repoRoot, 'platform/src', p)).href;
  writeFileSync(
    path,
    `import { runCli } from '${url('cli.ts')}';
import { ConfigError, OperationalError, UsageError } from '${url('errors.ts')}';
void ConfigError; void OperationalError; void UsageError;
await runCli('demo', async () => { ${body} });
`,
  );
  return path;
}

test('runCli exits 0/1/2 with one clear stderr line', async () => {
  const cases: [string, number, RegExp | null][] = [
    ['return 0;', 0, null],
    ['return 3;', 3, null],
    ['throw new UsageError(\'unknown command "x"\');', 2, /^demo: error: unknown command "x"$/],
    [
      'throw new ConfigError(\'PORT must be an integer, got "x"\');',
      2,
      /^demo: error: PORT must be an integer/,
    ],
    [
      "throw new OperationalError('database at db did not answer');",
      1,
      /^demo: error: database at db did not answer$/,
    ],
    [
      "throw Object.assign(new Error('relation \"t\" does not exist'), { code: '42P01' });",
      1,
      /^demo: error: relation "t" does not exist \(42P01\)$/,
    ],
    [
      "throw new AggregateError([new Error('connect ECONNREFUSED 127.0.0.1:9')], '');",
      1,
      /^demo: error: connect ECONNREFUSED/,
    ],
    // Thrown objects that are not Errors, as PGlite's file system throws them.
    ["throw { name: 'ErrnoError', errno: 2 };", 1, /^demo: error: ErrnoError \(errno 2\)$/],
    ["throw { reason: 'disk full' };", 1, /^demo: error: \{"reason":"disk full"\}$/],
  ];
  const results = await Promise.all(
    cases.map(([body], i) => runProgram(program(`case${i}`, body), [], { timeoutMs: 120_000 })),
  );
  for (const [i, [body, code, line]] of cases.entries()) {
    const r = results[i]!;
    assert.equal(r.code, code, `${body}\n${r.stderr}`);
    const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
    if (line) {
      assert.equal(lines.length, 1, `${body}: one line, no stack\n${r.stderr}`);
      assert.match(lines[0]!, line);
    } else {
      assert.equal(lines.length, 0, r.stderr);
    }
  }
});

test('an unexpected error shows its stack only at LOG_LEVEL=debug', async () => {
  const path = program('bug', "throw new TypeError('x is not a function');");
  const r = await runProgram(path, [], { env: { LOG_LEVEL: 'debug' }, timeoutMs: 120_000 });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^demo: error: x is not a function\n/);
  assert.match(r.stderr, /TypeError: x is not a function\n\s+at /);
});

test('parseArgs splits a command, positionals and flags; unknown flags are usage errors', () => {
  assert.deepEqual(parseArgs(['create', 'note', '--dir', 'm', '--json'], ['dir'], ['json']), {
    command: 'create',
    positionals: ['note'],
    flags: { dir: 'm', json: true },
  });
  assert.deepEqual(parseArgs(['--dir=x', '--', '--not-a-flag'], ['dir'], []), {
    command: '--not-a-flag',
    positionals: [],
    flags: { dir: 'x' },
  });
  assert.deepEqual(parseArgs([], [], []), { command: undefined, positionals: [], flags: {} });
  assert.throws(() => parseArgs(['--nope'], ['dir'], ['json']), UsageError);
  assert.throws(() => parseArgs(['--dir'], ['dir'], []), /--dir needs a value/);
  assert.throws(() => parseArgs(['--json=1'], [], ['json']), /unknown option --json=1/);
});
