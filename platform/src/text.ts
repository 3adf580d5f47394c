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

/**
 * Walks strings, object keys and arrays; other values are left alone. Only strings are tested,
 * so a request without text costs little more than the walk. Iterative: a JSON body nested ten
 * thousand levels deep is a 400 from the schema, not a stack overflow here. The paths are made
 * only once a fault is known to be there: every valid request walks without them.
 */
export function findTextFault(root: unknown): TextFault | undefined {
  return hasTextFault(root) ? locateTextFault(root) : undefined;
}

function hasTextFault(root: unknown): boolean {
  const pending: unknown[] = [root];
  while (pending.length > 0) {
    const value = pending.pop();
    if (typeof value === 'string') {
      if (textProblem(value) !== undefined) return true;
    } else if (Array.isArray(value)) {
      for (const item of value) pending.push(item);
    } else if (typeof value === 'object' && value !== null) {
      for (const key of Object.keys(value)) {
        if (textProblem(key) !== undefined) return true;
        pending.push((value as Record<string, unknown>)[key]);
      }
    }
  }
  return false;
}

function locateTextFault(root: unknown): TextFault | undefined {
  if (typeof root === 'string') {
    const problem = textProblem(root);
    return problem === undefined ? undefined : { path: '/', problem };
  }
  if (typeof root !== 'object' || root === null) return undefined;
  const pending: [unknown, string][] = [[root, '']];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [value, path] = next;
    if (typeof value === 'string') {
      const problem = textProblem(value);
      if (problem !== undefined) return { path, problem };
    } else if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) {
        const item: unknown = value[i];
        if (typeof item === 'string' || (typeof item === 'object' && item !== null))
          pending.push([item, `${path}/${i}`]);
      }
    } else if (typeof value === 'object' && value !== null) {
      const keys = Object.keys(value);
      for (let k = keys.length - 1; k >= 0; k--) {
        const key = keys[k] as string;
        const keyProblem = textProblem(key);
        if (keyProblem !== undefined)
          return { path: path || '/', problem: `has a property name that ${keyProblem}` };
        const item = (value as Record<string, unknown>)[key];
        if (typeof item === 'string' || (typeof item === 'object' && item !== null))
          pending.push([item, `${path}/${escapePointer(key)}`]);
      }
    }
  }
  return undefined;
}
