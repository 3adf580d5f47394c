/**
 * Counts the spans in an OTLP ExportTraceServiceRequest without decoding them: walks
 * resource_spans (1) → scope_spans (2) → spans (2), skipping every other field by its wire type.
 */
export function countSpansProtobuf(buf: Uint8Array): number {
  return countIn(buf, 0, buf.length, [1, 2, 2], 0);
}

function varint(buf: Uint8Array, pos: number): [number, number] {
  let result = 0;
  let shift = 0;
  for (;;) {
    if (pos >= buf.length) throw new Error('truncated varint');
    const byte = buf[pos++]!;
    result += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) return [result, pos];
    shift += 7;
  }
}

function countIn(
  buf: Uint8Array,
  start: number,
  end: number,
  path: readonly number[],
  depth: number,
): number {
  let count = 0;
  let pos = start;
  while (pos < end) {
    const [tag, afterTag] = varint(buf, pos);
    pos = afterTag;
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (wire === 0) {
      pos = varint(buf, pos)[1];
    } else if (wire === 1) {
      pos += 8;
    } else if (wire === 5) {
      pos += 4;
    } else if (wire === 2) {
      const [len, afterLen] = varint(buf, pos);
      pos = afterLen;
      if (field === path[depth]) {
        count += depth === path.length - 1 ? 1 : countIn(buf, pos, pos + len, path, depth + 1);
      }
      pos += len;
    } else {
      throw new Error(`unsupported wire type ${wire}`);
    }
  }
  if (pos !== end) throw new Error('malformed message');
  return count;
}

/** The same count for OTLP/JSON. */
export function countSpansJson(text: string): number {
  const body = JSON.parse(text) as {
    resourceSpans?: { scopeSpans?: { spans?: unknown[] }[] }[];
  };
  let count = 0;
  for (const rs of body.resourceSpans ?? [])
    for (const ss of rs.scopeSpans ?? []) count += ss.spans?.length ?? 0;
  return count;
}
