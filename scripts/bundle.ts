/**
 * Bundles one program into a single ES module with its source map, and writes the entry its image
 * runs:
 *
 *   node ../scripts/bundle.ts src/cli.ts dist/cli.js      (from the program's workspace)
 *
 * writes dist/cli.bundle.js (+ .map) and dist/cli.js, a two-line entry that turns on Node's
 * compile cache in dist/compile-cache/ and imports the bundle. Run `node dist/cli.js --help` once
 * to fill the cache (the Dockerfiles do, as the user the image runs as: Node keeps one cache per
 * user id); where it cannot be written (a read-only root filesystem) Node reads it and writes
 * nothing.
 *
 * Why: a Node start of the per-file build spent about 60 % of its CPU resolving, reading and
 * compiling some 600 modules (fastify, OpenTelemetry, pino, pg, prom-client); one file has none of
 * that, and the cache spares most of compiling it. The workspaces' sources are bundled through the
 * "source" condition (platform included), their dependencies from node_modules. Left outside,
 * resolved from node_modules at run time (scripts/bundle-external.json): packages that read files
 * of their own or load late (PGlite's WASM, pino-pretty for a terminal, the /docs page) and pg's
 * optional native binding.
 *
 * Built-in modules are required, not imported: an ES import of node:http builds its ES module
 * facade, which reads every export, and one of them (WebSocket) loads Node's bundled undici,
 * about 40 ms of CPU at every start.
 *
 * The source map maps the workspaces' TypeScript only: `node --enable-source-maps` parses every
 * mapping of a map when it loads the file, and the dependencies' mappings (about 95 % of the
 * bundle) cost 70-180 ms of CPU per start. Where dependency code begins, the map marks the position
 * unmapped, so a frame in a dependency shows its place in the bundle (unminified, under a
 * `// node_modules/<package>/<file>` comment), never a wrong TypeScript line.
 *
 * Runs with Node's type stripping (Node >= 22.18): erasable TypeScript only.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { basename, dirname, relative } from 'node:path';
import { decode, encode, type SourceMapSegment } from '@jridgewell/sourcemap-codec';
import { build, type Plugin } from 'esbuild';

const [entry, outfile] = process.argv.slice(2);
if (!entry || !outfile) {
  process.stderr.write('usage: bundle ENTRY.ts OUT.js\n');
  process.exit(2);
}

// Also read by scripts/runtime-modules.ts, which copies these packages into the images.
const external = JSON.parse(
  readFileSync(new URL('bundle-external.json', import.meta.url), 'utf8'),
) as string[];

const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

const builtinsThroughRequire: Plugin = {
  name: 'builtins-through-require',
  setup(b) {
    b.onResolve({ filter: /^[a-z_:/]+$/ }, (args) => {
      if (!builtins.has(args.path) || args.kind === 'require-call') return undefined;
      return { path: args.path, namespace: 'builtin' };
    });
    b.onLoad({ filter: /.*/, namespace: 'builtin' }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(args.path)});`,
      loader: 'js',
    }));
  },
};

interface SourceMapV3 {
  version: 3;
  sources: string[];
  names: string[];
  mappings: string;
  file?: string;
}

/** Keeps the mappings of `own` sources; a run of other code starts with an unmapped segment. */
function trimSourceMap(map: SourceMapV3, own: (source: string) => boolean): SourceMapV3 {
  const newIndex: (number | undefined)[] = [];
  const sources: string[] = [];
  map.sources.forEach((s, i) => {
    if (!own(s)) return;
    newIndex[i] = sources.length;
    sources.push(s);
  });
  const names: string[] = [];
  const nameIndex = new Map<number, number>();
  let inOwn = false;
  const lines = decode(map.mappings).map((segments) => {
    const out: SourceMapSegment[] = [];
    for (const seg of segments) {
      if (seg.length === 1) continue;
      const s = newIndex[seg[1]];
      if (s === undefined) {
        if (inOwn) out.push([seg[0]]);
        inOwn = false;
        continue;
      }
      inOwn = true;
      if (seg.length === 4) {
        out.push([seg[0], s, seg[2], seg[3]]);
        continue;
      }
      let n = nameIndex.get(seg[4]);
      if (n === undefined) {
        n = names.length;
        nameIndex.set(seg[4], n);
        names.push(map.names[seg[4]]!);
      }
      out.push([seg[0], s, seg[2], seg[3], n]);
    }
    return out;
  });
  return { ...map, sources, names, mappings: encode(lines) };
}

const own = (source: string) => !source.includes('node_modules/') && !source.startsWith('builtin:');

if (!outfile.endsWith('.js')) {
  process.stderr.write(`bundle: the output must be a .js file, got ${outfile}\n`);
  process.exit(2);
}
const bundleFile = outfile.replace(/\.js$/, '.bundle.js');

/** The program's entry: the compile cache first, so that it covers the bundle. */
const entrySource = `#!/usr/bin/env node
// Generated by scripts/bundle.ts: the program is ./${basename(bundleFile)}. Node's compile cache (V8's
// compiled code, kept next to this file, keys relative to it) spares compiling it at every start.
import module from 'node:module';
import { fileURLToPath } from 'node:url';

const directory = fileURLToPath(new URL('compile-cache/', import.meta.url));
// Node 24.12 takes options (portable: the build stage's cache serves the image at another path);
// older Node versions a directory, and Node 20 has no compile cache.
const [major, minor] = process.versions.node.split('.').map(Number);
const options = major > 24 || (major === 24 && minor >= 12);
module.enableCompileCache?.(options ? { directory, portable: true } : directory);
await import('./${basename(bundleFile)}');
`;

const started = performance.now();
const result = await build({
  entryPoints: [entry],
  outfile: bundleFile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // ES module builds first where a package has both: esbuild drops what is never imported from
  // them (the CommonJS builds of OpenTelemetry pull all of semantic-conventions and sdk-metrics),
  // and calls into them are direct instead of through a getter per imported name. mainFields
  // picks them where a package has no "exports"; the "module" condition where it has (custom
  // conditions turn esbuild's default ones off; @opentelemetry/api's "exports" name its ES module
  // build only under "module").
  conditions: ['source', 'module'],
  mainFields: ['module', 'main'],
  external,
  plugins: [builtinsThroughRequire],
  // CommonJS dependencies call require(); an ES module has none of its own.
  banner: {
    js: "import { createRequire as __bundleCreateRequire } from 'node:module';\nconst require = __bundleCreateRequire(import.meta.url);",
  },
  // Unminified, names kept: a frame read without the source map still names its function.
  minify: false,
  sourcemap: 'linked',
  sourcesContent: false,
  metafile: true,
  write: false,
  logLevel: 'warning',
});
let bytes = 0;
mkdirSync(dirname(outfile), { recursive: true });
for (const file of result.outputFiles) {
  if (file.path.endsWith('.map')) {
    const map = trimSourceMap(JSON.parse(file.text) as SourceMapV3, own);
    writeFileSync(file.path, JSON.stringify(map));
  } else {
    writeFileSync(file.path, file.contents);
    if (basename(file.path) === basename(bundleFile)) bytes = file.contents.byteLength;
  }
}
writeFileSync(outfile, entrySource, { mode: 0o755 });
const inputs = Object.keys(result.metafile.inputs).length;
process.stdout.write(
  `bundled ${entry} (${inputs} modules) into ${relative(process.cwd(), bundleFile)}: ${Math.round(bytes / 1024)} KiB in ${Math.round(performance.now() - started)} ms\n`,
);
