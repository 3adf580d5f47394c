import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { freePort } from '@order-food/platform/testing/free-port';
import { runProgram, startProgram } from '@order-food/platform/testing/run-program';

// Usage is checked before any database is reached.
const nowhere = 'postgres://postgres@127.0.0.1:9/none';

test('bad usage of the API exits 2 with one line', async () => {
  const cases: [string[], RegExp][] = [
    [
      ['--prot', '9000'],
      /^order-food: error: unknown option --prot; usage: order-food \[--port N\]/,
    ],
    [['--port'], /^order-food: error: --port needs a value; usage:/],
    [
      ['--port', 'ninety'],
      /^order-food: error: --port must be a port number from 0 to 65535, got "ninety"$/,
    ],
    [
      ['--port', '70000'],
      /^order-food: error: --port must be a port number from 0 to 65535, got "70000"$/,
    ],
    [['--host='], /^order-food: error: --host needs a value; usage:/],
    [['serve'], /^order-food: error: unexpected argument "serve"; usage:/],
  ];
  const results = await Promise.all(
    cases.map(([args]) =>
      runProgram('order-food', args, {
        env: { DATABASE_URL: nowhere, ENVIRONMENT: 'development' },
        timeoutMs: 120_000,
      }),
    ),
  );
  for (const [i, [args, line]] of cases.entries()) {
    const r = results[i]!;
    const explain = `${args.join(' ')}: exit ${r.code}\n${r.stdout}\n${r.stderr}`;
    assert.equal(r.code, 2, explain);
    const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
    assert.equal(lines.length, 1, explain);
    assert.match(lines[0]!, line, explain);
    assert.equal(r.stdout, '', explain);
  }
});

test('--port and --host win over PORT and HOST', async () => {
  const port = await freePort();
  const api = startProgram('order-food', ['--port', String(port), '--host', '127.0.0.1'], {
    env: {
      DATABASE_URL: nowhere,
      DB_WAIT_TIMEOUT: '600',
      ENVIRONMENT: 'development',
      PORT: '1',
      HOST: '192.0.2.1',
    },
  });
  const guard = setTimeout(() => api.kill('SIGKILL'), 120_000);
  try {
    let out = '';
    // The server listens before the database answers: its line names where.
    await new Promise<void>((resolve, reject) => {
      api.stdout?.on('data', (c: Buffer) => {
        out += c.toString();
        if (out.includes(`Server listening at http://127.0.0.1:${port}`)) resolve();
      });
      api.once('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
    });
    const health = await fetch(`http://127.0.0.1:${port}/health`);
    assert.equal(health.status, 200);
  } finally {
    api.kill('SIGTERM');
    await once(api, 'exit');
    clearTimeout(guard);
  }
});
