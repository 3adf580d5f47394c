/**
 * The chart's pod on podman (containers/lib/chart-pod.ts) with a migration that fails: the init
 * container exits 1 with one clear line, and the containers after it never start.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { sql } from '@order-food/platform/testing/test-database';
import {
  assertMigrationFails,
  chartPod,
  describeChartPods,
  freshDatabase,
  migrationFiles,
  pods,
} from './lib/chart-pod.js';
import { removePod } from './lib/pod.js';
import { images, podman, podmanOk } from './lib/podman.js';

describeChartPods(
  'the chart pod on podman: a failing migration exits 1 with one clear line, and the API never starts',
  () => {
    it('an unknown role', async () => {
      const db = await freshDatabase();
      const url = new URL(db.url);
      url.username = 'no_such_role';
      const pod = await chartPod(url.toString());
      await assertMigrationFails(pod, /role "no_such_role" does not exist/);
    });

    it('a database that does not exist', async () => {
      const url = new URL((await freshDatabase()).url);
      url.pathname = `/no_such_database_${process.pid}`;
      // A short wait: the line must name the database whether the program fails at once or after
      // its wait for the database.
      const pod = await chartPod(url.toString(), { set: ['database.waitTimeoutSeconds=5'] });
      await assertMigrationFails(pod, /database "no_such_database_\d+" does not exist/);
    });

    it('a broken migration file baked into an image built from the migration image', async () => {
      const db = await freshDatabase();
      const context = await mkdtemp(join(tmpdir(), 'order-food-broken-'));
      const image = 'localhost/database-migration-broken:test';
      const broken = `${String(migrationFiles.length + 1).padStart(4, '0')}_broken.sql`;
      try {
        await writeFile(
          join(context, broken),
          'CREATE TABLE broken (id integer REFERENCES no_such_table (id));\n',
        );
        await writeFile(
          join(context, 'Containerfile'),
          `FROM ${images['database-migration']}\nCOPY ${broken} database-migration/migrations/\n`,
        );
        await podmanOk(['build', '--network', 'host', '-t', image, context]);
        const pod = await chartPod(db.url, {
          set: [
            'initContainers.databaseMigration.image.repository=localhost/database-migration-broken',
            'initContainers.databaseMigration.image.tag=test',
          ],
        });
        const line = await assertMigrationFails(pod, new RegExp(broken.replace('.', '\\.')));
        assert.match(line, /no_such_table/);
        const applied = await sql<{ version: number; success: boolean }>(
          db,
          'SELECT version, success FROM schema_migrations ORDER BY version',
        );
        assert.deepEqual(
          applied.map((row) => [row.version, row.success]),
          [...migrationFiles.map((_, i) => [i + 1, true]), [migrationFiles.length + 1, false]],
          'the files before it applied, the broken one recorded as failed',
        );
      } finally {
        for (const pod of pods.splice(0)) await removePod(pod);
        await podman(['rmi', '--force', image]);
        await rm(context, { recursive: true, force: true });
      }
    });
  },
);
