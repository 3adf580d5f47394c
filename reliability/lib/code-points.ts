import fc from 'fast-check';

/**
 * Text drawn from every class of code point a client can put in a string. NUL and lone
 * surrogates are text PostgreSQL cannot store (the API must refuse them); the others are valid
 * text that must never cause a 5xx.
 */
const classes = {
  NUL: fc.constant('\u0000'),
  controls: fc.oneof(
    fc.integer({ min: 0x01, max: 0x1f }),
    fc.constant(0x7f),
    fc.integer({ min: 0x80, max: 0x9f }),
  ),
  'lone surrogates': fc.integer({ min: 0xd800, max: 0xdfff }),
  'non-characters': fc.oneof(
    fc.integer({ min: 0xfdd0, max: 0xfdef }),
    fc.integer({ min: 0, max: 16 }).map((plane) => plane * 0x10000 + 0xfffe),
    fc.integer({ min: 0, max: 16 }).map((plane) => plane * 0x10000 + 0xffff),
  ),
  'combining marks': fc.oneof(
    fc.integer({ min: 0x0300, max: 0x036f }),
    fc.constantFrom(0x200d, 0x20dd, 0xfe0f),
  ),
  'right-to-left': fc.oneof(
    fc.integer({ min: 0x05d0, max: 0x05ea }),
    fc.integer({ min: 0x0627, max: 0x064a }),
    fc.constantFrom(0x200f, 0x202b, 0x202e, 0x2067),
  ),
  emoji: fc.oneof(
    fc.integer({ min: 0x1f300, max: 0x1f6ff }),
    fc.constantFrom('👩‍🍳', '🇫🇷', '👍🏽', '❤️'),
  ),
} as const;

export type CodePointClass = keyof typeof classes;
export const codePointClasses = Object.keys(classes) as CodePointClass[];

/** The classes the API must refuse wherever they appear. */
export const unstorable: ReadonlySet<CodePointClass> = new Set(['NUL', 'lone surrogates']);

const asText = (v: number | string) =>
  typeof v === 'string'
    ? v
    : v >= 0xd800 && v <= 0xdfff
      ? String.fromCharCode(v)
      : String.fromCodePoint(v);

/** Some ordinary text with one to three code points of one class somewhere in it. */
export function textOf(cls: CodePointClass): fc.Arbitrary<string> {
  const piece = (classes[cls] as fc.Arbitrary<number | string>).map(asText);
  return (
    fc
      .tuple(
        fc.string({ maxLength: 5, unit: fc.constantFrom(...'abcXYZ 09-') }),
        fc.array(piece, { minLength: 1, maxLength: 3 }),
        fc.string({ maxLength: 5, unit: fc.constantFrom(...'abcXYZ 09-') }),
      )
      // A high surrogate before a low one would make a pair: valid text, not a lone surrogate.
      .map(([a, pieces, b]) => `${a}${pieces.join('x')}${b}`)
  );
}

/** A class and a text of it, every class equally likely. */
export const classedText: fc.Arbitrary<{ cls: CodePointClass; text: string }> = fc
  .constantFrom(...codePointClasses)
  .chain((cls) => textOf(cls).map((text) => ({ cls, text })));

/**
 * Percent-encodes every UTF-16 unit as its UTF-8 bytes, lone surrogates included (as the three
 * bytes UTF-8 would give them, which a strict decoder refuses): encodeURIComponent throws on them.
 */
export function percentEncode(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const next = text.charCodeAt(i + 1);
    if (c >= 0xd800 && c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
      out += encodeURIComponent(text.slice(i, i + 2));
      i++;
    } else if (c >= 0xd800 && c <= 0xdfff) {
      out += [0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f)]
        .map((b) => `%${b.toString(16).toUpperCase()}`)
        .join('');
    } else out += encodeURIComponent(text[i] as string);
  }
  return out;
}

/** The bytes UTF-8 gives a text, lone surrogates included (see percentEncode). */
export function wireBytes(text: string): Buffer {
  return Buffer.from(
    percentEncode(text).replace(/%([0-9A-F]{2})/g, (_, hex: string) =>
      String.fromCharCode(Number.parseInt(hex, 16)),
    ),
    'latin1',
  );
}
