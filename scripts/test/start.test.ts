import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { podStartIds } from '@order-food/platform/telemetry';
import { freePort } from '@order-food/platform/testing/free-port';
import { OtlpReceiver } from '@order-food/platform/testing/otlp-receiver';
import { repoRoot, runProgram, startProgram } from '@order-food/platform/testing/run-program';

const start = join(repoRoot, 'scripts/start.ts');
let scratch: string;

before(() => {
  scratch = mkdtempSync(join(tmpdir(), 'npm-start-'));
});
after(() => rmSync(scratch, { recursive: true, force: true }));

/** npm start's environment with nothing configured: embedded PGlite in its own directory. */
function localEnv(name: string, extra: Record<string, string | undefined> = {}) {
  return {
    DATABASE_URL: undefined,
    ENVIRONMENT: undefined,
    PGLITE_DATA_DIR: join(scratch, name),
    ...extra,
  };
}

describe('npm start in one process', () => {
  test('bad usage exits 2 with one line, before any step runs', async () => {
    const r = await runProgram(start, ['--verbose'], {
      env: localEnv('usage'),
      timeoutMs: 120_000,
    });
    assert.equal(r.code, 2, r.stderr);
    assert.deepEqual(
      r.stderr.split('\n').filter((l) => l.trim() !== ''),
      [
        'npm start: error: unknown option --verbose; usage: order-food [--port N] [--host ADDRESS] [--help]',
      ],
    );
    assert.doesNotMatch(r.stdout, /database-migration/);
  });

  test('a failing migration stops the sequence with exit 1 and its line; load and API do not run', async () => {
    const migrations = join(scratch, 'bad-migrations');
    mkdirSync(migrations);
    writeFileSync(join(migrations, '0001_broken.sql'), 'CREATE TABLE broken (;\n');
    const r = await runProgram(start, [], {
      env: localEnv('failing', { MIGRATIONS_DIR: migrations }),
      timeoutMs: 300_000,
    });
    const output = `${r.stdout}\n${r.stderr}`;
    assert.equal(r.code, 1, output);
    const errors = r.stderr.split('\n').filter((l) => l.trim() !== '');
    assert.equal(errors.length, 2, r.stderr);
    assert.match(errors[0]!, /^database-migration: error: .*0001_broken\.sql/);
    assert.equal(
      errors[1],
      'npm start: database-migration exited 1; the steps after it did not run',
    );
    assert.doesNotMatch(output, /"service":"database-load"|"service":"order-food"/);
  });

  test('the three steps run in order: one start-up trace, each step its top span, --port to the API', async () => {
    const receiver = await new OtlpReceiver().start();
    const port = await freePort();
    const uid = `npm-start-${process.pid}`;
    const pod = podStartIds(uid);
    const child = startProgram(start, ['--port', String(port)], {
      env: localEnv('ok', { ...receiver.env(), OTEL_SDK_DISABLED: undefined, POD_UID: uid }),
    });
    const guard = setTimeout(() => child.kill('SIGKILL'), 300_000);
    let out = '';
    child.stderr?.on('data', (c: Buffer) => {
      out += c.toString();
    });
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout?.on('data', (c: Buffer) => {
          out += c.toString();
          if (out.includes('"msg":"order-food ready"')) resolve();
        });
        child.once('exit', (code) => reject(new Error(`exited ${code}:\n${out}`)));
      });
      assert.equal((await fetch(`http://127.0.0.1:${port}/ready`)).status, 200);
      child.kill('SIGTERM');
      const [code] = await once(child, 'exit');
      assert.equal(code, 0, out);
      const order = ['database-migration', 'database-load', 'order-food'].map((s) =>
        out.indexOf(`"service":"${s}"`),
      );
      assert.ok(order[0]! >= 0 && order[0]! < order[1]! && order[1]! < order[2]!, out);

      const tops = ['migration.execute', 'dataload.execute', 'order-food start'];
      await receiver.waitFor((spans) => tops.every((n) => spans.some((s) => s.name === n)), 60_000);
      const mine = receiver.spans.filter((s) => s.traceId === pod.traceId);
      const root = mine.filter((s) => s.name === 'pod start');
      assert.equal(root.length, 1, 'one pod start root');
      assert.equal(root[0]!.spanId, pod.spanId);
      for (const name of tops) {
        const span = mine.find((s) => s.name === name);
        assert.ok(span, `${name} is in the start-up trace`);
        assert.equal(span.parentSpanId, pod.spanId, `${name} hangs from the pod start`);
      }
    } finally {
      clearTimeout(guard);
      child.kill('SIGKILL');
      await receiver.stop();
    }
  });
});
