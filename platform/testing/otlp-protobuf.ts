/**
 * Reads an OTLP/HTTP protobuf ExportTraceServiceRequest into the OTLP/JSON shape, so test
 * receivers take the programs' default http/protobuf too. Only the fields tests read (field
 * numbers from opentelemetry-proto's trace.proto and common.proto).
 */

type Field = { wire: 0; value: bigint } | { wire: 1 | 2 | 5; value: Buffer };

/** The fields of one message, by number, in order of appearance. */
function fields(buf: Buffer): Map<number, Field[]> {
  const out = new Map<number, Field[]>();
  let pos = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (pos >= buf.length) throw new Error('truncated varint');
      const byte = buf[pos++]!;
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7n;
    }
  };
  const take = (n: number): Buffer => {
    if (pos + n > buf.length) throw new Error('truncated field');
    const slice = buf.subarray(pos, pos + n);
    pos += n;
    return slice;
  };
  while (pos < buf.length) {
    const key = Number(varint());
    const number = key >>> 3;
    const wire = key & 7;
    let field: Field;
    if (wire === 0) field = { wire, value: varint() };
    else if (wire === 1) field = { wire, value: take(8) };
    else if (wire === 2) field = { wire, value: take(Number(varint())) };
    else if (wire === 5) field = { wire, value: take(4) };
    else throw new Error(`unsupported wire type ${wire}`);
    const list = out.get(number) ?? [];
    list.push(field);
    out.set(number, list);
  }
  return out;
}

const bytesOf = (f: Field | undefined): Buffer => (f && f.wire !== 0 ? f.value : Buffer.alloc(0));
const messages = (m: Map<number, Field[]>, n: number): Map<number, Field[]>[] =>
  (m.get(n) ?? []).map((f) => fields(bytesOf(f)));
const message = (m: Map<number, Field[]>, n: number): Map<number, Field[]> =>
  fields(bytesOf(m.get(n)?.[0]));
const string = (m: Map<number, Field[]>, n: number): string =>
  bytesOf(m.get(n)?.[0]).toString('utf8');
const hex = (m: Map<number, Field[]>, n: number): string => bytesOf(m.get(n)?.[0]).toString('hex');
const uint = (m: Map<number, Field[]>, n: number): bigint => {
  const f = m.get(n)?.[0];
  if (!f) return 0n;
  return f.wire === 0 ? f.value : f.value.readBigUInt64LE();
};

function anyValue(m: Map<number, Field[]>): Record<string, unknown> {
  if (m.has(1)) return { stringValue: string(m, 1) };
  if (m.has(2)) return { boolValue: uint(m, 2) !== 0n };
  if (m.has(3)) return { intValue: BigInt.asIntN(64, uint(m, 3)).toString() };
  if (m.has(4)) return { doubleValue: bytesOf(m.get(4)?.[0]).readDoubleLE() };
  if (m.has(5)) return { arrayValue: { values: messages(message(m, 5), 1).map(anyValue) } };
  return {};
}

const attributes = (m: Map<number, Field[]>, n: number) =>
  messages(m, n).map((kv) => ({ key: string(kv, 1), value: anyValue(message(kv, 2)) }));

export function decodeTraceRequest(body: Buffer): unknown {
  const request = fields(body);
  return {
    resourceSpans: messages(request, 1).map((rs) => ({
      resource: { attributes: attributes(message(rs, 1), 1) },
      scopeSpans: messages(rs, 2).map((ss) => ({
        spans: messages(ss, 2).map((s) => ({
          traceId: hex(s, 1),
          spanId: hex(s, 2),
          parentSpanId: hex(s, 4),
          name: string(s, 5),
          kind: Number(uint(s, 6)),
          startTimeUnixNano: uint(s, 7).toString(),
          endTimeUnixNano: uint(s, 8).toString(),
          attributes: attributes(s, 9),
          events: messages(s, 11).map((e) => ({
            name: string(e, 2),
            attributes: attributes(e, 3),
          })),
          status: s.has(15)
            ? {
                ...(message(s, 15).has(2) ? { message: string(message(s, 15), 2) } : {}),
                code: Number(uint(message(s, 15), 3)),
              }
            : {},
        })),
      })),
    })),
  };
}
