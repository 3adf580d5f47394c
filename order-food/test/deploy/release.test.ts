/**
 * One version names a release: every package.json and the lock file, the chart's version and
 * appVersion (the images' default tag), the images' and compose's default tag, the programs'
 * SERVICE_VERSION default, and a CHANGELOG.md entry in Keep a Changelog's form. And what
 * docs/DEPLOYMENT.md says lets two releases share a schema: no hook runs at a rollback, and the
 * API names its columns.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { releaseVersion } from '@order-food/platform/config';
import { repoRoot } from '@order-food/platform/testing/run-program';
import { parse } from 'yaml';
import { chartDir, render, requireRenderer } from './render.js';

const read = (path: string) => readFileSync(join(repoRoot, path), 'utf8');
const root = JSON.parse(read('package.json'));
const version: string = root.version;
const workspaces: string[] = root.workspaces;
const programs = ['database-migration', 'database-load', 'order-food'];

describe('the release version', () => {
  it('is semantic, and every package and the lock file name it', () => {
    assert.match(version, /^\d+\.\d+\.\d+$/);
    const lock = JSON.parse(read('package-lock.json'));
    assert.equal(lock.version, version, 'package-lock.json');
    assert.equal(lock.packages[''].version, version, 'package-lock.json packages[""]');
    for (const workspace of workspaces) {
      const pkg = JSON.parse(read(`${workspace}/package.json`));
      assert.equal(pkg.version, version, `${workspace}/package.json`);
      assert.equal(lock.packages[workspace].version, version, `package-lock.json ${workspace}`);
      // A workspace needs the platform of its own release (1.1.0's API uses 1.1.0's model).
      for (const deps of [pkg.dependencies ?? {}, lock.packages[workspace].dependencies ?? {}])
        if (deps['@order-food/platform'] !== undefined)
          assert.equal(deps['@order-food/platform'], `^${version}`, workspace);
    }
  });

  it("is the chart's version and appVersion, the images' and compose's default tag and SERVICE_VERSION's default", () => {
    const chart = parse(read('order-food/helm/Chart.yaml'));
    assert.equal(chart.version, version);
    assert.equal(chart.appVersion, version);
    for (const program of programs)
      assert.match(read(`${program}/Dockerfile`), new RegExp(`^ARG VERSION=${version}$`, 'm'));
    const defaults = [...read('docker-compose.yml').matchAll(/\$\{ORDER_FOOD_VERSION:-([^}]*)\}/g)];
    assert.ok(defaults.length >= programs.length);
    for (const m of defaults) assert.equal(m[1], version);
    assert.equal(releaseVersion, version);
  });
});

describe('CHANGELOG.md', () => {
  const changelog = read('CHANGELOG.md');
  const entries = [...changelog.matchAll(/^## \[([^\]]+)\](?: - (\S+))?$/gm)].map((m) => ({
    name: m[1]!,
    date: m[2],
  }));

  it('keeps an Unreleased section, then the releases newest first, each dated', () => {
    assert.match(changelog, /^# Changelog\n/);
    assert.match(changelog, /Keep a Changelog/);
    assert.equal(entries[0]?.name, 'Unreleased');
    const releases = entries.slice(1);
    assert.ok(releases.length >= 2);
    const key = (v: string) => v.split('.').map(Number);
    for (let i = 0; i < releases.length; i++) {
      const { name, date } = releases[i]!;
      assert.match(name, /^\d+\.\d+\.\d+$/);
      assert.match(date ?? '', /^\d{4}-\d{2}-\d{2}$/, `${name} has a date`);
      const next = releases[i + 1];
      if (next) {
        const [a, b] = [key(name), key(next.name)];
        const newer = a[0]! - b[0]! || a[1]! - b[1]! || a[2]! - b[2]!;
        assert.ok(newer > 0, `${name} comes before ${next.name}`);
        assert.ok(date! >= next.date!, `${name} is not dated before ${next.name}`);
      }
    }
  });

  it('has an entry for this version, with sections of the Keep a Changelog kinds', () => {
    assert.equal(entries[1]?.name, version, 'the newest release is the package version');
    const kinds = ['Added', 'Changed', 'Deprecated', 'Removed', 'Fixed', 'Security'];
    const sections = [...changelog.matchAll(/^### (.+)$/gm)].map((m) => m[1]!);
    assert.ok(sections.length > 0);
    for (const s of sections) assert.ok(kinds.includes(s), `### ${s} is a Keep a Changelog kind`);
  });
});

describe('two releases on one schema (docs/DEPLOYMENT.md)', () => {
  it("nothing runs at a rollback: the chart's only hook is helm test", (t) => {
    const templates = readdirSync(join(chartDir, 'templates'), {
      recursive: true,
      encoding: 'utf8',
    })
      .filter((f) => /\.(yaml|tpl)$/.test(f))
      .map((f) => readFileSync(join(chartDir, 'templates', f), 'utf8'));
    const hooks = templates.flatMap((text) =>
      [...text.matchAll(/helm\.sh\/hook:\s*(\S+)/g)].map((m) => m[1]!),
    );
    assert.deepEqual(hooks, ['test']);
    if (!requireRenderer(t)) return;
    const objects = render(['--set', 'postgresql.enabled=true', '--set', 'jaeger.enabled=true']);
    const rendered = objects.flatMap((o) => {
      const hook = o.metadata.annotations?.['helm.sh/hook'];
      return hook === undefined ? [] : [hook];
    });
    assert.deepEqual(rendered, ['test']);
  });

  it('the API names the columns of its statements: no SELECT *, RETURNING * or INSERT without a column list', () => {
    const dir = join(repoRoot, 'order-food/src');
    const sources = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) =>
      f.endsWith('.ts'),
    );
    assert.ok(sources.length > 10);
    const unnamed = /\bSELECT\s+\*|\bRETURNING\s+\*|\bINSERT\s+INTO\s+\w+\s+(SELECT|VALUES)\b/i;
    for (const file of sources)
      assert.doesNotMatch(readFileSync(join(dir, file), 'utf8'), unnamed, file);
  });
});
