/**
 * What the chart's database-load loads: the bundled menu alone by default (no demo users in
 * production), the demo set or an operator's own data set (a ConfigMap or a volume mounted at
 * /data-set) when asked, and the first admin; and what database-load makes of that environment.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runProgram } from '@order-food/platform/testing/run-program';
import { Ajv } from 'ajv';
import type { IContainer, IPodSpec, IVolume } from 'kubernetes-models/v1';
import { parse } from 'yaml';
import { type Manifest, unknownFields, validateWithModels } from './kubernetes-schema.js';
import { chartDir, find, render, skipWithoutRenderer } from './render.js';

type Deployment = Manifest & { spec: { template: { spec: IPodSpec } } };

function pod(args: string[]): { load: IContainer | undefined; volumes: IVolume[] } {
  const objects = render(args);
  const deployment = find(objects, 'Deployment', 'order-food') as Deployment;
  return {
    load: deployment.spec.template.spec.initContainers?.find((c) => c.name === 'database-load'),
    volumes: deployment.spec.template.spec.volumes ?? [],
  };
}

/** The data set and admin variables the chart gives database-load, by name. */
function dataEnv(c: IContainer | undefined): Record<string, string | undefined> {
  const names = ['DATA_SET', 'DATA_DIR', 'ADMIN_EMAIL', 'ADMIN_NAME'];
  return Object.fromEntries(
    (c?.env ?? []).filter((e) => names.includes(e.name)).map((e) => [e.name, e.value]),
  );
}

describe('the chart: what database-load loads', { skip: skipWithoutRenderer() }, () => {
  it('by default the bundled menu alone, whatever the environment is called; NOTES says how to add an admin', () => {
    for (const environment of ['production', 'staging']) {
      const { load, volumes } = pod(['--set', `environment=${environment}`]);
      assert.deepEqual(dataEnv(load), { DATA_SET: 'menu' });
      assert.deepEqual(
        volumes.map((v) => v.name),
        ['tmp'],
      );
    }
    // NOTES.txt (not rendered by the chart renderer): with the menu alone and no admin, it says how.
    const notes = readFileSync(join(chartDir, 'templates/NOTES.txt'), 'utf8');
    assert.match(notes, /eq \.Values\.databaseLoad\.dataSet\.bundled "menu"/);
    assert.match(notes, /--set databaseLoad\.admin\.email=/);
  });

  it('the demo set and the first admin when asked', () => {
    const { load } = pod([
      '--set',
      'databaseLoad.dataSet.bundled=demo',
      '--set',
      'databaseLoad.admin.email=ops@example.org',
      '--set',
      'databaseLoad.admin.name=Ops',
    ]);
    assert.deepEqual(dataEnv(load), {
      DATA_SET: 'demo',
      ADMIN_EMAIL: 'ops@example.org',
      ADMIN_NAME: 'Ops',
    });
  });

  it("an operator's ConfigMap or volume, mounted read-only at /data-set; the objects stay valid", async () => {
    const cases: Array<[string[], Partial<IVolume>]> = [
      [['--set', 'databaseLoad.dataSet.configMap=my-menu'], { configMap: { name: 'my-menu' } }],
      [
        ['--set', 'databaseLoad.dataSet.volume.persistentVolumeClaim.claimName=menu-data'],
        { persistentVolumeClaim: { claimName: 'menu-data' } },
      ],
    ];
    for (const [args, source] of cases) {
      const objects = render(args);
      for (const o of objects) {
        await validateWithModels(o);
        assert.deepEqual(unknownFields(o), [], `${o.kind}/${o.metadata.name}`);
      }
      const { load, volumes } = pod(args);
      assert.deepEqual(dataEnv(load), { DATA_DIR: '/data-set' });
      assert.deepEqual(
        load?.volumeMounts?.find((m) => m.name === 'data-set'),
        { name: 'data-set', mountPath: '/data-set', readOnly: true },
      );
      assert.deepEqual(
        volumes.find((v) => v.name === 'data-set'),
        { name: 'data-set', ...source },
      );
    }
  });

  it("an env entry of the init container replaces the chart's data set variables", () => {
    const dir = mkdtempSync(join(tmpdir(), 'chart-data-'));
    try {
      const file = join(dir, 'values.yaml');
      writeFileSync(
        file,
        'initContainers:\n  databaseLoad:\n    env:\n      - name: DATA_DIR\n        value: /srv/data\n',
      );
      const names = (pod(['-f', file]).load?.env ?? []).map((e) => e.name);
      assert.equal(names.filter((n) => n === 'DATA_DIR').length, 1);
      assert.ok(!names.includes('DATA_SET'), 'DATA_SET would contradict DATA_DIR');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('values.schema.json refuses a bundled set the program does not have', () => {
    const ajv = new Ajv({ strict: false });
    const schema = JSON.parse(readFileSync(join(chartDir, 'values.schema.json'), 'utf8'));
    const values = parse(readFileSync(join(chartDir, 'values.yaml'), 'utf8')) as {
      databaseLoad: { dataSet: { bundled: string } };
    };
    assert.ok(ajv.validate(schema, values), ajv.errorsText());
    values.databaseLoad.dataSet.bundled = 'everything';
    assert.equal(ajv.validate(schema, values), false);
    assert.match(ajv.errorsText(), /bundled/);
  });

  it("database-load, given the chart's default environment, validates the menu alone", async () => {
    const { load } = pod([]);
    // What decides the data set; the rest (the collector, the database) is the cluster's.
    const env = Object.fromEntries(
      (load?.env ?? [])
        .filter((e) => ['ENVIRONMENT', 'DATA_SET', 'DATA_DIR'].includes(e.name))
        .map((e) => [e.name, e.value]),
    );
    const r = await runProgram('database-load', ['validate'], { env, timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^valid: menu: \d+ products, 0 users, 0 orders/);
  });
});
