import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { freePort } from '@order-food/platform/testing/free-port';
import { lockDirectory, makeDirectory } from '../src/directories.js';
import { runProgram, startProgram } from '../testing/run-program.js';

const base = mkdtempSync(join(tmpdir(), 'platform-directories-'));
after(() => rmSync(base, { recursive: true, force: true }));

/** A pid that was a process a moment ago and is no longer. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => child.on('exit', resolve));
  return child.pid!;
}

test('makeDirectory makes every missing level; a file in the way is named', () => {
  const nested = join(base, 'a', 'b', 'c');
  makeDirectory(nested);
  makeDirectory(nested);
  assert.ok(existsSync(nested));
  const file = join(base, 'file');
  writeFileSync(file, 'x');
  assert.throws(() => makeDirectory(file), /^Error: it is not a directory$/);
  assert.throws(() => makeDirectory(join(file, 'sub')), new RegExp(`ENOTDIR on ${file}/sub`));
});

test('makeDirectory returns under /proc, where recursive mkdir never does', () => {
  assert.throws(
    () => makeDirectory('/proc/order-food-test/pglite'),
    /ENOENT on \/proc\/order-food-test; choose a path in a writable directory/,
  );
});

test('the lock file: refused while its process runs, taken over once it is gone', async () => {
  const dir = mkdtempSync(join(base, 'lock-'));
  const lock = join(dir, 'order-food.lock');
  const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 600000)']);
  try {
    writeFileSync(lock, `${sleeper.pid} order-food\n`);
    assert.throws(
      () => lockDirectory(dir, 'database-load'),
      new RegExp(`in use by process ${sleeper.pid} \\(order-food\\)`),
    );
  } finally {
    sleeper.kill('SIGKILL');
  }
  writeFileSync(lock, `${await deadPid()} order-food\n`);
  const release = lockDirectory(dir, 'database-load');
  assert.equal(readFileSync(lock, 'utf8'), `${process.pid} database-load\n`);
  release();
  assert.ok(!existsSync(lock));
});

test('two programs on one embedded database: the second exits 1 naming the first; a stale lock is taken over', async () => {
  const dataDir = join(base, 'pglite');
  const env = { DATABASE_URL: `pglite:${dataDir}`, ENVIRONMENT: 'development' };
  const migrated = await runProgram('database-migration', ['migrate'], { env, timeoutMs: 300_000 });
  assert.equal(migrated.code, 0, migrated.stderr);
  const port = await freePort();
  const api = startProgram('order-food', [], {
    env: { ...env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
  });
  const exited = new Promise((resolve) => api.on('exit', resolve));
  try {
    // Listening means the database is open (the API opens it before it listens).
    for (;;) {
      const up = await fetch(`http://127.0.0.1:${port}/health`).then(
        (r) => r.ok,
        () => false,
      );
      if (up) break;
      assert.equal(api.exitCode, null, 'the API is running');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const second = await runProgram('database-load', ['status'], { env, timeoutMs: 300_000 });
    assert.equal(second.code, 1, second.stderr);
    const lines = second.stderr.split('\n').filter((l) => l.startsWith('database-load: error:'));
    assert.equal(lines.length, 1, second.stderr);
    assert.match(
      lines[0]!,
      new RegExp(
        `^database-load: error: the embedded database in ${dataDir} is in use by process ${api.pid} \\(order-food\\)`,
      ),
    );
  } finally {
    api.kill('SIGKILL');
    await exited;
  }
  // Killed: its lock file stays behind, naming a process that is gone.
  assert.match(readFileSync(join(dataDir, 'order-food.lock'), 'utf8'), new RegExp(`^${api.pid} `));
  const after = await runProgram('database-load', ['status'], { env, timeoutMs: 300_000 });
  assert.equal(after.code, 0, after.stderr);
  assert.ok(!existsSync(join(dataDir, 'order-food.lock')), 'released at exit');
});

test('PGLITE_DATA_DIR and generate --out under /proc: exit 1 naming the path, no hang', async () => {
  const path = '/proc/order-food-test/pglite';
  const [migration, generate] = await Promise.all([
    runProgram('database-migration', ['migrate'], {
      env: { DATABASE_URL: undefined, PGLITE_DATA_DIR: path },
      timeoutMs: 120_000,
    }),
    runProgram('database-load', ['generate', '--out', path, '--orders', '1'], {
      timeoutMs: 120_000,
    }),
  ]);
  for (const [r, line] of [
    [
      migration,
      `database-migration: error: the embedded database in ${path} cannot be opened: ENOENT on /proc/order-food-test`,
    ],
    [
      generate,
      `database-load: error: generate --out ${path}: the directory cannot be made: ENOENT on /proc/order-food-test`,
    ],
  ] as const) {
    assert.equal(r.signal, null, `killed by the bound: ${r.stderr}`);
    assert.equal(r.code, 1, r.stderr);
    const lines = r.stderr.split('\n').filter((l) => l.includes(': error: '));
    assert.equal(lines.length, 1, r.stderr);
    assert.ok(lines[0]!.startsWith(line), lines[0]);
  }
});
