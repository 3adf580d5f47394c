import querystring from 'fast-querystring';

/**
 * Where the query parser notes the first parameter whose text is not percent-encoded UTF-8
 * (%FF, a lone %, an encoded surrogate): the parser itself may not throw (it runs inside the
 * router), so the query's validator (validation.ts) refuses it with a 400.
 */
export const undecodableParameter: unique symbol = Symbol('undecodable query parameter');

/** The raw name of the first pair that does not decode. */
function firstUndecodable(input: string): string {
  for (const pair of input.split('&')) {
    try {
      decodeURIComponent(pair);
    } catch {
      const name = pair.split('=', 1)[0] ?? '';
      return name.length > 100 ? `${name.slice(0, 100)}…` : name;
    }
  }
  return '';
}

/**
 * Fastify's own parser (fast-querystring) keeps text that does not decode as it came ("%FF"
 * stays three characters), so a search for it would run on other text than the client meant.
 * Decoding the whole query once tells whether any pair is broken: '&' and '=' never sit inside
 * an escape.
 */
export function parseQueryString(input: string): Record<string, unknown> {
  const parsed = querystring.parse(input) as Record<string | symbol, unknown>;
  if (input.includes('%')) {
    try {
      decodeURIComponent(input);
    } catch {
      parsed[undecodableParameter] = firstUndecodable(input);
    }
  }
  return parsed;
}
