/**
 * The three Dockerfiles, checked statically (no Docker engine here): parsed with dockerfile-ast,
 * a pinned Node 24 slim base, a multi-stage build whose runtime stage holds compiled code and the
 * production packages the bundle leaves outside only, a numeric non-root user, exec-form node entry points,
 * no ADD of URLs, no secrets, and every COPY source present and not excluded by .dockerignore.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join, matchesGlob } from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from '@order-food/platform/testing/run-program';
import {
  type Copy,
  DockerfileParser,
  type Instruction,
  type JSONInstruction,
} from 'dockerfile-ast';

interface ImageSpec {
  workspace: string;
  entry: string;
  source: string;
  /** What the runtime stage must copy from the build context besides compiled code. */
  assets: string[];
}

const images: ImageSpec[] = [
  {
    workspace: 'database-migration',
    entry: 'database-migration/dist/cli.js',
    source: 'database-migration/src/cli.ts',
    assets: ['database-migration/migrations'],
  },
  {
    workspace: 'database-load',
    entry: 'database-load/dist/cli.js',
    source: 'database-load/src/cli.ts',
    assets: ['database-load/data'],
  },
  {
    workspace: 'order-food',
    entry: 'order-food/dist/server.js',
    source: 'order-food/src/server.ts',
    assets: [],
  },
];

interface Stage {
  name: string | null;
  image: string;
  instructions: Instruction[];
}

function stages(content: string): Stage[] {
  const out: Stage[] = [];
  for (const instruction of DockerfileParser.parse(content).getInstructions()) {
    if (instruction.getKeyword() === 'FROM') {
      const args = instruction.getArguments().map((a) => a.getValue());
      const as = args.findIndex((a) => a.toUpperCase() === 'AS');
      out.push({
        name: as >= 0 ? args[as + 1]! : null,
        image: args.filter((a) => !a.startsWith('--'))[0]!,
        instructions: [],
      });
    } else {
      assert.ok(out.length > 0, `${instruction.getKeyword()} before the first FROM`);
      out.at(-1)!.instructions.push(instruction);
    }
  }
  return out;
}

const of = (stage: Stage, keyword: string) =>
  stage.instructions.filter((i) => i.getKeyword() === keyword);
const text = (i: Instruction) =>
  i
    .getArguments()
    .map((a) => a.getValue())
    .join(' ');

function copySources(copy: Copy): string[] {
  const args = copy
    .getArguments()
    .map((a) => a.getValue())
    .filter((a) => !a.startsWith('--'));
  return args.slice(0, -1);
}

function dockerignore(): string[] {
  return readFileSync(join(repoRoot, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
}

/** Whether .dockerignore keeps PATH (or anything under it) out of the build context. */
function ignored(path: string, patterns: string[]): boolean {
  let excluded = false;
  const parts = path.split('/');
  for (const raw of patterns) {
    const negate = raw.startsWith('!');
    const pattern = (negate ? raw.slice(1) : raw).replace(/^\/+/, '').replace(/\/+$/, '');
    for (let i = 1; i <= parts.length; i++) {
      if (matchesGlob(parts.slice(0, i).join('/'), pattern)) excluded = !negate;
    }
  }
  return excluded;
}

const lockedNodeVersion: string = JSON.parse(
  readFileSync(join(repoRoot, 'package-lock.json'), 'utf8'),
).packages['node_modules/node'].version;

describe('Dockerfiles', () => {
  for (const spec of images) {
    const file = join(repoRoot, spec.workspace, 'Dockerfile');
    const content = readFileSync(file, 'utf8');
    const all = stages(content);
    const runtime = all.at(-1)!;

    describe(`${spec.workspace}/Dockerfile`, () => {
      it('is multi-stage on a pinned Node 24 slim base, the Node the tests run on', () => {
        assert.ok(all.length >= 2, 'a build stage and a runtime stage');
        const names = new Set<string>();
        for (const stage of all) {
          if (names.has(stage.image)) continue;
          assert.match(
            stage.image,
            /^node:(\d+)\.(\d+)\.(\d+)-bookworm-slim$/,
            `base ${stage.image} is pinned`,
          );
          assert.equal(
            stage.image,
            `node:${lockedNodeVersion}-bookworm-slim`,
            'the node devDependency version',
          );
          if (stage.name) names.add(stage.name);
        }
        assert.equal(lockedNodeVersion.split('.')[0], '24');
      });

      it('installs and builds in a build stage; the runtime stage gets production dependencies only', () => {
        const build = all[0]!;
        const runs = of(build, 'RUN').map(text).join('\n');
        assert.match(runs, /npm ci\b/);
        assert.match(runs, /npm run build --workspace platform/);
        assert.match(runs, new RegExp(`npm run build --workspace ${spec.workspace}\\b`));
        const prodInstall = all
          .flatMap((s) => of(s, 'RUN').map(text))
          .find((r) => r.includes('--omit=dev'));
        assert.ok(prodInstall, 'a production-only npm ci');
        assert.match(prodInstall, new RegExp(`--workspace ${spec.workspace}\\b`));
        assert.match(prodInstall, /--include-workspace-root=false/);
        const pick = all
          .flatMap((s) => of(s, 'RUN').map(text))
          .find((r) => r.includes('scripts/runtime-modules.ts'));
        assert.ok(pick, 'the runtime gets only the packages the bundle leaves outside');
        assert.equal(
          of(runtime, 'RUN').length,
          0,
          'the runtime stage runs nothing (no npm, no cache)',
        );
        const runtimeCopies = (of(runtime, 'COPY') as Copy[]).map((c) => copySources(c).join(' '));
        // platform is inside the program's bundle: the runtime needs no build of its own.
        for (const needed of [`/src/${spec.workspace}/dist`, ...spec.assets]) {
          assert.ok(
            runtimeCopies.some((c) => c.includes(needed)),
            `runtime copies ${needed}`,
          );
        }
        for (const copy of of(runtime, 'COPY') as Copy[]) {
          const sources = copySources(copy);
          if (copy.getFromFlag()) {
            for (const s of sources)
              assert.match(
                s,
                /^\/runtime\/?$|\/dist$/,
                `runtime copies the runtime modules and dist only: ${s}`,
              );
          } else {
            assert.deepEqual(
              sources,
              spec.assets.filter((a) => sources.includes(a)),
              `runtime copies no sources: ${sources}`,
            );
          }
        }
      });

      it('runs as a numeric non-root user with an exec-form node entry point', () => {
        const users = of(runtime, 'USER');
        assert.ok(users.length > 0, 'USER in the runtime stage');
        const user = text(users.at(-1)!);
        const match = /^(\d+)(?::(\d+))?$/.exec(user);
        assert.ok(match, `USER ${user} is numeric`);
        assert.notEqual(Number(match[1]), 0, 'not root');
        const entrypoints = of(runtime, 'ENTRYPOINT') as JSONInstruction[];
        assert.equal(entrypoints.length, 1);
        const entry = entrypoints[0]!.getJSONStrings().map((s) => s.getJSONValue());
        assert.ok(entry.length > 0, 'ENTRYPOINT is in exec (JSON) form');
        assert.equal(entry[0], 'node', 'node is PID 1 and receives SIGTERM');
        assert.equal(entry.at(-1), spec.entry);
        assert.ok(
          !entry.includes('--enable-source-maps'),
          'source maps are opt-in (NODE_OPTIONS): parsing them costs every start',
        );
        assert.ok(
          existsSync(join(repoRoot, spec.source)),
          `${spec.entry} is built from ${spec.source}`,
        );
        for (const cmd of of(runtime, 'CMD') as JSONInstruction[]) {
          assert.ok(cmd.getJSONStrings().length > 0, 'CMD is in exec (JSON) form');
        }
        const workdir = text(of(runtime, 'WORKDIR').at(-1)!);
        assert.equal(workdir, '/app');
      });

      it('adds nothing from URLs and bakes no secrets in', () => {
        for (const stage of all) {
          for (const add of of(stage, 'ADD'))
            assert.doesNotMatch(text(add), /https?:\/\/|git@/, 'ADD of a URL');
          for (const i of [...of(stage, 'ENV'), ...of(stage, 'ARG')]) {
            assert.doesNotMatch(
              text(i),
              /SECRET|PASSWORD|TOKEN|DATABASE_URL/i,
              `${i.getKeyword()} ${text(i)}`,
            );
          }
        }
      });

      it('copies only sources that exist, are in the build context, and stages defined before', () => {
        const patterns = dockerignore();
        const seen: string[] = [];
        for (const stage of all) {
          for (const copy of of(stage, 'COPY') as Copy[]) {
            const from = copy.getFromFlag()?.getValue();
            if (from) {
              assert.ok(seen.includes(from), `COPY --from=${from} names an earlier stage`);
              continue;
            }
            for (const source of copySources(copy)) {
              const path = source.replace(/\/$/, '');
              assert.ok(existsSync(join(repoRoot, path)), `COPY source ${source} exists`);
              assert.ok(
                !ignored(path, patterns),
                `COPY source ${source} is not excluded by .dockerignore`,
              );
            }
          }
          if (stage.name) seen.push(stage.name);
        }
      });
    });
  }

  it('.dockerignore keeps dependencies, builds, tests and local data out of the context', () => {
    const patterns = dockerignore();
    for (const path of [
      'node_modules',
      'order-food/node_modules',
      'platform/dist',
      'order-food/test',
      '.git',
      '.data',
      '.env',
    ]) {
      assert.ok(ignored(path, patterns), `${path} is ignored`);
    }
    for (const path of [
      'package.json',
      'package-lock.json',
      'platform/src/config.ts',
      'database-migration/migrations',
      'scripts/bundle.ts',
      'scripts/bundle-external.json',
      'scripts/runtime-modules.ts',
    ]) {
      assert.ok(!ignored(path, patterns), `${path} is sent`);
    }
  });
});
