/**
 * Splits a SQL script into statements at top-level semicolons, minding quotes, quoted identifiers,
 * dollar quoting and comments. Needed for files that run outside a transaction: PostgreSQL runs a
 * multi-statement query string as one implicit transaction, where CREATE INDEX CONCURRENTLY is
 * refused.
 */
export function splitStatements(script: string): string[] {
  return locatedStatements(script).map((s) => s.text);
}

export interface LocatedStatement {
  readonly text: string;
  /** 1-based line of the statement's first character of code (after comments). */
  readonly line: number;
}

/** splitStatements, with the line each statement's code starts on, for messages. */
export function locatedStatements(script: string): LocatedStatement[] {
  const statements: LocatedStatement[] = [];
  let start = 0;
  let i = 0;
  const n = script.length;
  const push = (end: number) => {
    const raw = script.slice(start, end);
    const text = raw.trim();
    if (!hasCode(text)) return;
    const codeAt = start + raw.length - withoutLeadingComments(raw).length;
    statements.push({ text, line: lineAt(script, codeAt) });
  };
  while (i < n) {
    const c = script[i]!;
    const next = script[i + 1];
    if (c === '-' && next === '-') {
      const eol = script.indexOf('\n', i);
      i = eol === -1 ? n : eol + 1;
    } else if (c === '/' && next === '*') {
      i = skipBlockComment(script, i);
    } else if (c === "'") {
      const escapes = i > 0 && /[eE]/.test(script[i - 1]!) && !/\w/.test(script[i - 2] ?? '');
      i = skipQuoted(script, i, "'", escapes);
    } else if (c === '"') {
      i = skipQuoted(script, i, '"', false);
    } else if (c === '$') {
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(script.slice(i));
      if (tag && !/\w/.test(script[i - 1] ?? '')) {
        const end = script.indexOf(tag[0], i + tag[0].length);
        i = end === -1 ? n : end + tag[0].length;
      } else {
        i++;
      }
    } else if (c === ';') {
      push(i);
      start = i + 1;
      i++;
    } else {
      i++;
    }
  }
  push(n);
  return statements;
}

function lineAt(script: string, offset: number): number {
  let line = 1;
  for (let i = script.indexOf('\n'); i !== -1 && i < offset; i = script.indexOf('\n', i + 1))
    line++;
  return line;
}

/** The statement without the whitespace and comments before its code. */
export function withoutLeadingComments(statement: string): string {
  let s = statement.trimStart();
  for (;;) {
    if (s.startsWith('--')) {
      const eol = s.indexOf('\n');
      s = eol === -1 ? '' : s.slice(eol + 1).trimStart();
    } else if (s.startsWith('/*')) {
      s = s.slice(skipBlockComment(s, 0)).trimStart();
    } else {
      return s;
    }
  }
}

function skipBlockComment(script: string, from: number): number {
  let depth = 0;
  let i = from;
  while (i < script.length) {
    if (script.startsWith('/*', i)) {
      depth++;
      i += 2;
    } else if (script.startsWith('*/', i)) {
      depth--;
      i += 2;
      if (depth === 0) return i;
    } else {
      i++;
    }
  }
  return i;
}

function skipQuoted(
  script: string,
  from: number,
  quote: string,
  backslashEscapes: boolean,
): number {
  let i = from + 1;
  while (i < script.length) {
    const c = script[i]!;
    if (backslashEscapes && c === '\\') {
      i += 2;
    } else if (c === quote) {
      if (script[i + 1] === quote) i += 2;
      else return i + 1;
    } else {
      i++;
    }
  }
  return i;
}

/** True when text holds something besides whitespace and comments. */
export function hasCode(text: string): boolean {
  return stripComments(text).trim() !== '';
}

/** The text without its comments (quoted text kept). */
export function stripComments(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    if (text.startsWith('--', i)) {
      const eol = text.indexOf('\n', i);
      i = eol === -1 ? text.length : eol + 1;
    } else if (text.startsWith('/*', i)) {
      i = skipBlockComment(text, i);
    } else if (text[i] === "'" || text[i] === '"') {
      const end = skipQuoted(text, i, text[i]!, false);
      out += text.slice(i, end);
      i = end;
    } else {
      out += text[i];
      i++;
    }
  }
  return out;
}
