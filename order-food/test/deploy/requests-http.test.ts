/**
 * requests.http works against `npm start`: each request runs, in order, against the real API on
 * the demo data with tokens from the token CLI, answers the status it says, and the file covers
 * every operation of the API's OpenAPI document.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { repoRoot } from '@order-food/platform/testing/run-program';
import { type DemoApi, startDemoApi } from './api-process.js';

interface HttpRequest {
  title: string;
  name?: string;
  expect: number;
  method: string;
  url: string;
  headers: [string, string][];
  body?: string;
}

const text = readFileSync(join(repoRoot, 'requests.http'), 'utf8');

/** The file's @variables and its requests (REST Client syntax: ### separates, # @name names). */
function parseHttpFile(source: string): {
  variables: Map<string, string>;
  requests: HttpRequest[];
} {
  const variables = new Map<string, string>();
  for (const m of source.matchAll(/^@(\w+)\s*=\s*(.*)$/gm)) variables.set(m[1]!, m[2]!.trim());
  const requests: HttpRequest[] = [];
  for (const block of source.split(/^###/m).slice(1)) {
    const lines = block.split('\n');
    const title = lines.shift()!.trim();
    const comments = lines.filter((l) => l.startsWith('#'));
    const rest = lines.filter((l) => !l.startsWith('#'));
    while (rest[0]?.trim() === '') rest.shift();
    const [method, url] = rest.shift()!.split(' ');
    const headers: [string, string][] = [];
    while (rest.length > 0 && rest[0]!.trim() !== '') {
      const line = rest.shift()!;
      const i = line.indexOf(':');
      headers.push([line.slice(0, i).trim(), line.slice(i + 1).trim()]);
    }
    const body = rest.join('\n').trim();
    const expect = comments.map((c) => /^# expect (\d{3})$/.exec(c)?.[1]).find(Boolean);
    assert.ok(expect, `"${title}" says the status it expects`);
    requests.push({
      title,
      name: comments.map((c) => /^# @name (\w+)$/.exec(c)?.[1]).find(Boolean),
      expect: Number(expect),
      method: method!,
      url: url!,
      headers,
      body: body === '' ? undefined : body,
    });
  }
  return { variables, requests };
}

/** {{var}}, {{$guid}} and {{name.response.body.$.a.b[0].c}} as REST Client resolves them. */
function resolve(s: string, variables: Map<string, string>, answers: Map<string, unknown>): string {
  return s.replace(/\{\{([^}]+)\}\}/g, (_, ref: string) => {
    if (ref === '$guid') return randomUUID();
    const m = /^(\w+)\.response\.body\.\$\.(.+)$/.exec(ref);
    if (!m) {
      const v = variables.get(ref);
      assert.ok(v !== undefined, `variable ${ref}`);
      return resolve(v, variables, answers);
    }
    assert.ok(answers.has(m[1]!), `request ${m[1]} ran before`);
    let v = answers.get(m[1]!);
    for (const part of m[2]!.match(/[^.[\]]+/g)!) v = (v as Record<string, unknown>)[part];
    assert.ok(typeof v === 'string' || typeof v === 'number', ref);
    return String(v);
  });
}

let demo: DemoApi;
before(async () => {
  demo = await startDemoApi('requests_http');
});
after(async () => {
  await demo?.stop();
});

test('requests.http: every request answers the status it documents against the real API', async () => {
  const { variables, requests } = parseHttpFile(text);
  assert.equal(variables.get('host'), 'http://localhost:8080', 'the file targets npm start');
  variables.set('host', demo.api.url);
  variables.set('customerToken', await demo.token('alice@example.com'));
  variables.set('adminToken', await demo.token('admin@example.com'));
  const answers = new Map<string, unknown>();
  for (const r of requests) {
    const res = await fetch(resolve(r.url, variables, answers), {
      method: r.method,
      headers: r.headers.map(([k, v]) => [k, resolve(v, variables, answers)]),
      body: r.body === undefined ? undefined : resolve(r.body, variables, answers),
    });
    const body = await res.text();
    assert.equal(res.status, r.expect, `${r.title}: ${r.method} ${r.url}\n${body}`);
    if (r.name) answers.set(r.name, JSON.parse(body));
  }
});

test('requests.http covers every operation of the OpenAPI document', async () => {
  const { requests } = parseHttpFile(text);
  const doc = (await fetch(`${demo.api.url}/openapi.json`).then((r) => r.json())) as {
    paths: Record<string, Record<string, unknown>>;
  };
  const covered = (method: string, path: string) => {
    const pattern = new RegExp(`^${path.replace(/\{[^}]+\}/g, '[^/]+')}$`);
    return requests.some(
      (r) =>
        r.method === method &&
        pattern.test(
          r.url
            .replace('{{host}}', '')
            .replace(/\?.*$/, '')
            .replace(/\{\{[^}]+\}\}/g, 'x'),
        ),
    );
  };
  const missing: string[] = [];
  for (const [path, ops] of Object.entries(doc.paths))
    for (const method of Object.keys(ops).filter((m) => /^(get|post|put|patch|delete)$/.test(m)))
      if (!covered(method.toUpperCase(), path)) missing.push(`${method.toUpperCase()} ${path}`);
  assert.deepEqual(missing, []);
});
