/**
 * The dashboard's filters: parsed from the URL query, validated, and turned into UTC instants.
 * Every page and API endpoint takes the same filters; a bad value is a ParamError with a stable
 * code, answered as 400 `{ error: { code, message } }`.
 *
 * Time zones: a date range is whole local days in `tz`, cut at local midnight. The rollups' finest
 * grain is the UTC hour, so a zone whose offset is a whole number of hours is cut exactly. A zone
 * with a half- or quarter-hour offset (Asia/Kolkata, Asia/Kathmandu, Australia/Adelaide…) is cut at
 * the start of the UTC hour containing local midnight — up to 45 minutes early — and every answer
 * says so in `notice`, rather than reading the fact table at a cost no 30-day view can afford.
 */
import { eventModels } from '../../generated/catalog/models.ts';
import { FUNNEL_WINDOWS_S } from '../etl/funnel-sql.ts';
import { DEFAULT_FUNNEL } from '../etl/rollups.ts';
import { DAY_MS, HOUR_MS, hourStartMs } from '../time.ts';

export class ParamError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export const EVENT_NAMES: readonly string[] = [...new Set(eventModels.map((m) => m.name))].sort();
export const LOGIN_STATES = ['all', 'logged_in', 'guest'] as const;
export const REFRESH_SECONDS = [0, 10, 30, 60, 300] as const;
export const MAX_RANGE_DAYS = 400;
export const FUNNEL_WINDOWS: Record<string, number> = {
  '5m': FUNNEL_WINDOWS_S[0],
  '30m': FUNNEL_WINDOWS_S[1],
  '1h': FUNNEL_WINDOWS_S[2],
  '1d': FUNNEL_WINDOWS_S[3],
  session: FUNNEL_WINDOWS_S[4],
};

export interface Filters {
  /** Local dates, inclusive. */
  from: string;
  to: string;
  tz: string;
  granularity: 'hour' | 'day';
  login: (typeof LOGIN_STATES)[number];
  event?: string;
  excludeBots: boolean;
  refresh: number;
  /** [start, end): UTC instants of the range, on whole UTC hours. */
  start: Date;
  end: Date;
  /** The previous period of the same length. */
  prevStart: Date;
  prevEnd: Date;
  /** UTC start of each local day of the range (days + 1 entries, the last one = end). */
  dayStarts: Date[];
  /** Set when the zone's offset is not a whole hour (see the module comment). */
  notice?: string;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

function parseDate(name: string, value: string): number {
  const ms = Date.parse(`${value}T00:00:00Z`);
  if (!DATE.test(value) || Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== value) {
    throw new ParamError('invalid_date', `${name} must be a date YYYY-MM-DD, got ${JSON.stringify(value)}`);
  }
  return ms;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(tz, f);
  }
  return f;
}

export function validTimeZone(tz: string): boolean {
  if (!tz || tz.length > 64) return false;
  try {
    formatter(tz);
    return true;
  } catch {
    return false;
  }
}

/** Local wall-clock time minus UTC, in ms, at an instant. */
export function offsetMs(tz: string, instant: number): number {
  const parts: Record<string, number> = {};
  for (const p of formatter(tz).formatToParts(instant)) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  const wall = Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!);
  return wall - Math.floor(instant / 1000) * 1000;
}

/** The UTC instant of local midnight starting `date` (ms since epoch of YYYY-MM-DD at 00:00Z). */
export function localMidnight(tz: string, dateMs: number): number {
  const first = dateMs - offsetMs(tz, dateMs);
  const second = dateMs - offsetMs(tz, first);
  return second;
}

/** YYYY-MM-DD of an instant in the zone. */
export function localDate(tz: string, instant: number): string {
  return new Date(instant + offsetMs(tz, instant)).toISOString().slice(0, 10);
}

function one(q: URLSearchParams, name: string): string | undefined {
  const all = q.getAll(name);
  if (all.length > 1) throw new ParamError('invalid_parameter', `${name} is given ${all.length} times`);
  const v = all[0];
  return v === undefined || v === '' ? undefined : v;
}

function choice<T extends string>(q: URLSearchParams, name: string, allowed: readonly T[], fallback: T): T {
  const v = one(q, name) ?? fallback;
  if (!allowed.includes(v as T)) {
    throw new ParamError(`invalid_${name}`, `${name} must be one of ${allowed.join(', ')}, got ${JSON.stringify(v)}`);
  }
  return v as T;
}

export function parseEventName(name: string, value: string): string {
  if (!EVENT_NAMES.includes(value)) {
    throw new ParamError('unknown_event', `${name}: no event ${JSON.stringify(value)} in the registry`);
  }
  return value;
}

/** Filters from a query string; `now` is the dashboard's clock (tests pin it). */
export function parseFilters(q: URLSearchParams, now: Date): Filters {
  const tz = one(q, 'tz') ?? 'UTC';
  if (!validTimeZone(tz))
    throw new ParamError('unknown_timezone', `tz must be an IANA time zone, got ${JSON.stringify(tz)}`);
  const today = parseDate('today', localDate(tz, now.getTime()));
  const toRaw = one(q, 'to');
  const fromRaw = one(q, 'from');
  const toMs = toRaw ? parseDate('to', toRaw) : today;
  const fromMs = fromRaw ? parseDate('from', fromRaw) : toMs - 6 * DAY_MS;
  if (fromMs > toMs) throw new ParamError('invalid_range', 'from must not be after to');
  const days = Math.round((toMs - fromMs) / DAY_MS) + 1;
  if (days > MAX_RANGE_DAYS) {
    throw new ParamError('range_too_long', `the range is ${days} days; at most ${MAX_RANGE_DAYS} are allowed`);
  }
  const eventRaw = one(q, 'event');
  const refreshRaw = one(q, 'refresh') ?? '0';
  const refresh = Number(refreshRaw);
  if (!(REFRESH_SECONDS as readonly number[]).includes(refresh) || !/^\d+$/.test(refreshRaw)) {
    throw new ParamError('invalid_refresh', `refresh must be one of ${REFRESH_SECONDS.join(', ')} (seconds, 0 = off)`);
  }
  const dayStarts: Date[] = [];
  let fractional = false;
  for (let d = 0; d <= days; d++) {
    const midnight = localMidnight(tz, fromMs + d * DAY_MS);
    if (midnight % HOUR_MS !== 0) fractional = true;
    dayStarts.push(new Date(hourStartMs(midnight)));
  }
  const start = dayStarts[0] as Date;
  const end = dayStarts[days] as Date;
  const length = end.getTime() - start.getTime();
  const filters: Filters = {
    from: new Date(fromMs).toISOString().slice(0, 10),
    to: new Date(toMs).toISOString().slice(0, 10),
    tz,
    granularity: choice(q, 'granularity', ['hour', 'day'] as const, days <= 2 ? 'hour' : 'day'),
    login: choice(q, 'login', LOGIN_STATES, 'all'),
    event: eventRaw === undefined ? undefined : parseEventName('event', eventRaw),
    excludeBots: choice(q, 'bots', ['exclude', 'include'] as const, 'exclude') === 'exclude',
    refresh,
    start,
    end,
    prevStart: new Date(start.getTime() - length),
    prevEnd: start,
    dayStarts,
  };
  if (fractional) {
    filters.notice = `${tz} is not a whole number of hours from UTC: days are cut at the start of the UTC hour that contains local midnight (the rollups' grain), up to 45 minutes early.`;
  }
  return filters;
}

/** The funnel's steps and window (`steps=a,b,c`, `window=1h`). */
export function parseFunnel(q: URLSearchParams): { steps: string[]; window: string; isDefault: boolean } {
  const raw = one(q, 'steps');
  const steps = raw ? raw.split(',').map((s) => parseEventName('steps', s.trim())) : [...DEFAULT_FUNNEL];
  if (steps.length < 2 || steps.length > 6) {
    throw new ParamError('invalid_steps', `steps must list 2 to 6 events, got ${steps.length}`);
  }
  const window = one(q, 'window') ?? '1d';
  if (!Object.hasOwn(FUNNEL_WINDOWS, window)) {
    throw new ParamError('invalid_window', `window must be one of ${Object.keys(FUNNEL_WINDOWS).join(', ')}`);
  }
  const isDefault = steps.length === DEFAULT_FUNNEL.length && steps.every((s, i) => s === DEFAULT_FUNNEL[i]);
  return { steps, window, isDefault };
}

export function parseChoice<T extends string>(q: URLSearchParams, name: string, allowed: readonly T[], fallback: T): T {
  return choice(q, name, allowed, fallback);
}

export function parseOptional(q: URLSearchParams, name: string, maxLength: number): string | undefined {
  const v = one(q, name);
  if (v !== undefined && v.length > maxLength) {
    throw new ParamError('invalid_parameter', `${name} is longer than ${maxLength} characters`);
  }
  return v;
}

/** The query string of `filters` (and extra parameters), for links that keep the filters. */
export function filterQuery(f: Filters, extra: Record<string, string | undefined> = {}): string {
  const q = new URLSearchParams({ from: f.from, to: f.to, tz: f.tz, granularity: f.granularity, login: f.login });
  if (f.event) q.set('event', f.event);
  q.set('bots', f.excludeBots ? 'exclude' : 'include');
  if (f.refresh) q.set('refresh', String(f.refresh));
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) q.set(k, v);
  return q.toString();
}
