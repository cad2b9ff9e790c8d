/**
 * UTC hour and day arithmetic, in one place: the lake partitions by UTC hour, the ETL plans and
 * refreshes by UTC day, the dashboard reads hour and day rollups. Instants are epoch ms or Dates.
 */

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;

/** Start (epoch ms) of the UTC hour holding `ms`. */
export const hourStartMs = (ms: number) => Math.floor(ms / HOUR_MS) * HOUR_MS;
/** Start (epoch ms) of the UTC day holding `ms`. */
export const dayStartMs = (ms: number) => Math.floor(ms / DAY_MS) * DAY_MS;
/** The UTC hour holding `d`. */
export const floorHour = (d: Date) => new Date(hourStartMs(d.getTime()));
/** The UTC midnight of the day holding `d`. */
export const floorDay = (d: Date) => new Date(dayStartMs(d.getTime()));

/** The UTC days (their midnights) that overlap [start, end). */
export function daysOf(start: Date, end: Date): Date[] {
  const days: Date[] = [];
  for (let d = dayStartMs(start.getTime()); d < end.getTime(); d += DAY_MS) days.push(new Date(d));
  return days;
}

/** YYYY-MM-DD in UTC of an RFC 3339 timestamp; the common `…Z` form needs no Date. */
export function utcDay(timestamp: string): string {
  return timestamp.endsWith('Z') ? timestamp.slice(0, 10) : new Date(timestamp).toISOString().slice(0, 10);
}
