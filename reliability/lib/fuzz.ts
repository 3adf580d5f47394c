/**
 * The harness of the bad-input scenarios: the operations of the API's /openapi.json, real targets
 * for them, and a recorder that checks every answer (below 500, no stack trace or SQL, errors as
 * problem+json, bad input refused) and, at the end, that nothing was stored.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { type CodePointClass, codePointClasses, unstorable } from './code-points.js';
import { type Api, bearer, type Product, readyWithData, type Tokens } from './fixture.js';
import type { HttpResponse, RequestSpec } from './http.js';
import { tableCounts, tableDigest } from './pg.js';
import type { Scenario } from './report.js';
import { type Resolve, resolver, type Schema } from './schema-arbitraries.js';

/** Runs per generated property; each bad-input file sends a thousand requests or so. */
export const runs = Number(process.env.RELIABILITY_FUZZ_RUNS ?? 60);
/** Runs per code point class and place a string goes. */
export const perClass = Math.max(3, Math.ceil(runs / 6));

export interface Operation {
  method: string;
  path: string;
  parameters: { in: string; name: string; required?: boolean; schema: Schema }[];
  body?: Schema;
  secured: boolean;
}

interface OpenApi {
  paths: Record<
    string,
    Record<
      string,
      {
        parameters?: Operation['parameters'];
        requestBody?: { content: Record<string, { schema: Schema }> };
        security?: unknown[];
      }
    >
  >;
  components?: { schemas?: Record<string, Schema> };
}

export const stackTrace =
  /\n\s+at |\bat [^\s]+ \([^)]*:\d+:\d+\)|node_modules|\/work\/|\.ts:\d+|\.js:\d+:\d+/;
export const sqlLeak =
  /syntax error at or near|violates (check|foreign key|unique|not-null) constraint|invalid input syntax for|invalid byte sequence|relation "[^"]+" does not exist|SELECT .* FROM|INSERT INTO/i;
/** What a 400 for NUL or a lone surrogate says about the text. */
const textReason =
  /U\+0000|not valid Unicode|percent-encoded UTF-8|not a valid url component|cursor is not valid/;

const tables: [table: string, orderBy: string][] = [
  ['users', 'id'],
  ['products', 'id'],
  ['orders', 'id'],
  ['order_items', 'order_id, line_no'],
  ['idempotency_keys', 'user_id, key'],
];

/** Everything stored, summarized: equal before and after means the fuzzing stored nothing. */
export async function storage(url: string): Promise<string> {
  const counts = await tableCounts(
    url,
    tables.map(([t]) => t),
  );
  const out: string[] = [];
  for (const [t, orderBy] of tables)
    out.push(`${t}=${counts[t]}:${await tableDigest(url, t, orderBy)}`);
  return out.join(' ');
}

const cell = (text: string) => text.replaceAll('|', '\\|').replaceAll('\n', ' ');

/** One file's fuzzing against one API: its targets, what it sent and what came back. */
export class Fuzz {
  readonly counts: Record<string, Record<string, number>> = {};
  readonly violations: string[] = [];
  readonly #grouped = new Map<string, { count: number; example: string }>();
  requests = 0;
  readonly #byClass: Record<string, Record<string, number>> = {};
  #unstorableSent = 0;
  #unstorableRefused = 0;
  // The caller that reaches validation: an admin (may do anything), so a 2xx would really store.
  readonly adminHeaders: Record<string, string>;

  private constructor(
    readonly api: Api,
    readonly databaseUrl: string,
    readonly t: Tokens,
    readonly product: Product,
    readonly aliceOrder: string,
    readonly realCursor: string,
    readonly operations: Operation[],
    readonly resolve: Resolve,
    readonly before: string,
  ) {
    this.adminHeaders = bearer(t.admin);
  }

  /** Waits for the API, places one order of alice's, reads /openapi.json, sums up the tables. */
  static async start(api: Api, databaseUrl: string): Promise<Fuzz> {
    const { t, products } = await readyWithData(api, databaseUrl);
    const product = products[0] as Product;
    const placed = await api.request({
      method: 'POST',
      path: '/api/orders',
      headers: { ...bearer(t.alice), 'idempotency-key': randomUUID() },
      body: { items: [{ productId: product.id, quantity: 1 }] },
    });
    assert.equal(placed.status, 201, placed.body);
    const aliceOrder = (JSON.parse(placed.body) as { id: string }).id;
    const firstPage = JSON.parse(
      (await api.request({ method: 'GET', path: '/api/products?limit=1' })).body,
    ) as { nextCursor: string };
    const doc = JSON.parse(
      (await api.request({ method: 'GET', path: '/openapi.json' })).body,
    ) as OpenApi;
    const operations: Operation[] = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.entries(ops)
        .filter(([m]) => ['get', 'post', 'put', 'patch', 'delete'].includes(m))
        .map(([m, op]) => ({
          method: m.toUpperCase(),
          path,
          parameters: op.parameters ?? [],
          body: op.requestBody?.content['application/json']?.schema,
          secured: (op.security ?? []).length > 0,
        })),
    );
    const resolve = resolver(doc.components?.schemas);
    const before = await storage(databaseUrl);
    return new Fuzz(
      api,
      databaseUrl,
      t,
      product,
      aliceOrder,
      firstPage.nextCursor,
      operations,
      resolve,
      before,
    );
  }

  /** The documented operation; fails when the document lacks it. */
  find(method: string, path: string): Operation {
    const op = this.operations.find((o) => o.method === method && o.path === path);
    assert.ok(op, `${method} ${path} is in /openapi.json`);
    return op;
  }

  withBody = () => this.operations.filter((o) => o.body);
  withId = () => this.operations.filter((o) => o.path.includes('{id}'));
  withQuery = () => this.operations.filter((o) => o.parameters.some((p) => p.in === 'query'));

  /** A real object for the route's {id}: alice's order, the product, none for users. */
  idFor = (op: Operation): string | undefined =>
    op.path.startsWith('/api/orders')
      ? this.aliceOrder
      : op.path.startsWith('/api/users')
        ? undefined
        : this.product.id;

  fill = (op: Operation, id: string) => op.path.replace('{id}', id);

  /** Where a body goes: a real order or product, as the admin; a new order needs its own key. */
  bodyTarget = (op: Operation, headers: Record<string, string> = {}) => ({
    path: this.fill(op, op.path.startsWith('/api/orders') ? this.aliceOrder : this.product.id),
    headers: {
      ...this.adminHeaders,
      ...headers,
      ...(op.path === '/api/orders' ? { 'idempotency-key': randomUUID() } : {}),
    },
  });

  #count(category: string, key: string | number) {
    this.counts[category] ??= {};
    const c = this.counts[category];
    c[key] = (c[key] ?? 0) + 1;
  }

  /** Sends one bad request and records what is wrong with its answer. */
  async send(
    category: string,
    op: Operation,
    spec: RequestSpec,
    what: string,
    mustRefuse: boolean,
    cutOff = false,
    transport: () => Promise<HttpResponse> = () => this.api.request(spec, 20_000),
  ): Promise<HttpResponse | undefined> {
    let res: HttpResponse;
    try {
      res = await transport();
    } catch (err) {
      // The server may refuse an oversized upload by closing the connection mid-body.
      const code = (err as { code?: string }).code;
      if (cutOff && (code === 'EPIPE' || code === 'ECONNRESET')) {
        this.#count(category, 'connection closed by the server');
        this.requests++;
        return undefined;
      }
      this.violations.push(
        `${category} ${op.method} ${op.path} (${what}): no response: ${(err as Error).message}`,
      );
      return undefined;
    }
    this.requests++;
    this.#count(category, res.status);
    const problems: string[] = [];
    if (res.status >= 500) problems.push(`status ${res.status}`);
    if (stackTrace.test(res.body)) problems.push('a stack trace or file path in the body');
    if (sqlLeak.test(res.body)) problems.push('SQL or a database message in the body');
    if (
      res.status >= 400 &&
      !String(res.headers['content-type'] ?? '').startsWith('application/problem+json')
    )
      problems.push(`content-type ${res.headers['content-type']} for an error`);
    if (mustRefuse && res.status < 400) problems.push(`accepted with ${res.status}`);
    for (const problem of problems) {
      const key = `${category} ${op.method} ${op.path}: ${problem}`;
      const seen = this.#grouped.get(key);
      if (seen) seen.count++;
      else
        this.#grouped.set(key, {
          count: 1,
          example: `${spec.method} ${spec.path.slice(0, 100)} (${what.slice(0, 100)}) → ${res.status} ${res.body.slice(0, 160)}`,
        });
    }
    if (problems.length > 0)
      this.violations.push(
        `${category} ${spec.method} ${spec.path.slice(0, 120)} (${what.slice(0, 120)}): ${problems.join('; ')}; body ${res.body.slice(0, 200)}`,
      );
    return res;
  }

  /** Sends text of one code point class; NUL and lone surrogates must get a 400 naming the text. */
  async sendText(
    location: string,
    cls: CodePointClass,
    op: Operation,
    spec: RequestSpec,
    mustRefuse: boolean,
    transport?: () => Promise<HttpResponse>,
  ): Promise<void> {
    const res = await this.send(
      `code points: ${location}`,
      op,
      spec,
      `${cls} in ${location}`,
      mustRefuse || unstorable.has(cls),
      false,
      transport,
    );
    this.#byClass[cls] ??= {};
    const row = this.#byClass[cls];
    row[location] = (row[location] ?? 0) + 1;
    // HTTP header bytes are Latin-1 text: only NUL is unstorable there, and the HTTP parser
    // refuses it before any route runs.
    if (!unstorable.has(cls) || location === 'headers' || !res) return;
    this.#unstorableSent++;
    if (res.status === 400 && textReason.test(res.body)) this.#unstorableRefused++;
    else
      this.violations.push(
        `${cls} in ${location} ${op.method} ${op.path}: ${res.status} without naming the text: ${res.body.slice(0, 160)}`,
      );
  }

  /** Runs the property once per code point class, perClass runs each. */
  async eachClass(
    property: (cls: CodePointClass) => fc.IAsyncPropertyWithHooks<[string]>,
  ): Promise<void> {
    for (const cls of codePointClasses) await fc.assert(property(cls), { numRuns: perClass });
  }

  /**
   * Writes the figures to the scenario, then holds the API ready, no violation and every table
   * as before. `sent` says what the file sends; `extra` notes follow the table of inputs.
   */
  async finish(scenario: Scenario, sent: string, extra: string[] = []): Promise<void> {
    const after = await storage(this.databaseUrl);
    const health = await this.api.request({ method: 'GET', path: '/ready' });
    const before = this.before;
    scenario.trials = Object.keys(this.counts).length;
    scenario.requests = this.requests;
    scenario.errors = this.violations.length;
    scenario.leaks = before === after ? 0 : 1;
    scenario.note(
      `${this.operations.length} operations from /openapi.json; ${this.requests} requests; fast-check, ${runs} runs per property (RELIABILITY_FUZZ_RUNS); ${sent}`,
    );
    scenario.note(
      `checked on every answer: status below 500, no stack trace or file path, no SQL or database message, errors as application/problem+json, bad input refused; afterwards every table equal to before (counts and md5 of all rows): ${before === after ? 'yes' : 'NO'}`,
    );
    scenario.detail(
      [
        '| input | requests | statuses |',
        '|---|---:|---|',
        ...Object.entries(this.counts).map(
          ([k, c]) =>
            `| ${k} | ${Object.values(c).reduce((a, b) => a + b, 0)} | ${Object.entries(c)
              .map(([s, n]) => `${s}: ${n}`)
              .join(', ')} |`,
        ),
      ].join('\n'),
    );
    for (const line of extra) scenario.note(line);
    this.#noteClasses(scenario);
    if (this.#grouped.size > 0)
      scenario.detail(
        [
          '| violation | times | example |',
          '|---|---:|---|',
          ...[...this.#grouped].map(([k, v]) => `| ${cell(k)} | ${v.count} | ${cell(v.example)} |`),
        ].join('\n'),
      );
    const unanswered = this.violations.filter(
      (v) =>
        v.includes('no response') ||
        v.includes('not answered 401') ||
        v.includes('without naming the text'),
    );
    for (const v of unanswered.slice(0, 10)) scenario.note(v);
    assert.equal(health.status, 200, 'the API is still ready after the fuzzing');
    assert.deepEqual(
      [...this.#grouped.keys(), ...unanswered.slice(0, 5)],
      [],
      `no bad input got a 5xx, a stack trace, a leak or acceptance (${this.violations.length} answers)`,
    );
    assert.equal(after, before, 'nothing was stored');
  }

  #noteClasses(scenario: Scenario): void {
    const locations = [...new Set(Object.values(this.#byClass).flatMap((r) => Object.keys(r)))];
    if (locations.length === 0) return;
    const parsed = locations.some((l) => l !== 'headers')
      ? `: ${this.#unstorableSent} requests carried NUL or a lone surrogate in a parsed string, ${this.#unstorableRefused} were refused with a 400 naming the text`
      : '';
    const headers = locations.includes('headers')
      ? ' (headers: refused by the HTTP parser or as another 4xx)'
      : '';
    scenario.note(
      `code point classes (${codePointClasses.join(', ')}) in ${locations.join(', ')}, ${perClass} runs per class and place${parsed}${headers}`,
    );
    scenario.detail(
      [
        `| code point class | ${locations.join(' | ')} |`,
        `|---|${locations.map(() => '---:').join('|')}|`,
        ...Object.entries(this.#byClass).map(
          ([cls, row]) => `| ${cls} | ${locations.map((l) => row[l] ?? 0).join(' | ')} |`,
        ),
      ].join('\n'),
    );
  }
}
