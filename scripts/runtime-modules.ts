/**
 * node scripts/runtime-modules.ts APP_DIR OUT_DIR: copies the packages the bundle leaves outside
 * (scripts/bundle-external.json), with what they depend on as Node resolves it, into
 * OUT_DIR/node_modules: an image's runtime stage needs only these, about half the install's bytes.
 * Erasable TypeScript only (Node's type stripping runs it).
 */
import { cpSync, existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

const [appArg, outArg] = process.argv.slice(2);
if (!appArg || !outArg) {
  process.stderr.write('usage: runtime-modules APP_DIR OUT_DIR\n');
  process.exit(2);
}
const appDir = resolve(appArg);
const outDir = resolve(outArg);

const patterns = JSON.parse(
  readFileSync(new URL('bundle-external.json', import.meta.url), 'utf8'),
) as string[];
/** A package's name from an import path: '@scope/name/sub' -> '@scope/name'. */
const packageName = (path: string) =>
  path
    .split('/')
    .slice(0, path.startsWith('@') ? 2 : 1)
    .join('/');

interface Manifest {
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

/** Where Node finds `name` from a package at `from`: its own node_modules, then each parent's. */
function resolvePackage(name: string, from: string): string | undefined {
  let dir = from;
  for (;;) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dir === appDir || dirname(dir) === dir) return undefined;
    dir = dirname(dir);
    // Step out of a node_modules folder (and a scope folder) to the package that holds it.
    while (dir.endsWith(`${sep}node_modules`) || dir.split(sep).at(-1)?.startsWith('@')) {
      dir = dirname(dir);
    }
  }
}

const copied = new Set<string>();
const queue = [...new Set(patterns.map(packageName))]
  .map((name) => resolvePackage(name, appDir))
  .filter((dir) => dir !== undefined);
for (let dir = queue.shift(); dir !== undefined; dir = queue.shift()) {
  if (copied.has(dir)) continue;
  copied.add(dir);
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest;
  for (const name of Object.keys(manifest.dependencies ?? {})) {
    const found = resolvePackage(name, dir);
    if (!found) throw new Error(`${relative(appDir, dir)} needs ${name}, which is not installed`);
    queue.push(found);
  }
  for (const name of Object.keys(manifest.optionalDependencies ?? {})) {
    const found = resolvePackage(name, dir);
    if (found) queue.push(found);
  }
}

for (const dir of copied) {
  cpSync(dir, join(outDir, relative(appDir, dir)), {
    recursive: true,
    // Nested node_modules come along only as dependencies found above.
    filter: (source) =>
      source === dir || !relative(dir, source).split(sep).includes('node_modules'),
  });
}
process.stdout.write(`runtime-modules: ${copied.size} packages into ${outDir}\n`);
