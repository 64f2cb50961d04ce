let isoAt = Number.NaN;
let iso = "";

/**
 * `new Date().toISOString()`, built once per millisecond: under load many responses and log lines
 * share one, and formatting a date costs more than comparing two numbers.
 */
export function isoNow(): string {
  const now = Date.now();
  if (now !== isoAt) {
    isoAt = now;
    iso = new Date(now).toISOString();
  }
  return iso;
}
