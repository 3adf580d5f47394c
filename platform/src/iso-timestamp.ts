/**
 * ISO 8601 timestamps checked field by field before they reach PostgreSQL or Date: Date.parse
 * rolls 2026-02-30 over to March 2, and PostgreSQL refuses year 0 (a 500 where the input was
 * wrong). Accepted: YYYY-MM-DDTHH:MM[:SS[.fraction of 1 to 6 digits]] and Z or ±HH[:]MM, a real
 * calendar day, hours 00–23, an offset up to ±15:59 (PostgreSQL's bound), and an instant in the
 * years 0001 to 9999 UTC.
 */
const shape =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?(?:Z|([+-])(\d{2}):?(\d{2}))$/;

const daysIn = (year: number, month: number) =>
  month === 2
    ? year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)
      ? 29
      : 28
    : [4, 6, 9, 11].includes(month)
      ? 30
      : 31;

export type TimestampCheck = { ms: number } | { problem: string };

/** The instant in ms since the epoch, or why the text is not a timestamp this system stores. */
export function checkTimestamp(text: string): TimestampCheck {
  const m = shape.exec(text);
  if (!m) return { problem: 'must be an ISO 8601 timestamp with a zone (2026-01-31T18:30:00Z)' };
  const [year, month, day, hour, minute, second] = [1, 2, 3, 4, 5, 6].map((i) =>
    Number(m[i] ?? 0),
  ) as [number, number, number, number, number, number];
  if (month < 1 || month > 12) return { problem: `has no month ${m[2]}` };
  if (day < 1 || day > daysIn(year, month))
    return { problem: `names a day that does not exist (${m[1]}-${m[2]}-${m[3]})` };
  if (hour > 23 || minute > 59 || second > 59)
    return { problem: `names a time of day that does not exist (${m[4]}:${m[5]}:${m[6] ?? '00'})` };
  const offsetMinutes =
    m[8] === undefined ? 0 : (m[8] === '-' ? -1 : 1) * (Number(m[9]) * 60 + Number(m[10]));
  if (m[8] !== undefined && (Number(m[9]) > 15 || Number(m[10]) > 59))
    return { problem: `has an offset beyond ±15:59 (${m[8]}${m[9]}:${m[10]})` };
  const date = new Date(0);
  // setUTCFullYear, not Date.UTC: Date.UTC reads years 0 to 99 as 1900 to 1999.
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, Number((m[7] ?? '0').padEnd(3, '0').slice(0, 3)));
  const ms = date.getTime() - offsetMinutes * 60_000;
  const utcYear = new Date(ms).getUTCFullYear();
  if (utcYear < 1 || utcYear > 9999) return { problem: 'is outside the years 0001 to 9999 (UTC)' };
  return { ms };
}
