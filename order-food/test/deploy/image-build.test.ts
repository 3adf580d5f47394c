/**
 * The images' file layout works, without a Docker engine: each Dockerfile is carried out
 * instruction by instruction into directories (one per stage, container paths mapped under it):
 * WORKDIR, COPY from the build context or an earlier stage, and RUN in the stage's working
 * directory with the machine's Node 24 and npm (the same versions as the base image). Then the
 * runtime stages' ENTRYPOINT and CMD run the pod sequence against PostgreSQL: the migration image
 * migrates, the load image loads, the API image becomes ready and drains on SIGTERM. This proves
 * what the static checks cannot: the production install holds every module the compiled programs
 * import, and the migrations and data are where the programs look.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { repoRoot } from '@order-food/platform/testing/run-program';
import { createTestDatabase, type TestDatabase } from '@order-food/platform/testing/test-database';
import { type Copy, DockerfileParser, type JSONInstruction } from 'dockerfile-ast';

const nodeBin = dirname(process.execPath);

interface Stage {
  name: string | undefined;
  root: string;
  workdir: string;
  entrypoint: string[];
  cmd: string[];
}

function hostPath(stage: Stage, containerPath: string): string {
  return join(stage.root, posix.resolve(stage.workdir, containerPath));
}

/** The machine's environment (registry, certificates, npm cache) with its Node first on PATH. */
function buildEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${nodeBin}:${process.env.PATH}` };
  for (const name of Object.keys(env)) {
    if (name === 'NODE_OPTIONS' || name.startsWith('NODE_TEST') || name.startsWith('npm_'))
      delete env[name];
  }
  env.npm_config_prefer_offline = 'true';
  return env;
}

function exec(stage: Stage, command: string): void {
  const result = spawnSync('sh', ['-c', command], {
    cwd: hostPath(stage, '.'),
    encoding: 'utf8',
    timeout: 600_000,
    env: buildEnv(),
  });
  assert.equal(result.status, 0, `RUN ${command}\n${result.stdout}\n${result.stderr}`);
}

/**
 * Docker's layer cache, without copies: the build stages of the three images share one directory,
 * and an instruction whose stage history was already carried out there is skipped (the install and
 * the platform build run once). Each image's own steps add to that directory, which the runtime
 * stage copies from by path, so sharing it changes nothing the runtime receives.
 */
const done = new Set<string>();

/** Builds every stage of a Dockerfile; returns the last (the runtime). */
function build(dockerfile: string, imageRoot: string, sharedRoot: string): Stage {
  const stages: Stage[] = [];
  let stage: Stage | undefined;
  let history: string[] = [];
  for (const instruction of DockerfileParser.parse(
    readFileSync(join(repoRoot, dockerfile), 'utf8'),
  ).getInstructions()) {
    const keyword = instruction.getKeyword();
    const args = instruction.getArguments().map((a) => a.getValue());
    if (keyword === 'FROM') {
      const as = args.findIndex((a) => a.toUpperCase() === 'AS');
      const name = as >= 0 ? args[as + 1] : undefined;
      const root =
        name === 'build' ? join(sharedRoot, 'build') : join(imageRoot, `stage-${stages.length}`);
      history = [root, `FROM ${args[0]}`];
      stage = { name, root, workdir: '/', entrypoint: [], cmd: [] };
      mkdirSync(root, { recursive: true });
      stages.push(stage);
      continue;
    }
    history.push(instruction.getTextContent());
    // WORKDIR, ENTRYPOINT and CMD always apply: they are the stage's state, not its files.
    const key = history.join('\n');
    const cached = done.has(key);
    done.add(key);
    switch (keyword) {
      case 'WORKDIR':
        stage!.workdir = posix.resolve(stage!.workdir, args[0]!);
        mkdirSync(hostPath(stage!, '.'), { recursive: true });
        break;
      case 'COPY': {
        if (cached) break;
        const copy = instruction as Copy;
        const from = copy.getFromFlag()?.getValue();
        const operands = args.filter((a) => !a.startsWith('--'));
        const dest = operands.at(-1)!;
        const source = from ? stages.find((s) => s.name === from) : undefined;
        if (from) assert.ok(source, `stage ${from}`);
        for (const src of operands.slice(0, -1)) {
          const origin = source ? join(source.root, src) : join(repoRoot, src);
          // A directory's contents go into the destination; a file goes into a destination
          // directory (a trailing slash or several sources) or becomes the destination.
          const intoDir =
            statSync(origin).isDirectory() || !(dest.endsWith('/') || operands.length > 2);
          const target = intoDir
            ? hostPath(stage!, dest)
            : join(hostPath(stage!, dest), posix.basename(src));
          mkdirSync(dirname(target), { recursive: true });
          cpSync(origin, target, { recursive: true, verbatimSymlinks: true });
        }
        break;
      }
      case 'RUN':
        if (cached) break;
        exec(stage!, instruction.getRawArgumentsContent()!.replace(/\\\n/g, ' '));
        break;
      case 'ENTRYPOINT':
        stage!.entrypoint = (instruction as JSONInstruction)
          .getJSONStrings()
          .map((s) => s.getJSONValue());
        break;
      case 'CMD':
        stage!.cmd = (instruction as JSONInstruction).getJSONStrings().map((s) => s.getJSONValue());
        break;
      default:
        // ARG, ENV, LABEL, USER, EXPOSE describe the image; they change no file (every RUN here
        // runs as this machine's user).
        break;
    }
  }
  return stages.at(-1)!;
}

function start(stage: Stage, env: Record<string, string>, args?: string[]): ChildProcess {
  const [command, ...rest] = [...stage.entrypoint, ...(args ?? stage.cmd)];
  assert.equal(command, 'node');
  return spawn(process.execPath, rest, {
    cwd: hostPath(stage, '.'),
    env: {
      PATH: '/usr/bin:/bin',
      HOME: '/tmp',
      OTEL_SDK_DISABLED: 'true',
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function finish(
  child: ChildProcess,
  timeoutMs = 120_000,
): Promise<{ code: number | null; stdout: string; output: string }> {
  let output = '';
  let stdout = '';
  child.stdout!.on('data', (d) => {
    stdout += d;
    output += d;
  });
  child.stderr!.on('data', (d) => (output += d));
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, output });
    });
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

let workRoot: string;
let db: TestDatabase;
const runtime: Record<string, Stage> = {};

before(async () => {
  workRoot = mkdtempSync(join(tmpdir(), 'order-food-images-'));
  db = await createTestDatabase('images');
});

after(async () => {
  await db?.drop();
  rmSync(workRoot, { recursive: true, force: true });
});

describe('images built from the Dockerfiles into directories', { concurrency: false }, () => {
  for (const name of ['database-migration', 'database-load', 'order-food']) {
    it(`${name}: the runtime stage holds the program, its data and production dependencies only`, () => {
      const stage = build(`${name}/Dockerfile`, join(workRoot, name), workRoot);
      runtime[name] = stage;
      const app = hostPath(stage, '.');
      const entry = join(app, stage.entrypoint.at(-1)!);
      assert.ok(existsSync(entry), 'the entry point was built');
      assert.ok(existsSync(entry.replace(/\.js$/, '.bundle.js')), 'the program is one bundle');
      assert.ok(!existsSync(join(app, 'platform/dist')), 'platform is inside the bundle');
      const cache = join(dirname(entry), 'compile-cache');
      assert.ok(
        existsSync(cache) && readdirSync(cache).length > 0,
        'the compile cache was filled at build time',
      );
      for (const dev of ['typescript', 'tsx', '@biomejs/biome', 'node', 'kubernetes-models']) {
        assert.ok(!existsSync(join(app, 'node_modules', dev)), `no dev dependency ${dev}`);
      }
      for (const src of ['platform/src', `${name}/src`, `${name}/test`]) {
        assert.ok(!existsSync(join(app, src)), `no ${src} in the image`);
      }
      if (name !== 'order-food')
        assert.ok(!existsSync(join(app, 'node_modules/fastify')), 'no API dependency');
      if (name === 'database-migration')
        assert.ok(existsSync(join(app, 'database-migration/migrations/0001_initial_schema.sql')));
      if (name === 'database-load') assert.ok(existsSync(join(app, 'database-load/data')));
    });
  }

  it('the images run the pod sequence: migrate, load, then the API is ready and drains on SIGTERM', async () => {
    const env = { DATABASE_URL: db.url, DB_WAIT_TIMEOUT: '30', POD_UID: 'image-build-test' };
    const migrate = await finish(start(runtime['database-migration']!, env));
    assert.equal(migrate.code, 0, migrate.output);
    const again = await finish(start(runtime['database-migration']!, env, ['status', '--json']));
    assert.equal(again.code, 0, again.output);
    const status = JSON.parse(again.stdout);
    assert.ok(status.length >= 2 && status.every((m: { state: string }) => m.state === 'applied'));

    const load = await finish(start(runtime['database-load']!, env));
    assert.equal(load.code, 0, load.output);

    const port = await freePort();
    const api = start(runtime['order-food']!, {
      ...env,
      PORT: String(port),
      HOST: '127.0.0.1',
      JWT_SECRET: 'image-build-test-secret-0123456789',
      SHUTDOWN_DRAIN_DELAY: '0',
    });
    const exit = finish(api);
    let ready = 0;
    for (let i = 0; i < 300 && ready !== 200; i++) {
      ready = await fetch(`http://127.0.0.1:${port}/ready`).then(
        (r) => r.status,
        () => 0,
      );
      if (ready !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(ready, 200, 'the API image becomes ready on the migrated and loaded database');
    const menu = await fetch(`http://127.0.0.1:${port}/api/products`).then(
      (r) => r.json() as Promise<{ items: unknown[] }>,
    );
    assert.ok(menu.items.length > 0, 'the menu holds the loaded products');
    api.kill('SIGTERM');
    const stopped = await exit;
    assert.equal(stopped.code, 0, stopped.output);
  });

  it('a stack trace points into the bundle, and at the TypeScript line with NODE_OPTIONS=--enable-source-maps', async () => {
    // A migration "file" that is a dangling link: reading it fails with an error the runner does
    // not expect, whose stack the program prints at LOG_LEVEL=debug.
    const dir = mkdtempSync(join(workRoot, 'migrations-'));
    symlinkSync(join(dir, 'nowhere'), join(dir, '0001_unreadable.sql'));
    const env = { DATABASE_URL: db.url, MIGRATIONS_DIR: dir, LOG_LEVEL: 'debug' };
    const plain = await finish(start(runtime['database-migration']!, env));
    assert.equal(plain.code, 1, plain.output);
    assert.match(
      plain.output,
      /at (async )?loadMigrations \(file:.*\/dist\/cli\.bundle\.js:\d+:\d+\)/,
    );
    const mapped = await finish(
      start(runtime['database-migration']!, { ...env, NODE_OPTIONS: '--enable-source-maps' }),
    );
    assert.equal(mapped.code, 1, mapped.output);
    assert.match(
      mapped.output,
      /at (async )?loadMigrations \(.*database-migration\/src\/migration-files\.ts:\d+:\d+\)/,
    );
  });
});
