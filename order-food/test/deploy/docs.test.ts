/**
 * The docs' bash blocks are checked against what they name: helm commands rendered (values checked
 * against values.schema.json), kubectl against the rendered chart, compose against services and
 * profiles, npm against scripts and subcommands, curl against the API's routes, scripts against
 * the variables they read. A command of a kind no check knows fails the test.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from '@order-food/platform/testing/run-program';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import type { Manifest } from './kubernetes-schema.js';
import { chartDir, render, requireRenderer } from './render.js';

const docs = [
  'docs/INIT_CONTAINER_ARCHITECTURE.md',
  'docs/QUICK_START_INIT_CONTAINER.md',
  'docs/DEPLOYMENT.md',
  'docs/API.md',
  'CONTRIBUTING.md',
];
const read = (path: string) => readFileSync(join(repoRoot, path), 'utf8');

const packageJson = JSON.parse(read('package.json'));
const version: string = packageJson.version;
const npmScripts = packageJson.scripts as Record<string, string>;
const compose = parse(read('docker-compose.yml'), { merge: true }) as {
  services: Record<string, { profiles?: string[] }>;
};
const composeText = read('docker-compose.yml');
const values = parse(readFileSync(join(chartDir, 'values.yaml'), 'utf8'));
const validateValues = new Ajv({ allErrors: true, strict: false, allowUnionTypes: true }).compile(
  JSON.parse(readFileSync(join(chartDir, 'values.schema.json'), 'utf8')),
);
const apiSource = readdirSync(join(repoRoot, 'order-food/src'), {
  recursive: true,
  encoding: 'utf8',
})
  .filter((f) => f.endsWith('.ts'))
  .map((f) => read(join('order-food/src', f)))
  .join('\n');

/** Each command of the docs' bash blocks, continuation lines joined. */
function commands(markdown: string): string[] {
  const out: string[] = [];
  for (const block of markdown.matchAll(/```(?:bash|sh)\n([\s\S]*?)```/g)) {
    const joined = block[1]!.replace(/\\\n\s*/g, ' ');
    for (const line of joined.split('\n')) {
      const command = line.trim();
      if (command && !command.startsWith('#')) out.push(command);
    }
  }
  return out;
}

/** Shell words: quotes removed, "$(…)" kept as one word. */
function words(command: string): string[] {
  const out: string[] = [];
  let current = '';
  let quote: string | null = null;
  let depth = 0;
  for (const ch of command) {
    if (quote) {
      if (ch === quote && depth === 0) quote = null;
      else {
        if (ch === '(' && current.endsWith('$')) depth++;
        if (ch === ')' && depth > 0) depth--;
        current += ch;
      }
    } else if (ch === '"' || ch === "'") quote = ch;
    else if (/\s/.test(ch)) {
      if (current) out.push(current);
      current = '';
    } else current += ch;
  }
  if (current) out.push(current);
  return out;
}

function split(command: string): { env: Record<string, string>; argv: string[] } {
  const argv = words(command);
  const env: Record<string, string> = {};
  while (argv.length > 0 && /^[A-Z_][A-Z0-9_]*=/.test(argv[0]!)) {
    const [name, ...rest] = argv.shift()!.split('=');
    env[name!] = rest.join('=');
  }
  return { env, argv };
}

/** Applies --set a.b=c as helm does (numbers and booleans typed unless --set-string). */
function setValue(target: Record<string, unknown>, expression: string, asString: boolean): void {
  const eq = expression.indexOf('=');
  const path = expression
    .slice(0, eq)
    .split(/(?<!\\)\./)
    .map((p) => p.replace(/\\\./g, '.'));
  const raw = expression.slice(eq + 1);
  let value: unknown = raw;
  if (!asString) {
    if (raw === 'true' || raw === 'false') value = raw === 'true';
    else if (/^-?\d+$/.test(raw)) value = Number(raw);
  }
  let node = target;
  for (const key of path.slice(0, -1)) {
    if (typeof node[key] !== 'object' || node[key] === null) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path.at(-1)!] = value;
}

const renders = new Map<string, Manifest[]>();
function renderChecked(flags: string[]): Manifest[] {
  const key = flags.join(' ');
  if (!renders.has(key)) {
    const merged = structuredClone(values);
    for (let i = 0; i < flags.length; i += 2)
      setValue(merged, flags[i + 1]!, flags[i] === '--set-string');
    assert.ok(
      validateValues(merged),
      `values of "${key}": ${JSON.stringify(validateValues.errors)}`,
    );
    renders.set(key, render(flags));
  }
  return renders.get(key)!;
}

/** --set/--set-string pairs of a helm argument list; fails on a flag it does not know. */
function helmValueFlags(args: string[]): string[] {
  const flags: string[] = [];
  const standalone = ['--wait', '--atomic', '--create-namespace', '--reuse-values', '--install'];
  const withValue = ['--namespace', '-n', '--timeout'];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--set' || a === '--set-string') flags.push(a, args[++i]!);
    else if (withValue.includes(a)) i++;
    else assert.ok(standalone.includes(a), `helm flag ${a} is one the docs test knows`);
  }
  return flags;
}

const devRender = () =>
  renderChecked(['--set', 'postgresql.enabled=true', '--set', 'jaeger.enabled=true']);

interface PodTemplate {
  metadata: { labels: Record<string, string> };
  spec: { initContainers?: Array<{ name: string }>; containers: Array<{ name: string }> };
}
function podsSelectedBy(selector: string): PodTemplate[] {
  const [key, value] = selector.split('=');
  return devRender()
    .filter((o) => o.kind === 'Deployment')
    .map((o) => (o as unknown as { spec: { template: PodTemplate } }).spec.template)
    .filter((t) => t.metadata.labels[key!] === value);
}

function scriptVariables(path: string): string[] {
  return [...read(path).matchAll(/\$\{(\w+):-/g)].map((m) => m[1]!);
}

function usageOf(script: string): string {
  const sources: Record<string, string> = {
    migrate: 'database-migration/src/config.ts',
    load: 'database-load/src/config.ts',
  };
  return sources[script] ? read(sources[script]) : '';
}

/** `docker compose ARGS` (v2) and `docker-compose ARGS` (1.29) take the same arguments. */
function checkCompose(args: string[], env: Record<string, string>): void {
  const rest = [...args];
  for (const name of Object.keys(env))
    assert.ok(composeText.includes(`\${${name}:-`), `the compose file reads ${name}`);
  if (rest[0] === '--profile') {
    const profile = rest[1]!;
    assert.ok(
      Object.values(compose.services).some((s) => s.profiles?.includes(profile)),
      `profile ${profile}`,
    );
    rest.splice(0, 2);
  }
  assert.ok(['up', 'down', 'ps', 'logs'].includes(rest[0]!), `compose ${rest[0]}`);
  for (const word of rest.slice(1).filter((w) => !w.startsWith('-'))) {
    assert.ok(compose.services[word], `compose service ${word}`);
  }
}

function check(command: string): void {
  const { env, argv } = split(command);
  const [tool, ...args] = argv;
  switch (tool) {
    case 'npm': {
      const [sub, name, ...rest] = args;
      if (sub === 'ci' || sub === 'start' || sub === 'test') {
        assert.ok(sub === 'ci' || npmScripts[sub!], `npm ${sub}`);
        return;
      }
      assert.equal(sub, 'run', command);
      assert.ok(npmScripts[name!], `npm run ${name} exists`);
      const programArgs = rest[0] === '--' ? rest.slice(1) : rest;
      if (name === 'images') {
        const known = scriptVariables('scripts/build-images.sh');
        for (const v of Object.keys(env))
          assert.ok(known.includes(v), `build-images.sh reads ${v}`);
        for (const image of programArgs)
          assert.ok(['database-migration', 'database-load', 'order-food'].includes(image));
      } else {
        const usage = usageOf(name!);
        programArgs.forEach((a, i) => {
          // The word after an option is its value (a directory, an address): the reader's own.
          if (i > 0 && programArgs[i - 1]!.startsWith('--') && !a.startsWith('-')) return;
          assert.ok(usage.includes(a.replace(/=.*/, '')), `${name} knows ${a}`);
        });
      }
      return;
    }
    case 'curl': {
      const url = new URL(args.at(-1)!);
      assert.equal(url.host, 'localhost:8080');
      assert.ok(apiSource.includes(`'${url.pathname}'`), `the API serves ${url.pathname}`);
      return;
    }
    case 'docker': {
      if (args[0] === 'build') {
        const file = args[args.indexOf('-f') + 1]!;
        const tag = args[args.indexOf('-t') + 1]!;
        assert.ok(read(file).includes('FROM'), `${file} exists`);
        assert.equal(tag, `${file.split('/')[0]}:${version}`);
        assert.equal(args.at(-1), '.', 'built from the repository root');
        return;
      }
      assert.equal(args[0], 'compose', command);
      checkCompose(args.slice(1), env);
      return;
    }
    case 'docker-compose':
      checkCompose(args, env);
      return;
    case 'podman':
      assert.deepEqual(args.slice(0, 3), ['system', 'service', '--time=0'], command);
      assert.match(args[3]!, /^unix:\/\//);
      return;
    case './deploy.sh': {
      const known = scriptVariables('deploy.sh');
      for (const v of Object.keys(env)) assert.ok(known.includes(v), `deploy.sh reads ${v}`);
      const dev = env.DEV_DEPENDENCIES !== 'false';
      renderChecked([
        ...(dev ? ['--set', 'postgresql.enabled=true', '--set', 'jaeger.enabled=true'] : []),
        ...helmValueFlags(args),
      ]);
      return;
    }
    case 'helm': {
      const [sub, ...rest] = args;
      if (sub === 'upgrade') {
        const positional = rest.filter(
          (a, i) =>
            !a.startsWith('-') &&
            !['--set', '--set-string', '--namespace', '--timeout', '-n'].includes(rest[i - 1]!),
        );
        assert.deepEqual(positional, ['order-food', './order-food/helm'], command);
        renderChecked(
          helmValueFlags(rest.filter((a) => a !== 'order-food' && a !== './order-food/helm')),
        );
        return;
      }
      assert.ok(['test', 'history', 'rollback', 'uninstall'].includes(sub!), `helm ${sub}`);
      assert.equal(rest[0], 'order-food');
      return;
    }
    case 'kubectl': {
      const [sub, ...rest] = args;
      const selector = rest.includes('-l') ? rest[rest.indexOf('-l') + 1]! : undefined;
      if (sub === 'get' && rest[0] === 'events') return;
      if (sub === 'label') {
        assert.deepEqual(rest.slice(0, 1), ['namespace']);
        assert.equal(rest[2], 'pod-security.kubernetes.io/enforce=restricted');
        return;
      }
      if (sub === 'create' && rest[0] === 'configmap') {
        // A data set for databaseLoad.dataSet.configMap: its files, under their own names.
        assert.ok(
          rest.some((a) => a.startsWith('--from-file=')),
          command,
        );
        return;
      }
      if (sub === 'create') {
        assert.deepEqual(rest.slice(0, 2), ['secret', 'generic']);
        const keys = rest
          .filter((a) => a.startsWith('--from-literal='))
          .map((a) => a.slice(15).split('=')[0]);
        assert.deepEqual(
          keys.sort(),
          [values.secret.databaseUrlKey, values.secret.jwtSecretKey].sort(),
        );
        return;
      }
      if (sub === 'port-forward') {
        const [kind, name] = rest.find((a) => a.startsWith('svc/'))!.split('/');
        const port = Number(rest.find((a) => /^\d+:\d+$/.test(a))!.split(':')[1]);
        const service = devRender().find((o) => o.kind === 'Service' && o.metadata.name === name) as
          | (Manifest & { spec: { ports: Array<{ port: number }> } })
          | undefined;
        assert.ok(kind === 'svc' && service, `Service ${name} is rendered`);
        assert.ok(
          service.spec.ports.some((p) => p.port === port),
          `Service ${name} has port ${port}`,
        );
        return;
      }
      assert.ok(['get', 'describe', 'logs'].includes(sub!), `kubectl ${sub}`);
      assert.ok(selector, `${command} selects by label`);
      const pods = podsSelectedBy(selector);
      assert.equal(pods.length, 1, `${selector} selects the API's pods and nothing else`);
      if (sub === 'logs') {
        const container = rest[rest.indexOf('-c') + 1]!;
        const names = [...(pods[0]!.spec.initContainers ?? []), ...pods[0]!.spec.containers].map(
          (c) => c.name,
        );
        assert.ok(names.includes(container), `container ${container} in ${names}`);
      }
      return;
    }
    case 'node': {
      // node … --test FILE: the file is there.
      const file = args.at(-1)!;
      assert.ok(file.endsWith('.ts') && read(file).length > 0, `${file} exists`);
      return;
    }
    case 'minikube':
      assert.equal(args[0], 'start');
      return;
    case 'eval':
      assert.equal(args[0], '$(minikube docker-env)');
      return;
    case 'export': {
      const [name, value] = args[0]!.split('=');
      if (name === 'TRACEPARENT')
        assert.ok(composeText.includes('${TRACEPARENT:-'), 'compose passes TRACEPARENT on');
      else if (name === 'DOCKER_HOST') assert.match(value!, /^unix:\/\//);
      else assert.equal(name, 'COMPOSE_PROJECT_NAME', command);
      return;
    }
    default:
      assert.fail(`"${command}" is a command the docs test does not check`);
  }
}

describe('deployment docs', () => {
  for (const doc of docs) {
    it(`${doc}: every command matches the chart, compose file, scripts and programs`, (t) => {
      if (!requireRenderer(t)) return;
      const list = commands(read(doc));
      assert.ok(list.length > 0);
      for (const command of list) {
        try {
          check(command);
        } catch (err) {
          throw new Error(`${doc}: ${command}\n  ${(err as Error).message}`);
        }
      }
    });
  }

  it('every image the docs show is in the repository', () => {
    for (const doc of readdirSync(join(repoRoot, 'docs')).filter((f) => f.endsWith('.md'))) {
      for (const [, path] of read(join('docs', doc)).matchAll(/!\[[^\]]*\]\(([^)\s]+)\)/g))
        assert.ok(existsSync(join(repoRoot, 'docs', path!)), `docs/${doc} shows ${path}`);
    }
  });

  it('the values excerpt of the architecture doc is values.yaml', () => {
    const doc = read('docs/INIT_CONTAINER_ARCHITECTURE.md');
    const block = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)]
      .map((m) => parse(m[1]!))
      .find((y) => y.initContainers);
    assert.ok(block, 'a yaml block with initContainers');
    assert.deepEqual(block.initContainers, values.initContainers);
  });

  it('the docs test refuses what is wrong (its checks are real)', (t) => {
    if (!requireRenderer(t)) return;
    for (const bad of [
      'helm upgrade --install order-food ./order-food/helm --set initContainers.databaseMigrations.enabled=false',
      'kubectl logs -l app.kubernetes.io/name=order-food -c migration',
      'kubectl port-forward svc/order-food-api 8080:80',
      'docker compose logs migration',
      'docker-compose logs migration',
      'REGISTRY=localhost/ docker-compose up',
      'export DOCKER_HOST=/run/podman/podman.sock',
      'npm run migrate -- rollback',
      'curl http://localhost:8080/healthz',
      'kubectl apply -f order-food.yaml',
    ]) {
      assert.throws(() => check(bad), Error, bad);
    }
  });
});
