/**
 * Headers that must come once: Node keeps the first Authorization and drops the rest, and joins
 * repeated Idempotency-Keys with ", ", so a second copy would silently pick the caller or make up
 * another key. Read from rawHeaders (name, value, name, value …): a loop over the request's
 * header names comparing lengths first, on every request.
 */
export function repeatedHeader(rawHeaders: readonly string[]): string | undefined {
  let authorization = false;
  let idempotencyKey = false;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string;
    if (name.length === 13 && name.toLowerCase() === 'authorization') {
      if (authorization) return 'Authorization';
      authorization = true;
    } else if (name.length === 15 && name.toLowerCase() === 'idempotency-key') {
      if (idempotencyKey) return 'Idempotency-Key';
      idempotencyKey = true;
    }
  }
  return undefined;
}
