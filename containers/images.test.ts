/**
 * The three images as built by scripts/containers/prepare.sh (podman, from the Dockerfiles): what
 * is inside (read from the mounted image), how they run (read-only root filesystem, no
 * capabilities, uid 10001, node as PID 1, the compile cache accepted), each program's usage and
 * exit codes, and that the build's CA bundle and npmrc reached none of them.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { chmod, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createTestDatabase, type TestDatabase } from '@order-food/platform/testing/test-database';
import { freePort, waitForExit } from './lib/pod.js';
import {
  baseImage,
  imageSizeMb,
  images,
  type ProgramName,
  podman,
  podmanOk,
  programNames,
  skipWithoutImages,
} from './lib/podman.js';

const skip = skipWithoutImages();

/** How the chart runs every container, as podman flags. */
const restricted = [
  '--network',
  'host',
  '--read-only',
  '--read-only-tmpfs=false',
  '--tmpfs',
  '/tmp',
  '--cap-drop',
  'ALL',
  '--security-opt',
  'no-new-privileges',
];

const entries: Record<ProgramName, string> = {
  'database-migration': 'database-migration/dist/cli.js',
  'database-load': 'database-load/dist/cli.js',
  'order-food': 'order-food/dist/server.js',
};

/** Runs an image to completion with the chart's restrictions; exit code and both streams. */
async function run(image: string, args: string[], flags: string[] = []) {
  const result = await podman(['run', '--rm', ...restricted, ...flags, image, ...args]);
  return { code: result.code, stdout: result.stdout, output: result.stdout + result.stderr };
}

/** Every file under a directory (not following symbolic links). */
function* files(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* files(path);
    else if (entry.isFile()) yield path;
  }
}

const mounted: Partial<Record<ProgramName, string>> = {};
let db: TestDatabase;

describe('the images built with podman', { skip, concurrency: false }, () => {
  before(async () => {
    for (const name of programNames)
      mounted[name] = (await podmanOk(['image', 'mount', images[name]])).trim();
    db = await createTestDatabase('containers_images');
  });
  after(async () => {
    for (const name of programNames) await podman(['image', 'unmount', images[name]]);
    await db?.drop();
  });

  it('sizes', (t) => {
    for (const image of [baseImage, ...Object.values(images)])
      t.diagnostic(`${image}: ${imageSizeMb(image)} MB`);
  });

  for (const name of programNames) {
    it(`${name}: the bundle, its compile cache and only the packages it leaves outside`, async () => {
      const root = mounted[name]!;
      const app = join(root, 'app');
      const entry = join(app, entries[name]);
      assert.ok(existsSync(entry), 'the entry point');
      assert.ok(existsSync(entry.replace(/\.js$/, '.bundle.js')), 'the program is one bundle');
      const cache = join(app, name, 'dist/compile-cache');
      assert.ok(readdirSync(cache).length > 0, 'the compile cache was filled at build time');
      for (const absent of [
        'platform/dist',
        'platform/src',
        `${name}/src`,
        `${name}/test`,
        'package-lock.json',
      ])
        assert.ok(!existsSync(join(app, absent)), `no ${absent}`);
      // Dev dependencies, and what the bundle holds already.
      for (const absent of [
        'typescript',
        'tsx',
        '@biomejs/biome',
        'node',
        'kubernetes-models',
        'fastify',
        'pg',
        'pino',
        '@opentelemetry',
      ])
        assert.ok(!existsSync(join(app, 'node_modules', absent)), `no node_modules/${absent}`);
      assert.ok(existsSync(join(app, 'node_modules/@electric-sql/pglite/package.json')));
      assert.equal(
        existsSync(join(app, 'node_modules/@scalar/fastify-api-reference')),
        name === 'order-food',
        'the /docs page only in the API',
      );
      if (name === 'database-migration')
        assert.ok(existsSync(join(app, 'database-migration/migrations/0001_initial_schema.sql')));
      if (name === 'database-load') assert.ok(readdirSync(join(app, 'database-load/data')).length);

      const [config] = JSON.parse(await podmanOk(['image', 'inspect', images[name]])) as {
        Config: { User: string; Entrypoint: string[]; WorkingDir: string };
      }[];
      assert.equal(config!.Config.User, '10001:10001');
      assert.equal(config!.Config.WorkingDir, '/app');
      assert.equal(config!.Config.Entrypoint[0], 'node', 'exec form: node is PID 1');
      assert.equal(config!.Config.Entrypoint.at(-1), entries[name]);
    });

    it(`${name}: nothing of the build's CA bundle or npmrc inside`, async () => {
      const root = mounted[name]!;
      const hostCa = '/etc/ssl/certs/ca-certificates.crt';
      const caDigest = existsSync(hostCa)
        ? createHash('sha256').update(readFileSync(hostCa)).digest('hex')
        : undefined;
      const caSize = caDigest ? statSync(hostCa).size : -1;
      for (const file of files(root)) {
        const path = `/${relative(root, file)}`;
        assert.ok(!/(^|\/)\.?npmrc$/.test(path), `an npmrc in the image: ${path}`);
        assert.ok(!path.startsWith('/run/'), `a file left in /run: ${path}`);
        const size = statSync(file).size;
        if (size === caSize)
          assert.notEqual(
            createHash('sha256').update(readFileSync(file)).digest('hex'),
            caDigest,
            `the host's CA bundle: ${path}`,
          );
        if (size < 1_000_000 && !path.startsWith('/usr/local/lib/node_modules/npm/'))
          assert.ok(!readFileSync(file).includes('cafile='), `an npm cafile setting: ${path}`);
      }
      const history = await podmanOk([
        'history',
        '--no-trunc',
        '--format',
        '{{.CreatedBy}}',
        images[name],
      ]);
      assert.doesNotMatch(history, /build-ca|npmrc|cafile/, 'the image history');
    });

    it(`${name}: --help, bad usage and failure exit codes`, async () => {
      const help = await run(images[name], ['--help']);
      assert.equal(help.code, 0, help.output);
      assert.match(help.output, new RegExp(`usage: ${name}`));
      if (name === 'order-food') {
        // With a secret, as the image (ENVIRONMENT=production) requires one: the bad PORT is what fails.
        const bad = await run(
          images[name],
          [],
          ['-e', 'PORT=eighty', '-e', `JWT_SECRET=${'x'.repeat(40)}`],
        );
        assert.equal(bad.code, 2, bad.output);
        assert.match(bad.output, /PORT/);
      } else {
        const bad = await run(images[name], ['no-such-command']);
        assert.equal(bad.code, 2, bad.output);
        assert.match(bad.output, /no-such-command/);
      }
      const url = new URL(db.url);
      url.username = 'no_such_role';
      const failed = await run(images[name], name === 'order-food' ? [] : [], [
        '-e',
        `DATABASE_URL=${url}`,
        '-e',
        'OTEL_SDK_DISABLED=true',
        '-e',
        `JWT_SECRET=${'x'.repeat(40)}`,
      ]);
      assert.equal(failed.code, 1, failed.output);
      assert.match(failed.output, new RegExp(`^${name}: error: .*no_such_role`, 'm'));
    });

    it(`${name}: runs as 10001 with no capabilities, node as PID 1, only /tmp writable, the compile cache accepted`, async () => {
      const probe = `
        const fs = require('node:fs');
        const status = fs.readFileSync('/proc/self/status', 'utf8');
        const writable = (p) => { try { fs.writeFileSync(p, ''); return true; } catch { return false; } };
        console.log(JSON.stringify({
          pid: process.pid, uid: process.getuid(), gid: process.getgid(),
          capEff: /CapEff:\\s+(\\w+)/.exec(status)[1], capBnd: /CapBnd:\\s+(\\w+)/.exec(status)[1],
          tmp: writable('/tmp/probe'), app: writable('/app/probe'), root: writable('/probe'),
          home: writable(process.env.HOME + '/probe'),
        }));`;
      const result = await run(images[name], ['-e', probe], ['--entrypoint', 'node']);
      assert.equal(result.code, 0, result.output);
      const seen = JSON.parse(result.stdout);
      assert.deepEqual(seen, {
        pid: 1,
        uid: 10001,
        gid: 10001,
        capEff: '0000000000000000',
        capBnd: '0000000000000000',
        tmp: true,
        app: false,
        root: false,
        home: true,
      });

      const cache = await run(images[name], ['--help'], ['-e', 'NODE_DEBUG_NATIVE=COMPILE_CACHE']);
      assert.equal(cache.code, 0, cache.output);
      const bundle = `file:///app/${entries[name].replace(/\.js$/, '.bundle.js')}`;
      assert.ok(
        cache.output.includes(`V8 code cache for ESM ${bundle} was accepted`),
        `the compile cache is used at run time:\n${cache.output}`,
      );
    });
  }

  it('the pod sequence with plain podman run: migrate, status, load, then the API serves and drains', async () => {
    const env = ['-e', `DATABASE_URL=${db.url}`, '-e', 'OTEL_SDK_DISABLED=true'];
    const migrate = await run(images['database-migration'], [], env);
    assert.equal(migrate.code, 0, migrate.output);
    const status = await run(images['database-migration'], ['status', '--json'], env);
    assert.equal(status.code, 0, status.output);
    const migrations = JSON.parse(status.stdout) as { state: string }[];
    assert.ok(migrations.length >= 3 && migrations.every((m) => m.state === 'applied'));
    const load = await run(images['database-load'], [], env);
    assert.equal(load.code, 0, load.output);

    const port = await freePort();
    const name = `order-food-images-${process.pid}`;
    await podmanOk([
      'run',
      '--detach',
      '--name',
      name,
      ...restricted,
      ...env,
      '-e',
      `PORT=${port}`,
      '-e',
      `JWT_SECRET=${'j'.repeat(40)}`,
      '-e',
      'SHUTDOWN_DRAIN_DELAY=0',
      images['order-food'],
    ]);
    try {
      let ready = 0;
      for (let i = 0; i < 600 && ready !== 200; i++) {
        ready = await fetch(`http://127.0.0.1:${port}/ready`).then(
          (r) => r.status,
          () => 0,
        );
        if (ready !== 200) await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(ready, 200);
      const menu = (await fetch(`http://127.0.0.1:${port}/api/products`).then((r) => r.json())) as {
        items: unknown[];
      };
      assert.ok(menu.items.length > 0, 'the loaded menu');
      const docs = await fetch(`http://127.0.0.1:${port}/docs/`);
      assert.equal(docs.status, 200, 'the /docs page (a package outside the bundle)');
      await podmanOk(['stop', '--time', '30', name]);
      const state = await waitForExit(name);
      assert.equal(state.exitCode, 0, (await podman(['logs', name])).stderr);
    } finally {
      await podman(['rm', '--force', '--time', '0', name]);
    }
  });

  it('a stack trace points into the bundle, and at the TypeScript line with NODE_OPTIONS=--enable-source-maps', async () => {
    // A migration "file" that is a dangling link: reading it fails with an error the runner does
    // not expect, whose stack the program prints at LOG_LEVEL=debug.
    const dir = await mkdtemp(join(tmpdir(), 'order-food-migrations-'));
    try {
      // Readable by the image's user (10001), as a mounted ConfigMap would be.
      await chmod(dir, 0o755);
      await symlink('nowhere', join(dir, '0001_unreadable.sql'));
      const flags = [
        '--volume',
        `${dir}:/migrations:ro`,
        '-e',
        `DATABASE_URL=${db.url}`,
        '-e',
        'MIGRATIONS_DIR=/migrations',
        '-e',
        'LOG_LEVEL=debug',
        '-e',
        'OTEL_SDK_DISABLED=true',
      ];
      const plain = await run(images['database-migration'], [], flags);
      assert.equal(plain.code, 1, plain.output);
      assert.match(
        plain.output,
        /at (async )?loadMigrations \(file:\/\/\/app\/database-migration\/dist\/cli\.bundle\.js:\d+:\d+\)/,
      );
      const mapped = await run(
        images['database-migration'],
        [],
        [...flags, '-e', 'NODE_OPTIONS=--enable-source-maps'],
      );
      assert.equal(mapped.code, 1, mapped.output);
      assert.match(
        mapped.output,
        /at (async )?loadMigrations \(.*database-migration\/src\/migration-files\.ts:\d+:\d+\)/,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
