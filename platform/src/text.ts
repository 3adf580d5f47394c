/**
 * What a text column cannot hold, checked where text enters: U+0000 (the server refuses it: a 500
 * instead of a 400) and lone surrogates (the driver would store U+FFFD instead of what was sent).
 */

declare global {
  interface String {
    /** ES2024; in V8 since Node 20. */
    isWellFormed(): boolean;
  }
}

/**
 * Why a string cannot be stored as text, or undefined when it can. Two native scans (includes,
 * isWellFormed) on the way that almost every string takes: a few tens of ns per string.
 */
export function textProblem(text: string): string | undefined {
  if (!text.includes('\u0000') && text.isWellFormed()) return undefined;
  const nul = text.indexOf('\u0000');
  if (nul !== -1) return `contains U+0000 (NUL) at character ${nul}, which text cannot hold`;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
    }
    if (c >= 0xd800 && c <= 0xdfff)
      return `is not valid Unicode: a lone surrogate U+${c.toString(16).toUpperCase()} at character ${i}`;
  }
  return undefined;
}

/** Where in a JSON-like value the first string (or object key) that cannot be stored is. */
export interface TextFault {
  /** JSON Pointer to the value (for a key: to the object holding it). */
  path: string;
  problem: string;
}

const escapePointer = (key: string) => key.replaceAll('~', '~0').replaceAll('/', '~1');

/** A value met on the walk, with its parent's step and its key there: a path is made only for a fault. */
interface Step {
  value: unknown;
  parent: Step | undefined;
  key: string | number;
}

function pointerTo(step: Step): string {
  let path = '';
  for (let s: Step | undefined = step; s?.parent !== undefined; s = s.parent)
    path = `/${typeof s.key === 'number' ? s.key : escapePointer(s.key)}${path}`;
  return path;
}

/**
 * Walks strings, object keys and arrays; other values are left alone. Only strings are tested,
 * so a request without text costs little more than the walk. Iterative: a JSON body nested ten
 * thousand levels deep is a 400 from the schema, not a stack overflow here.
 */
export function findTextFault(root: unknown): TextFault | undefined {
  if (typeof root === 'string') {
    const problem = textProblem(root);
    return problem === undefined ? undefined : { path: '/', problem };
  }
  if (typeof root !== 'object' || root === null) return undefined;
  const pending: Step[] = [{ value: root, parent: undefined, key: '' }];
  for (let step = pending.pop(); step !== undefined; step = pending.pop()) {
    const { value } = step;
    if (typeof value === 'string') {
      const problem = textProblem(value);
      if (problem !== undefined) return { path: pointerTo(step), problem };
    } else if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) {
        const item: unknown = value[i];
        if (typeof item === 'string' || (typeof item === 'object' && item !== null))
          pending.push({ value: item, parent: step, key: i });
      }
    } else if (typeof value === 'object' && value !== null) {
      const keys = Object.keys(value);
      for (let k = keys.length - 1; k >= 0; k--) {
        const key = keys[k] as string;
        const keyProblem = textProblem(key);
        if (keyProblem !== undefined)
          return {
            path: pointerTo(step) || '/',
            problem: `has a property name that ${keyProblem}`,
          };
        const item = (value as Record<string, unknown>)[key];
        if (typeof item === 'string' || (typeof item === 'object' && item !== null))
          pending.push({ value: item, parent: step, key });
      }
    }
  }
  return undefined;
}
