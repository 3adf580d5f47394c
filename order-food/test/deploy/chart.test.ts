/**
 * The Helm chart: renders in every supported configuration, every object is valid for the
 * Kubernetes API (schema and unknown fields), the pod runs the seed's init containers in order,
 * every container meets Pod Security "restricted", secrets only via secretKeyRef, and the
 * operator commands of the docs find what they look for.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  apiPod,
  appVersion,
  envOf,
  monitoringFiles,
  type PodOwner,
  podSpecs,
  scenarios,
  validateAll,
} from './chart-fixtures.js';
import { type Manifest, unknownFields } from './kubernetes-schema.js';
import { chartDir, find, render, renderRaw, skipWithoutRenderer } from './render.js';

describe('helm chart order-food/helm', { skip: skipWithoutRenderer() }, () => {
  for (const [name, args] of Object.entries(scenarios)) {
    const needsMonitoringFiles = args.some((a) => a.includes('monitoring'));
    it(`renders with ${name} and every object validates against the Kubernetes API`, async () => {
      if (needsMonitoringFiles && !monitoringFiles) {
        // Until the dashboard and rules files exist the chart must refuse clearly, not render half.
        const result = renderRaw(args);
        assert.notEqual(result.status, 0);
        assert.match(
          result.stderr,
          /files\/(grafana-dashboard\.json|prometheus-rules\.yaml) is missing/,
        );
        return;
      }
      const objects = render(args);
      assert.ok(objects.length >= 4, 'renders the release objects');
      await validateAll(objects);
      for (const o of objects) {
        assert.equal(
          o.metadata.labels?.['app.kubernetes.io/part-of'],
          'order-food',
          `${o.kind}/${o.metadata.name} labels`,
        );
      }
    });
  }

  it('the strict field check catches a misspelt field', () => {
    const objects = render();
    const deployment = structuredClone(find(objects, 'Deployment', 'order-food')) as PodOwner;
    const container = deployment.spec.template!.spec.containers[0] as unknown as Record<
      string,
      unknown
    >;
    container.readinessprobe = { httpGet: { path: '/ready', port: 'http' } };
    (container.securityContext as Record<string, unknown>).readOnlyRootFileSystem = true;
    assert.deepEqual(unknownFields(deployment).sort(), [
      'Deployment/order-food.spec.template.spec.containers[0].readinessprobe',
      'Deployment/order-food.spec.template.spec.containers[0].securityContext.readOnlyRootFileSystem',
    ]);
  });

  it('counts the connections the release may hold against database.maxConnections', () => {
    const budget = (args: string[]) =>
      find(render(args), 'Deployment', 'order-food').metadata.annotations?.[
        'order-food/database-connections'
      ];
    // replicas x (pool + notification connection) + 2 per starting pod's init containers.
    assert.equal(budget([]), '13 of 100');
    assert.equal(budget(['--set', 'autoscaling.enabled=true']), '130 of 100');
    assert.equal(
      budget(['--set', 'autoscaling.enabled=true', '--set', 'database.poolSize=5']),
      '80 of 100',
    );
    // Through a pooler only the init containers' connections reach PostgreSQL directly.
    assert.equal(
      budget(['--set', 'autoscaling.enabled=true', '--set', 'database.pooled=true']),
      '20 of 100',
    );
    const notes = readFileSync(join(chartDir, 'templates/NOTES.txt'), 'utf8');
    assert.match(notes, /include "order-food\.connectionBudget"/);
    assert.match(notes, /PgBouncer in transaction mode/);
    assert.match(notes, /lower database\.poolSize/);
  });

  it('passes DATABASE_DIRECT_URL to the init containers only, from the Secret', () => {
    const envNames = (args: string[]) => {
      const objects = render(args);
      const pod = (find(objects, 'Deployment', 'order-food') as PodOwner).spec.template!.spec;
      const names = (c: { env?: Array<{ name: string }> }) =>
        (c.env ?? []).map((e) => e.name).filter((n) => n === 'DATABASE_DIRECT_URL');
      return {
        init: (pod.initContainers ?? []).map(names),
        api: names(pod.containers[0]!),
        secret: Object.keys(
          (find(objects, 'Secret', 'order-food') as Manifest & { data: object }).data,
        ),
      };
    };
    const none = envNames([]);
    assert.deepEqual(none.init, [[], []]);
    assert.ok(!none.secret.includes('DATABASE_DIRECT_URL'));
    const direct = envNames(['--set', 'database.directUrl=postgres://app@db:5432/app']);
    assert.deepEqual(direct.init, [['DATABASE_DIRECT_URL'], ['DATABASE_DIRECT_URL']]);
    assert.deepEqual(direct.api, []);
    assert.ok(direct.secret.includes('DATABASE_DIRECT_URL'));
  });

  it('runs database-migration, then database-load, then the API, with the seed names', () => {
    const cases: Array<[string[], string[]]> = [
      [[], ['database-migration', 'database-load']],
      [['--set', 'initContainers.databaseMigration.enabled=false'], ['database-load']],
      [['--set', 'initContainers.databaseLoad.enabled=false'], ['database-migration']],
      [
        [
          '--set',
          'initContainers.databaseMigration.enabled=false',
          '--set',
          'initContainers.databaseLoad.enabled=false',
        ],
        [],
      ],
    ];
    for (const [args, expected] of cases) {
      const pod = apiPod(render(args));
      assert.deepEqual(
        (pod.initContainers ?? []).map((c) => c.name),
        expected,
        args.join(' '),
      );
      assert.deepEqual(
        pod.containers.map((c) => c.name),
        ['order-food'],
      );
    }
    const pod = apiPod(render());
    assert.deepEqual(
      [...(pod.initContainers ?? []), ...pod.containers].map((c) => c.image),
      ['database-migration', 'database-load', 'order-food'].map((i) => `${i}:${appVersion}`),
    );
  });

  it('every container of every pod meets Pod Security "restricted" with a read-only root and /tmp', () => {
    for (const args of Object.values(scenarios)) {
      if (args.some((a) => a.includes('monitoring')) && !monitoringFiles) continue;
      for (const { owner, spec } of podSpecs(render(args))) {
        assert.equal(
          spec.automountServiceAccountToken,
          false,
          `${owner} automountServiceAccountToken`,
        );
        assert.equal(spec.securityContext?.runAsNonRoot, true, `${owner} runAsNonRoot`);
        assert.equal(spec.securityContext?.seccompProfile?.type, 'RuntimeDefault', owner);
        assert.ok((spec.securityContext?.runAsUser ?? 0) > 0, `${owner} numeric non-root user`);
        assert.ok(!spec.hostNetwork && !spec.hostPID && !spec.hostIPC, owner);
        const tmpVolume = spec.volumes?.find((v) => v.name === 'tmp');
        assert.ok(tmpVolume?.emptyDir, `${owner} has an emptyDir named tmp`);
        for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
          const where = `${owner} container ${c.name}`;
          const sc = c.securityContext;
          assert.equal(sc?.allowPrivilegeEscalation, false, `${where} allowPrivilegeEscalation`);
          assert.deepEqual(sc?.capabilities?.drop, ['ALL'], `${where} drops ALL`);
          assert.equal(sc?.capabilities?.add, undefined, `${where} adds no capability`);
          assert.equal(sc?.runAsNonRoot, true, `${where} runAsNonRoot`);
          assert.equal(sc?.seccompProfile?.type, 'RuntimeDefault', `${where} seccomp`);
          assert.equal(sc?.readOnlyRootFilesystem, true, `${where} read-only root`);
          assert.notEqual(sc?.privileged, true, where);
          assert.ok(
            c.volumeMounts?.some((m) => m.name === 'tmp' && m.mountPath === '/tmp'),
            `${where} mounts the emptyDir on /tmp`,
          );
          assert.ok(
            c.resources?.requests && c.resources.limits,
            `${where} has requests and limits`,
          );
        }
      }
    }
  });

  it('secrets reach containers only through secretKeyRef, never as plain values', () => {
    for (const args of [[], ['--set', 'postgresql.enabled=true', '--set', 'jaeger.enabled=true']]) {
      const objects = render(args);
      const secrets = new Set(
        objects.filter((o) => o.kind === 'Secret').map((o) => o.metadata.name),
      );
      for (const { owner, spec } of podSpecs(objects)) {
        for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
          for (const e of c.env ?? []) {
            if (/PASSWORD|SECRET|DATABASE_URL|TOKEN/.test(e.name)) {
              assert.equal(e.value, undefined, `${owner}/${c.name} ${e.name} is a plain value`);
              const ref = e.valueFrom?.secretKeyRef;
              assert.ok(ref, `${owner}/${c.name} ${e.name} comes from a Secret`);
              assert.ok(
                secrets.has(ref.name!),
                `${owner}/${c.name} ${e.name}: Secret ${ref.name} is rendered`,
              );
            }
            assert.doesNotMatch(
              String(e.value ?? ''),
              /postgres(ql)?:\/\/[^@\s]*:[^@\s]*@/,
              `${c.name} ${e.name}`,
            );
          }
        }
      }
    }
    const pod = apiPod(render());
    const api = envOf(pod.containers[0]!);
    assert.equal(api.get('JWT_SECRET')?.valueFrom?.secretKeyRef?.name, 'order-food');
    for (const c of pod.initContainers ?? []) {
      assert.equal(
        envOf(c).get('DATABASE_URL')?.valueFrom?.secretKeyRef?.key,
        'DATABASE_URL',
        c.name,
      );
      assert.equal(envOf(c).has('JWT_SECRET'), false, `${c.name} does not need the JWT key`);
    }
  });

  it('the chart makes no Secret when existingSecret names one, and references it', () => {
    const objects = render(['--set', 'secret.existingSecret=order-food-prod']);
    assert.equal(objects.filter((o) => o.kind === 'Secret').length, 0);
    const pod = apiPod(objects);
    for (const c of [...(pod.initContainers ?? []), ...pod.containers]) {
      assert.equal(envOf(c).get('DATABASE_URL')?.valueFrom?.secretKeyRef?.name, 'order-food-prod');
    }
  });

  it('the development PostgreSQL and the API share one generated password', () => {
    const objects = render(['--set', 'postgresql.enabled=true']);
    const data = (name: string) =>
      (find(objects, 'Secret', name) as Manifest & { data: Record<string, string> }).data;
    const password = Buffer.from(
      data('order-food-postgresql').POSTGRES_PASSWORD!,
      'base64',
    ).toString();
    const url = new URL(Buffer.from(data('order-food').DATABASE_URL!, 'base64').toString());
    assert.ok(password.length >= 16);
    assert.equal(decodeURIComponent(url.password), password);
    assert.equal(url.hostname, 'order-food-postgresql');
    find(objects, 'Service', 'order-food-postgresql');
  });

  it('every container gets the pod identity, OTEL settings and DB_WAIT_TIMEOUT; the API its drain', () => {
    const pod = apiPod(render(['--set', 'jaeger.enabled=true']));
    const all = [...(pod.initContainers ?? []), ...pod.containers];
    for (const c of all) {
      const env = envOf(c);
      assert.equal(env.get('POD_UID')?.valueFrom?.fieldRef?.fieldPath, 'metadata.uid', c.name);
      assert.equal(env.get('POD_NAME')?.valueFrom?.fieldRef?.fieldPath, 'metadata.name', c.name);
      assert.equal(env.get('OTEL_SERVICE_NAME')?.value, c.name);
      assert.equal(env.get('OTEL_EXPORTER_OTLP_ENDPOINT')?.value, 'http://jaeger:4318');
      assert.equal(env.get('DB_WAIT_TIMEOUT')?.value, '60');
      assert.equal(env.get('SERVICE_VERSION')?.value, appVersion);
      assert.ok(env.get('ENVIRONMENT')?.value);
      for (const e of c.env ?? []) {
        for (const ref of String(e.value ?? '').matchAll(/\$\((\w+)\)/g)) {
          const index = (c.env ?? []).findIndex((x) => x.name === ref[1]);
          assert.ok(
            index >= 0 && index < (c.env ?? []).indexOf(e),
            `${c.name} ${e.name} refers to ${ref[1]} defined before it`,
          );
        }
      }
    }
    const api = envOf(pod.containers[0]!);
    assert.equal(api.get('OTEL_TRACES_SAMPLER')?.value, 'parentbased_traceidratio');
    assert.equal(api.get('OTEL_TRACES_SAMPLER_ARG')?.value, '0.1');
    assert.equal(api.get('SHUTDOWN_DRAIN_DELAY')?.value, '5');
    assert.equal(api.get('PORT')?.value, '8080');
    const drain = Number(api.get('SHUTDOWN_DRAIN_DELAY')?.value);
    const timeout = Number(api.get('SHUTDOWN_TIMEOUT')?.value);
    assert.ok(
      pod.terminationGracePeriodSeconds! >= drain + timeout,
      'the grace period covers drain + close',
    );

    const withPreStop = apiPod(
      render(['--set', 'shutdown.preStopSleepSeconds=3', '--set', 'shutdown.drainDelaySeconds=7']),
    );
    const c = withPreStop.containers[0]!;
    assert.equal(c.lifecycle?.preStop?.sleep?.seconds, 3);
    assert.equal(envOf(c).get('SHUTDOWN_DRAIN_DELAY')?.value, '7');
    assert.ok(
      withPreStop.terminationGracePeriodSeconds! >=
        3 + 7 + Number(envOf(c).get('SHUTDOWN_TIMEOUT')?.value),
    );

    const off = apiPod(render(['--set', 'telemetry.enabled=false']));
    assert.equal(envOf(off.containers[0]!).get('OTEL_SDK_DISABLED')?.value, 'true');
  });
});
