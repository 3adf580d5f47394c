/**
 * timestamptz values read from PostgreSQL's text format without regular expressions.
 *
 * pg turns each timestamptz into a Date with postgres-date, which runs three regular expressions
 * and a parseInt per field: on a page of orders (two timestamps per order) that was the largest
 * single function in the API's profile, and its match arrays were a tenth of the garbage a request
 * left. PostgreSQL writes timestamptz in one shape under its default DateStyle, ISO (which
 * postgres-date assumes as well): "2026-11-24 13:23:43.123456+00", with an offset of "+HH",
 * "+HH:MM" or "+HH:MM:SS" in the session's time zone. parseTimestamptz reads that shape and
 * computes exactly the Date postgres-date computes; parseTimestamptzText, the adapter's parser,
 * leaves anything else (infinity, years before 100 or after 9999, BC) to pg's own parser
 * (platform/test/pg-timestamp.test.ts compares both).
 */

import pg from 'pg';

/** Powers of ten for up to nine fractional digits (PostgreSQL writes at most six). */
const tens = [1, 10, 100, 1000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000, 1_000_000_000];

/** The number written by count ASCII digits from at, or -1 where one is not a digit. */
function digits(text: string, at: number, count: number): number {
  let value = 0;
  for (let i = at; i < at + count; i++) {
    const d = text.charCodeAt(i) - 48;
    // charCodeAt past the end is NaN, which fails this test too.
    if (!(d >= 0 && d <= 9)) return -1;
    value = value * 10 + d;
  }
  return value;
}

/**
 * The instant of a timestamptz in PostgreSQL's ISO text format, or undefined when the text is
 * not in the common shape (see above) and needs the general parser.
 */
export function parseTimestamptz(text: string): Date | undefined {
  const n = text.length;
  if (
    n < 22 ||
    text.charCodeAt(4) !== 45 || // -
    text.charCodeAt(7) !== 45 ||
    text.charCodeAt(10) !== 32 || // space
    text.charCodeAt(13) !== 58 || // :
    text.charCodeAt(16) !== 58
  )
    return undefined;
  const year = digits(text, 0, 4);
  const month = digits(text, 5, 2);
  const day = digits(text, 8, 2);
  const hour = digits(text, 11, 2);
  const minute = digits(text, 14, 2);
  const second = digits(text, 17, 2);
  // Years 0-99 need postgres-date's setUTCFullYear step (Date.UTC reads them as 1900-1999).
  if (year < 100 || month < 0 || day < 0 || hour < 0 || minute < 0 || second < 0) return undefined;

  let at = 19;
  let ms = 0;
  if (text.charCodeAt(at) === 46) {
    // .ffffff: postgres-date's 1000 * parseFloat(".ffffff"). The integer over a power of ten is
    // the same double as parseFloat's (both are the correctly rounded value of the same decimal).
    let fraction = 0;
    let count = 0;
    at++;
    for (let d = text.charCodeAt(at) - 48; d >= 0 && d <= 9; d = text.charCodeAt(at) - 48) {
      fraction = fraction * 10 + d;
      count++;
      at++;
    }
    if (count === 0 || count >= tens.length) return undefined;
    ms = 1000 * (fraction / (tens[count] as number));
  }

  const sign = text.charCodeAt(at);
  if (sign !== 43 && sign !== 45) return undefined; // + or -
  const offsetHours = digits(text, at + 1, 2);
  at += 3;
  let offsetMinutes = 0;
  let offsetSeconds = 0;
  if (text.charCodeAt(at) === 58) {
    offsetMinutes = digits(text, at + 1, 2);
    at += 3;
    if (text.charCodeAt(at) === 58) {
      offsetSeconds = digits(text, at + 1, 2);
      at += 3;
    }
  }
  // Anything after the offset (" BC") is for the general parser.
  if (at !== n || offsetHours < 0 || offsetMinutes < 0 || offsetSeconds < 0) return undefined;
  const offsetMs =
    (offsetHours * 3600 + offsetMinutes * 60 + offsetSeconds) * (sign === 45 ? -1000 : 1000);
  return new Date(Date.UTC(year, month - 1, day, hour, minute, second, ms) - offsetMs);
}

const stockTimestamptz = pg.types.getTypeParser(1184, 'text') as (text: string) => unknown;

/** The type parser the adapter gives pg for timestamptz: the common shape here, the rest pg's. */
export function parseTimestamptzText(text: string): unknown {
  return parseTimestamptz(text) ?? stockTimestamptz(text);
}
