/**
 * What PostgreSQL cannot store in a text column, checked where client or file text enters: U+0000
 * (refused by the server: a 500 instead of a 400 when it reaches a query) and lone surrogates
 * (not Unicode: the driver's UTF-8 encoding turns them into U+FFFD, so another text than the one
 * sent would be stored).
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
 * so a request without text costs nothing but the walk.
 */
export function findTextFault(value: unknown, path = ''): TextFault | undefined {
  if (typeof value === 'string') {
    const problem = textProblem(value);
    return problem === undefined ? undefined : { path: path || '/', problem };
  }
  if (typeof value !== 'object' || value === null) return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const fault = findTextFault(value[i], `${path}/${i}`);
      if (fault) return fault;
    }
    return undefined;
  }
  for (const key in value) {
    const keyProblem = textProblem(key);
    if (keyProblem !== undefined)
      return { path: path || '/', problem: `has a property name that ${keyProblem}` };
    const fault = findTextFault(
      (value as Record<string, unknown>)[key],
      `${path}/${escapePointer(key)}`,
    );
    if (fault) return fault;
  }
  return undefined;
}
