import { isUtf8 } from 'node:buffer';
import type { FastifyRequest } from 'fastify';
import { HttpProblem } from './problem.js';

const invalid = (detail: string) => new HttpProblem(400, detail, { type: 'invalid-json' });

/** Bodies that may hold a key spelled __proto__ or constructor, escaped or not. */
const suspect = /proto|constructor|\\u/;

/**
 * The first key that could reach an object's prototype when the body is merged into another
 * object: __proto__ anywhere, or constructor holding prototype. Iterative, like the text walk:
 * any depth JSON.parse accepts.
 */
function poisonedKey(root: unknown): string | undefined {
  const pending: [unknown, string][] = [[root, '']];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [value, path] = next;
    if (typeof value !== 'object' || value === null) continue;
    if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) pending.push([value[i], `${path}/${i}`]);
      continue;
    }
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      if (key === '__proto__') return `a "__proto__" property at ${path || '/'}`;
      const inner = record[key];
      if (
        key === 'constructor' &&
        typeof inner === 'object' &&
        inner !== null &&
        Object.hasOwn(inner, 'prototype')
      )
        return `a "constructor.prototype" property at ${path || '/'}`;
      pending.push([inner, `${path}/${key}`]);
    }
  }
  return undefined;
}

/**
 * application/json bodies, each refusal naming its cause: bytes that are not UTF-8 (Fastify's
 * parser would turn them into U+FFFD and store that), text that is not JSON, and keys that could
 * poison a prototype (Fastify calls all three "not valid JSON").
 */
export function parseJsonBody(
  _request: FastifyRequest,
  body: Buffer,
  done: (err: Error | null, value?: unknown) => void,
): void {
  if (body.length === 0) {
    done(invalid('the body is empty; send a JSON object'));
    return;
  }
  if (!isUtf8(body)) {
    done(invalid('the body is not valid UTF-8'));
    return;
  }
  const text = body.toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    done(invalid(`the body is not valid JSON: ${(err as Error).message}`));
    return;
  }
  const poisoned = suspect.test(text) ? poisonedKey(value) : undefined;
  if (poisoned) {
    done(
      new HttpProblem(
        400,
        `the body has ${poisoned}, which is refused: it could change the prototype of objects made from the body`,
        { type: 'prototype-poisoning' },
      ),
    );
    return;
  }
  done(null, value);
}
