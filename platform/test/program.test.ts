import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { OtlpReceiver } from '../testing/otlp-receiver.js';
import {
  type ProgramName,
  type ProgramResult,
  programs,
  repoRoot,
  runProgram,
  startProgram,
} from '../testing/run-program.js';

const dir = mkdtempSync(join(tmpdir(), 'platform-program-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Two standard variables, each malformed: telemetry reads them, warns once each, goes on. */
const malformed = {
  OTEL_SDK_DISABLED: 'false',
  OTEL_BSP_SCHEDULE_DELAY: 'soon',
  OTEL_TRACES_SAMPLER_ARG: 'seven',
};

/** One warning line per malformed variable, the program's own lines otherwise, no stack trace. */
function assertOneLineEach(name: string, output: string): void {
  for (const variable of ['OTEL_BSP_SCHEDULE_DELAY', 'OTEL_TRACES_SAMPLER_ARG']) {
    const lines = output.split('\n').filter((l) => l.includes(variable));
    assert.equal(lines.length, 1, `${name}: one line names ${variable}\n${output}`);
    const line = JSON.parse(lines[0]!) as { level: string; msg: string };
    assert.equal(line.level, 'warn', output);
    assert.match(line.msg, new RegExp(`^telemetry: ${variable} must be`), output);
  }
  assert.doesNotMatch(output, /\bat .*:\d+:\d+|"stack"/, `${name}: no stack trace\n${output}`);
}

const explain = (name: string, r: ProgramResult) =>
  `${name}: exit ${r.code}\n${r.stdout}\n${r.stderr}`;

describe('a malformed OTEL_* variable, each program as a real process', () => {
  const receiver = new OtlpReceiver();
  before(() => receiver.start());
  after(() => receiver.stop());

  test('the init programs do their work: exit 0, one warning line per variable', async () => {
    const env = { ...receiver.env(), ...malformed };
    mkdirSync(join(dir, 'migrations'));
    const [created, generated] = await Promise.all([
      runProgram('database-migration', ['create', 'add_notes', '--dir', join(dir, 'migrations')], {
        env,
      }),
      runProgram(
        'database-load',
        [
          'generate',
          '--out',
          join(dir, 'data'),
          '--products',
          '1',
          '--users',
          '1',
          '--orders',
          '1',
        ],
        { env },
      ),
    ]);
    assert.equal(created.code, 0, explain('database-migration', created));
    assert.match(created.stdout, /0001_add_notes\.sql/);
    assertOneLineEach('database-migration', created.stdout + created.stderr);
    assert.equal(generated.code, 0, explain('database-load', generated));
    assert.ok(readdirSync(join(dir, 'data')).length > 0, 'the data set was written');
    assertOneLineEach('database-load', generated.stdout + generated.stderr);
  });

  test('the API starts and shuts down on SIGTERM: exit 0, one warning line per variable', async () => {
    const child = startProgram('order-food', [], {
      env: {
        ...receiver.env(),
        ...malformed,
        ENVIRONMENT: 'development',
        DATABASE_URL: 'pglite:memory',
        PORT: '0',
        HOST: '127.0.0.1',
        SHUTDOWN_DRAIN_DELAY: '0',
      },
    });
    let output = '';
    const listening = new Promise<void>((resolve) => {
      const collect = (c: Buffer) => {
        output += c.toString();
        if (output.includes('Server listening')) resolve();
      };
      child.stdout?.on('data', collect);
      child.stderr?.on('data', collect);
    });
    const exited = once(child, 'close') as Promise<[number | null]>;
    // A bound for a broken start, not a timing assertion.
    const bound = setTimeout(() => child.kill('SIGKILL'), 120_000);
    await Promise.race([listening, exited]);
    child.kill('SIGTERM');
    const [code] = await exited;
    clearTimeout(bound);
    assert.equal(code, 0, output);
    assertOneLineEach('order-food', output);
  });

  test('with a bad configuration too: exit 2, one error line naming the variable', async () => {
    const names: ProgramName[] = ['database-migration', 'database-load', 'order-food'];
    const env = {
      ...receiver.env(),
      ...malformed,
      ENVIRONMENT: 'development',
      DB_WAIT_TIMEOUT: 'soon',
    };
    const results = await Promise.all(names.map((name) => runProgram(name, [], { env })));
    for (const [i, name] of names.entries()) {
      const r = results[i]!;
      assert.equal(r.code, 2, explain(name, r));
      const errors = r.stderr.split('\n').filter((l) => l.startsWith(`${name}: error:`));
      assert.deepEqual(errors, [
        `${name}: error: DB_WAIT_TIMEOUT must be a number of seconds, got "soon"`,
      ]);
      assertOneLineEach(name, r.stdout + r.stderr);
    }
  });

  test('a launcher runs programs one after another in one process: no exit, telemetry restarts', async () => {
    const url = (p: string) => pathToFileURL(join(repoRoot, p)).href;
    const launcher = join(dir, 'launcher.mts');
    writeFileSync(
      launcher,
      `import { inLauncher } from '${url('platform/src/program.ts')}';
  inLauncher();
  const { databaseMigration } = await import('${pathToFileURL(programs['database-migration']).href}');
  const { databaseLoad } = await import('${pathToFileURL(programs['database-load']).href}');
  const first = await databaseMigration.main(['create', 'first', '--dir', process.argv[2]]);
  const second = await databaseLoad.main(['generate', '--out', process.argv[3], '--orders', '0']);
  const third = await databaseMigration.main(['frobnicate']);
  process.stdout.write(JSON.stringify([first, second, third]) + '\\n');
  `,
    );
    mkdirSync(join(dir, 'launched'));
    const r = await runProgram(launcher, [join(dir, 'launched'), join(dir, 'launched-data')], {
      env: { ...receiver.env(), OTEL_SDK_DISABLED: 'false' },
    });
    assert.equal(r.code, 0, explain('launcher', r));
    const lines = r.stdout.trim().split('\n');
    assert.match(lines[0]!, /0001_first\.sql$/);
    assert.match(lines[1]!, /^wrote 1000 products, 10000 users, 0 orders/);
    assert.deepEqual(JSON.parse(lines.at(-1)!), [0, 0, 2]);
    // Telemetry started three times in one process: no warning of a second registration.
    assert.match(
      r.stderr.trim(),
      /^database-migration: error: unknown command "frobnicate"[^\n]*$/,
    );
  });
});
