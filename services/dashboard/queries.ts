/**
 * One function per dashboard panel: filters in, plain JSON out. Every query reads rollups the ETL
 * maintains (services/etl/rollups.ts) — never the fact table for a range — except the raw-event
 * list (keyset-paged through the event_timestamp index), a funnel with non-default steps (the
 * facts of the sessions started in the range), and pipeline health's newest event (one index
 * probe). SQL is parameterised throughout: filter values only ever travel as $n parameters.
 *
 * A range [A, B) reads rollup rows of grain 'd' for its whole UTC days and grain 'h' for the edge
 * hours, so the row count stays ~flat in the range length (see rollups.ts).
 */
import { eventModels } from '../../generated/catalog/models.ts';
import type { EventName } from '../../generated/types/events.ts';
import { funnelReachSql } from '../etl/funnel-sql.ts';
import { DEFAULT_FUNNEL } from '../etl/rollups.ts';
import { ev } from '../etl/warehouse-sql.ts';
import type { LakeObject, RawStore } from '../lake/raw-store.ts';
import { hourPrefix } from '../lake/raw-store.ts';
import { DAY_MS, dayStartMs, HOUR_MS, hourStartMs } from '../time.ts';
import { type Filters, FUNNEL_WINDOWS } from './params.ts';

export interface Db {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
}

/** Collects parameters; `p(v)` returns the placeholder of v. */
class Params {
  readonly values: unknown[] = [];
  p(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

/** Rollup rows (alias r) of [start, end): whole UTC days from 'd' rows, edge hours from 'h' rows. */
function inRange(ps: Params, start: Date, end: Date, alias = 'r'): string {
  const a = start.getTime();
  const b = end.getTime();
  let d1 = Math.ceil(a / DAY_MS) * DAY_MS;
  let d2 = dayStartMs(b);
  if (d1 >= d2) {
    d1 = b;
    d2 = b;
  }
  const [pa, pb, p1, p2] = [a, b, d1, d2].map((ms) => ps.p(new Date(ms).toISOString()));
  return `((${alias}.grain = 'd' AND ${alias}.bucket >= ${p1}::timestamptz AND ${alias}.bucket < ${p2}::timestamptz)
    OR (${alias}.grain = 'h' AND ((${alias}.bucket >= ${pa}::timestamptz AND ${alias}.bucket < ${p1}::timestamptz)
      OR (${alias}.bucket >= ${p2}::timestamptz AND ${alias}.bucket < ${pb}::timestamptz))))`;
}

/**
 * Rows of [start, end) at the grain of the filters' buckets (time series): 'd' rows when every
 * bucket is a whole UTC day (days in UTC), else 'h' rows, which the caller maps to local buckets.
 */
function seriesRows(ps: Params, f: Filters, alias = 'r'): string {
  const utcDays = f.granularity === 'day' && f.dayStarts.every((d) => d.getTime() % DAY_MS === 0);
  return `${alias}.grain = '${utcDays ? 'd' : 'h'}' AND ${alias}.bucket >= ${ps.p(f.start.toISOString())}::timestamptz
    AND ${alias}.bucket < ${ps.p(f.end.toISOString())}::timestamptz`;
}

/** Login-state and bot conditions on a rollup with user_login_state and is_bot. */
function segment(ps: Params, f: Filters, alias = 'r'): string {
  const parts: string[] = [];
  if (f.login !== 'all') parts.push(`${alias}.user_login_state = ${ps.p(f.login)}`);
  if (f.excludeBots) parts.push(`NOT ${alias}.is_bot`);
  return parts.length ? ` AND ${parts.join(' AND ')}` : '';
}

const num = (v: unknown) => (v === null || v === undefined ? 0 : Number(v));
const ratio = (a: number, b: number) => (b > 0 ? a / b : null);
const change = (cur: number | null, prev: number | null) =>
  cur === null || prev === null || prev === 0 ? null : (cur - prev) / prev;
const round2 = (n: number) => Math.round(n * 100) / 100;

// ---------------------------------------------------------------- KPIs

interface Totals {
  events: number;
  unique_clients: number;
  sessions: number;
  conversion_rate: number | null;
  checkout_rate: number | null;
  revenue: number;
  orders: number;
  aov: number | null;
}

async function totals(db: Db, f: Filters, start: Date, end: Date): Promise<Totals> {
  const ps = new Params();
  const eventCond = f.event ? `event_name = ${ps.p(f.event)}` : 'true';
  const [purchase, cart, checkout] = (['purchase', 'add_to_cart', 'begin_checkout'] satisfies EventName[]).map((n) =>
    ps.p(n),
  );
  const range = inRange(ps, start, end);
  const seg = segment(ps, f);
  const [ev] = await db.query<Record<string, string | null>>(
    `SELECT sum(events) FILTER (WHERE ${eventCond}) AS events,
       sum(events) FILTER (WHERE event_name = ${purchase}) AS orders,
       sum(order_total) FILTER (WHERE event_name = ${purchase}) AS revenue,
       sum(events) FILTER (WHERE event_name = ${cart}) AS add_to_carts,
       sum(events) FILTER (WHERE event_name = ${checkout}) AS checkouts
     FROM rollup_event_counts r WHERE ${range}${seg}`,
    ps.values,
  );
  const ss = new Params();
  const [se] = await db.query<Record<string, string | null>>(
    `SELECT sum(sessions) AS sessions, sum(converted) AS converted FROM rollup_sessions r
     WHERE ${inRange(ss, start, end)}${segment(ss, f)}`,
    ss.values,
  );
  const orders = num(ev?.orders);
  const revenue = round2(num(ev?.revenue));
  const sessions = num(se?.sessions);
  return {
    events: num(ev?.events),
    unique_clients: await uniqueClients(db, f, start, end),
    sessions,
    conversion_rate: ratio(num(se?.converted), sessions),
    checkout_rate: ratio(num(ev?.checkouts), num(ev?.add_to_carts)),
    revenue,
    orders,
    aov: orders ? round2(revenue / orders) : null,
  };
}

/**
 * Exact distinct clients of [start, end): each client active in the range has exactly one
 * activity hour there whose previous activity hour (in the same login/bot series) lies before
 * the range, so summing those rows counts every client once.
 */
export async function uniqueClients(db: Db, f: Filters, start: Date, end: Date): Promise<number> {
  const ps = new Params();
  const [row] = await db.query<{ n: string | null }>(
    `SELECT sum(clients) AS n FROM rollup_clients r
     WHERE ${inRange(ps, start, end)} AND r.login_key = ${ps.p(f.login === 'all' ? '*' : f.login)}
       AND r.include_bots = ${ps.p(!f.excludeBots)} AND r.prev_hour < ${ps.p(start.toISOString())}::timestamptz`,
    ps.values,
  );
  return num(row?.n);
}

/** Events of the range that the bot filter hides (0 when bots are included). */
async function hiddenBotEvents(db: Db, f: Filters): Promise<number> {
  if (!f.excludeBots) return 0;
  const ps = new Params();
  const eventCond = f.event ? ` AND r.event_name = ${ps.p(f.event)}` : '';
  const loginCond = f.login !== 'all' ? ` AND r.user_login_state = ${ps.p(f.login)}` : '';
  const [row] = await db.query<{ n: string | null }>(
    `SELECT sum(events) AS n FROM rollup_event_counts r
     WHERE ${inRange(ps, f.start, f.end)} AND r.is_bot${loginCond}${eventCond}`,
    ps.values,
  );
  return num(row?.n);
}

export async function kpis(db: Db, f: Filters) {
  const current = await totals(db, f, f.start, f.end);
  const previous = await totals(db, f, f.prevStart, f.prevEnd);
  const bot_events_hidden = await hiddenBotEvents(db, f);
  const keys = Object.keys(current) as (keyof Totals)[];
  return {
    current,
    previous,
    change: Object.fromEntries(keys.map((k) => [k, change(current[k], previous[k])])) as Record<
      keyof Totals,
      number | null
    >,
    unique_clients_exact: true,
    /** Events of the range from user agents classified as bots, left out by `bots=exclude`. */
    bot_events_hidden,
    previous_period: { start: f.prevStart.toISOString(), end: f.prevEnd.toISOString() },
  };
}

// ---------------------------------------------------------------- time series and breakdowns

/** Bucket starts (UTC ms) of the range at the filters' granularity. */
export function bucketStarts(f: Filters): number[] {
  if (f.granularity === 'day') return f.dayStarts.slice(0, -1).map((d) => d.getTime());
  const out: number[] = [];
  for (let t = f.start.getTime(); t < f.end.getTime(); t += HOUR_MS) out.push(t);
  return out;
}

/** Maps each UTC hour of the range to its bucket index. */
function bucketIndex(f: Filters): Map<number, number> {
  const starts = bucketStarts(f);
  const index = new Map<number, number>();
  let b = 0;
  for (let t = f.start.getTime(); t < f.end.getTime(); t += HOUR_MS) {
    while (b + 1 < starts.length && t >= (starts[b + 1] as number)) b++;
    index.set(t, b);
  }
  return index;
}

const MAX_SERIES = 8;

export async function eventsOverTime(db: Db, f: Filters, by: 'event' | 'login') {
  const ps = new Params();
  const key = by === 'event' ? 'event_name' : 'user_login_state';
  const eventCond = f.event ? ` AND r.event_name = ${ps.p(f.event)}` : '';
  const rows = await db.query<{ bucket: Date; k: string; n: string }>(
    `SELECT r.bucket, r.${key} AS k, sum(r.events) AS n FROM rollup_event_counts r
     WHERE ${seriesRows(ps, f)}${segment(ps, f)}${eventCond} GROUP BY 1, 2`,
    ps.values,
  );
  const starts = bucketStarts(f);
  const index = bucketIndex(f);
  const totalsByKey = new Map<string, number>();
  for (const r of rows) totalsByKey.set(r.k, (totalsByKey.get(r.k) ?? 0) + num(r.n));
  const ranked = [...totalsByKey].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([k]) => k);
  const names = ranked.length > MAX_SERIES ? [...ranked.slice(0, MAX_SERIES - 1), '(other)'] : ranked;
  const series = new Map(names.map((n) => [n, new Array<number>(starts.length).fill(0)]));
  for (const r of rows) {
    const i = index.get(new Date(r.bucket).getTime());
    if (i === undefined) continue;
    const values = series.get(r.k) ?? series.get('(other)');
    if (values) values[i] = (values[i] as number) + num(r.n);
  }
  return {
    by,
    granularity: f.granularity,
    tz: f.tz,
    buckets: starts.map((t) => new Date(t).toISOString()),
    series: [...series].map(([name, values]) => ({ name, values })),
  };
}

export async function topEvents(db: Db, f: Filters) {
  const ps = new Params();
  const rows = await db.query<{ event_name: string; n: string }>(
    `SELECT event_name, sum(events) AS n FROM rollup_event_counts r WHERE ${inRange(ps, f.start, f.end)}${segment(ps, f)}
     GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10`,
    ps.values,
  );
  const total = rows.reduce((s, r) => s + num(r.n), 0);
  return { rows: rows.map((r) => ({ event_name: r.event_name, events: num(r.n), share: ratio(num(r.n), total) })) };
}

export async function loginStates(db: Db, f: Filters) {
  const ps = new Params();
  const eventCond = f.event ? ` AND r.event_name = ${ps.p(f.event)}` : '';
  const rows = await db.query<{ user_login_state: string; identity_source: string; n: string }>(
    `SELECT user_login_state, identity_source, sum(events) AS n FROM rollup_event_counts r
     WHERE ${inRange(ps, f.start, f.end)}${segment(ps, f)}${eventCond} GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2`,
    ps.values,
  );
  const total = rows.reduce((s, r) => s + num(r.n), 0);
  return {
    rows: rows.map((r) => ({
      user_login_state: r.user_login_state,
      identity_source: r.identity_source,
      events: num(r.n),
      share: ratio(num(r.n), total),
    })),
  };
}

// ---------------------------------------------------------------- funnel

export async function funnel(db: Db, f: Filters, opts: { steps: string[]; window: string; isDefault: boolean }) {
  const windowS = FUNNEL_WINDOWS[opts.window] as number;
  const ps = new Params();
  let reached: number[];
  if (opts.isDefault) {
    const rows = await db.query<{ step: number; n: string }>(
      `SELECT step, sum(sessions) AS n FROM rollup_funnel r
       WHERE ${inRange(ps, f.start, f.end)}${segment(ps, f)} AND r.within_s <= ${ps.p(windowS)} GROUP BY 1`,
      ps.values,
    );
    reached = opts.steps.map((_, i) => num(rows.find((r) => Number(r.step) === i + 1)?.n));
  } else {
    // Other steps: the same ordered-funnel SQL the ETL uses, over the facts of the range's sessions.
    const sessionsSql = `SELECT sd.session_id FROM session_details sd
       WHERE sd.start_hour >= ${ps.p(f.start.toISOString())}::timestamptz AND sd.start_hour < ${ps.p(f.end.toISOString())}::timestamptz${segment(ps, f, 'sd')}`;
    const stepParams = opts.steps.map((s) => `${ps.p(s)}::text`);
    const events = `(SELECT e.session_id, e.event_timestamp, e.event_id, e.event_name FROM clickstream_events e
       WHERE e.session_id IN (${sessionsSql}) AND e.event_name IN (${stepParams.join(', ')})) fe`;
    const w = ps.p(windowS);
    const counts = opts.steps.map((_, i) => `count(*) FILTER (WHERE r${i + 1} <= ${w}::bigint * 1000) AS s${i + 1}`);
    const [row] = await db.query<Record<string, string>>(
      `SELECT ${counts.join(', ')} FROM (${funnelReachSql(events, stepParams)}) fr`,
      ps.values,
    );
    reached = opts.steps.map((_, i) => num(row?.[`s${i + 1}`]));
  }
  const ss = new Params();
  const [entered] = await db.query<{ n: string | null }>(
    `SELECT sum(sessions) AS n FROM rollup_sessions r WHERE ${inRange(ss, f.start, f.end)}${segment(ss, f)}`,
    ss.values,
  );
  const first = reached[0] ?? 0;
  return {
    steps: opts.steps.map((event, i) => {
      const sessions = reached[i] as number;
      const before = i === 0 ? num(entered?.n) : (reached[i - 1] as number);
      return {
        step: i + 1,
        event,
        sessions,
        conversion_from_previous: ratio(sessions, before),
        conversion_from_first: ratio(sessions, first),
        drop_off: i === 0 ? null : before - sessions,
      };
    }),
    sessions: num(entered?.n),
    window: opts.window,
    default_steps: [...DEFAULT_FUNNEL],
    source: opts.isDefault ? 'rollup_funnel' : 'clickstream_events',
  };
}

export const FUNNEL_WINDOW_LABELS = Object.keys(FUNNEL_WINDOWS);

// ---------------------------------------------------------------- retention

export async function retention(db: Db, f: Filters, cohort: 'week' | 'day', now: Date) {
  const len = cohort === 'week' ? 7 : 1;
  const fromMs = Date.parse(`${f.from}T00:00:00Z`);
  const toMs = Date.parse(`${f.to}T00:00:00Z`) + DAY_MS;
  const lastMs = Math.min(toMs, dayStartMs(now.getTime()) + DAY_MS);
  const cohorts: { start: number; end: number }[] = [];
  for (let c = fromMs; c < toMs; c += len * DAY_MS) cohorts.push({ start: c, end: Math.min(c + len * DAY_MS, toMs) });
  const cells: [number, number, string, string, string, string][] = [];
  cohorts.forEach((c, ci) => {
    for (let k = 0, p = c.start; p < lastMs; k++, p += len * DAY_MS) {
      const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
      cells.push([ci, k, day(c.start), day(c.end), day(p), day(p + len * DAY_MS)]);
    }
  });
  const ps = new Params();
  const cellRows = cells.length
    ? await db.query<{ ci: number; k: number; n: string }>(
        `SELECT c.ci, c.k, sum(r.clients) AS n
         FROM unnest(${ps.p(cells.map((c) => c[0]))}::int[], ${ps.p(cells.map((c) => c[1]))}::int[],
           ${ps.p(cells.map((c) => c[2]))}::date[], ${ps.p(cells.map((c) => c[3]))}::date[],
           ${ps.p(cells.map((c) => c[4]))}::date[], ${ps.p(cells.map((c) => c[5]))}::date[])
           AS c(ci, k, c_start, c_end, p_start, p_end)
         JOIN rollup_retention r ON r.include_bots = ${ps.p(!f.excludeBots)}
           AND r.first_day >= c.c_start AND r.first_day < c.c_end
           AND r.active_day >= c.p_start AND r.active_day < c.p_end AND r.prev_day < c.p_start
         GROUP BY 1, 2`,
        ps.values,
      )
    : [];
  const value = new Map(cellRows.map((r) => [`${r.ci}:${r.k}`, num(r.n)]));
  return {
    cohort,
    note: 'Cohorts are new clients by the UTC day of their first event; periods are UTC days/weeks from the cohort start.',
    cohorts: cohorts.map((c, ci) => {
      const size = value.get(`${ci}:0`) ?? 0;
      const periods: { period: number; clients: number; share: number | null }[] = [];
      for (let k = 0; c.start + k * len * DAY_MS < lastMs; k++) {
        const n = value.get(`${ci}:${k}`) ?? 0;
        periods.push({ period: k, clients: n, share: ratio(n, size) });
      }
      return { start: new Date(c.start).toISOString().slice(0, 10), clients: size, periods };
    }),
  };
}

// ---------------------------------------------------------------- paths

/** 'd' rows of the UTC days that overlap [start, end) (rollups kept per day only). */
function daysOverlapping(ps: Params, start: Date, end: Date, alias = 'r'): string {
  const first = dayStartMs(start.getTime());
  const last = Math.ceil(end.getTime() / DAY_MS) * DAY_MS;
  return `${alias}.grain = 'd' AND ${alias}.bucket >= ${ps.p(new Date(first).toISOString())}::timestamptz
    AND ${alias}.bucket < ${ps.p(new Date(last).toISOString())}::timestamptz`;
}

export async function paths(db: Db, f: Filters, after: string) {
  const ps = new Params();
  const range = daysOverlapping(ps, f.start, f.end);
  const seg = segment(ps, f);
  const top = await db.query<{ step1: string; step2: string; step3: string; n: string }>(
    `SELECT step1, step2, step3, sum(sessions) AS n FROM rollup_paths r
     WHERE ${range}${seg} AND r.kind = 'trigram' GROUP BY 1, 2, 3 ORDER BY 4 DESC, 1, 2, 3 LIMIT 10`,
    ps.values,
  );
  const ns = new Params();
  const a = ns.p(after);
  const next = await db.query<{ step2: string; n: string }>(
    `SELECT step2, sum(sessions) AS n FROM rollup_paths r
     WHERE ${daysOverlapping(ns, f.start, f.end)}${segment(ns, f)} AND r.kind = 'next'
       AND (r.step1 = ${a} OR (${a} = ${ev('page_view')} AND r.step1 LIKE 'page:%'))
     GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10`,
    ns.values,
  );
  const nextTotal = next.reduce((s, r) => s + num(r.n), 0);
  return {
    note: 'Paths count the sessions started on the UTC days that overlap the range.',
    top: top.map((r) => ({ path: [r.step1, r.step2, r.step3], sessions: num(r.n) })),
    after,
    next: next.map((r) => ({ step: r.step2, transitions: num(r.n), share: ratio(num(r.n), nextTotal) })),
  };
}

// ---------------------------------------------------------------- products

export async function products(db: Db, f: Filters, group: 'product' | 'category' | 'brand') {
  const ps = new Params();
  const key =
    group === 'product'
      ? 'product_id, max(product_name) AS product_name, max(category) AS category, max(brand) AS brand'
      : `coalesce(${group}, '(none)') AS ${group}`;
  const rows = await db.query<Record<string, string>>(
    `SELECT ${key}, sum(views) AS views, sum(add_to_carts) AS add_to_carts, sum(purchases) AS purchases,
       sum(revenue) AS revenue
     FROM rollup_products r WHERE ${inRange(ps, f.start, f.end)}${segment(ps, f)}
     GROUP BY 1 ORDER BY views DESC, add_to_carts DESC, revenue DESC, 1 LIMIT 10`,
    ps.values,
  );
  return {
    group,
    rows: rows.map((r) => ({
      ...(group === 'product'
        ? { product_id: r.product_id, product_name: r.product_name, category: r.category, brand: r.brand }
        : { [group]: r[group] }),
      views: num(r.views),
      add_to_carts: num(r.add_to_carts),
      purchases: num(r.purchases),
      revenue: round2(num(r.revenue)),
      view_to_cart_rate: ratio(num(r.add_to_carts), num(r.views)),
    })),
  };
}

// ---------------------------------------------------------------- acquisition and technology

export async function sources(db: Db, f: Filters, dimension: 'landing_page' | 'referrer' | 'utm_source') {
  const ps = new Params();
  const rows = await db.query<{ value: string; sessions: string; bounces: string; converted: string }>(
    `SELECT value, sum(sessions) AS sessions, sum(bounces) AS bounces, sum(converted) AS converted
     FROM rollup_session_sources r WHERE ${inRange(ps, f.start, f.end)}${segment(ps, f)} AND r.dimension = ${ps.p(dimension)}
     GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10`,
    ps.values,
  );
  return {
    dimension,
    rows: rows.map((r) => ({
      [dimension]: r.value,
      sessions: num(r.sessions),
      bounce_rate: ratio(num(r.bounces), num(r.sessions)),
      conversion_rate: ratio(num(r.converted), num(r.sessions)),
    })),
  };
}

export async function technology(db: Db, f: Filters, dimension: 'device_class' | 'browser') {
  const ps = new Params();
  const rows = await db.query<{ value: string; sessions: string; converted: string }>(
    `SELECT ${dimension} AS value, sum(sessions) AS sessions, sum(converted) AS converted
     FROM rollup_sessions r WHERE ${inRange(ps, f.start, f.end)}${segment(ps, f)} GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10`,
    ps.values,
  );
  const total = rows.reduce((s, r) => s + num(r.sessions), 0);
  return {
    dimension,
    rows: rows.map((r) => ({
      [dimension]: r.value,
      sessions: num(r.sessions),
      share: ratio(num(r.sessions), total),
      conversion_rate: ratio(num(r.converted), num(r.sessions)),
    })),
  };
}

// ---------------------------------------------------------------- sessions

export async function sessionsPanel(db: Db, f: Filters) {
  const ps = new Params();
  const [r] = await db.query<Record<string, string | null>>(
    `SELECT sum(sessions) AS sessions, sum(bounces) AS bounces, sum(duration_ms) AS duration_ms,
       sum(page_views) AS page_views, sum(sessions) FILTER (WHERE is_new_client) AS new_sessions
     FROM rollup_sessions r WHERE ${inRange(ps, f.start, f.end)}${segment(ps, f)}`,
    ps.values,
  );
  const sessions = num(r?.sessions);
  const fresh = num(r?.new_sessions);
  return {
    sessions,
    avg_duration_s: sessions ? round2(num(r?.duration_ms) / sessions / 1000) : null,
    pages_per_session: sessions ? round2(num(r?.page_views) / sessions) : null,
    bounce_rate: ratio(num(r?.bounces), sessions),
    new_client_sessions: fresh,
    returning_client_sessions: sessions - fresh,
  };
}

// ---------------------------------------------------------------- raw events

export interface RawEventOptions {
  cursor?: string;
  session?: string;
  client?: string;
  limit: number;
}

export function encodeCursor(ts: string, id: string): string {
  return Buffer.from(`${ts}|${id}`).toString('base64url');
}

export function decodeCursor(cursor: string): { ts: string; id: string } | undefined {
  const [ts, id, extra] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  if (extra !== undefined || !ts || !id || Number.isNaN(Date.parse(ts))) return undefined;
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id)) return undefined;
  return { ts, id };
}

export async function rawEvents(db: Db, f: Filters, o: RawEventOptions, cursor?: { ts: string; id: string }) {
  const ps = new Params();
  const conds = [
    `e.event_timestamp >= ${ps.p(f.start.toISOString())}::timestamptz`,
    `e.event_timestamp < ${ps.p(f.end.toISOString())}::timestamptz`,
  ];
  if (f.event) conds.push(`e.event_name = ${ps.p(f.event)}`);
  if (f.login !== 'all') conds.push(`e.user_login_state = ${ps.p(f.login)}`);
  if (f.excludeBots) conds.push('NOT e.is_bot');
  if (o.session) conds.push(`e.session_id = ${ps.p(o.session)}`);
  if (o.client) conds.push(`e.client_id = ${ps.p(o.client)}`);
  if (cursor)
    conds.push(`(e.event_timestamp, e.event_id) < (${ps.p(cursor.ts)}::timestamptz, ${ps.p(cursor.id)}::uuid)`);
  const rows = await db.query<Record<string, unknown>>(
    `SELECT e.event_id::text AS event_id,
       to_char(e.event_timestamp AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS event_timestamp,
       e.event_name, e.event_version, e.user_login_state, e.identity_source, e.client_id, e.session_id,
       e.page_url, e.is_bot, e.device_class, e.browser, e.properties
     FROM clickstream_events e WHERE ${conds.join(' AND ')}
     ORDER BY e.event_timestamp DESC, e.event_id DESC LIMIT ${ps.p(o.limit + 1)}`,
    ps.values,
  );
  const page = rows.slice(0, o.limit);
  const last = page.at(-1);
  return {
    rows: page,
    next_cursor:
      rows.length > o.limit && last ? encodeCursor(String(last.event_timestamp), String(last.event_id)) : null,
  };
}

// ---------------------------------------------------------------- data quality

/** One event model's row of the data-quality panel. */
export type DataQualityRow = {
  event_name: string | null;
  event_version: number | null;
  deprecated: boolean | null;
  catalog: string | null;
  accepted: number;
  accepted_per_day: number[];
  rejected_at_ingest: number;
  quarantined_at_load: number;
  top_errors: { rule: string; path: string; count: number }[];
  last_seen: string | null;
  deprecated_share: number | null;
};
export async function dataQuality(db: Db, f: Filters) {
  const ps = new Params();
  const accepted = await db.query<{ event_name: string; event_version: number; bucket: Date; n: string }>(
    `SELECT event_name, event_version, bucket, sum(events) AS n FROM rollup_event_counts r
     WHERE ${seriesRows(ps, { ...f, granularity: 'day' })} GROUP BY 1, 2, 3`,
    ps.values,
  );
  const qs = new Params();
  const window = `q.received_at >= ${qs.p(f.start.toISOString())}::timestamptz AND q.received_at < ${qs.p(f.end.toISOString())}::timestamptz`;
  const quarantined = await db.query<{
    event_name: string | null;
    event_version: number | null;
    source: string;
    rule: string;
    path: string;
    n: string;
  }>(
    `SELECT event_name, event_version, source, rule, path, count(*) AS n FROM quarantined_events q
     WHERE ${window} GROUP BY 1, 2, 3, 4, 5`,
    qs.values,
  );
  const lastSeen = await db.query<{ event_name: string; event_version: number; last: Date }>(
    `WITH last_day AS (
       SELECT event_name, event_version, max(bucket) AS day FROM rollup_event_counts WHERE grain = 'd' GROUP BY 1, 2
     )
     SELECT l.event_name, l.event_version,
       (SELECT max(h.bucket) FROM rollup_event_counts h WHERE h.grain = 'h' AND h.bucket >= l.day
          AND h.bucket < l.day + interval '1 day' AND h.event_name = l.event_name AND h.event_version = l.event_version) AS last
     FROM last_day l`,
  );
  const days = f.dayStarts.slice(0, -1).map((d) => d.getTime());
  const dayOf = (ms: number) => {
    let i = 0;
    while (i + 1 < days.length && ms >= (days[i + 1] as number)) i++;
    return i;
  };
  const key = (name: string | null, version: number | null) => `${name ?? ''}\u0000${version ?? ''}`;

  const rows = new Map<string, DataQualityRow>();
  const row = (name: string | null, version: number | null) => {
    const k = key(name, version);
    let r = rows.get(k);
    if (!r) {
      const model = eventModels.find((m) => m.name === name && m.model === version);
      r = {
        event_name: name,
        event_version: version,
        deprecated: model ? model.deprecated : null,
        catalog: model ? `/catalog#${model.anchor}` : null,
        accepted: 0,
        accepted_per_day: new Array<number>(days.length).fill(0),
        rejected_at_ingest: 0,
        quarantined_at_load: 0,
        top_errors: [],
        last_seen: null,
        deprecated_share: null,
      };
      rows.set(k, r);
    }
    return r;
  };
  for (const m of eventModels) row(m.name, m.model);
  for (const a of accepted) {
    const r = row(a.event_name, Number(a.event_version));
    r.accepted += num(a.n);
    const i = dayOf(new Date(a.bucket).getTime());
    r.accepted_per_day[i] = (r.accepted_per_day[i] as number) + num(a.n);
  }
  const errors = new Map<string, Map<string, { rule: string; path: string; count: number }>>();
  for (const q of quarantined) {
    const r = row(q.event_name, q.event_version === null ? null : Number(q.event_version));
    if (q.source === 'ingest') r.rejected_at_ingest += num(q.n);
    else r.quarantined_at_load += num(q.n);
    const k = key(q.event_name, q.event_version);
    const byRule = errors.get(k) ?? new Map();
    errors.set(k, byRule);
    const e = byRule.get(`${q.rule} ${q.path}`) ?? { rule: q.rule, path: q.path, count: 0 };
    e.count += num(q.n);
    byRule.set(`${q.rule} ${q.path}`, e);
  }
  for (const [k, byRule] of errors) {
    (rows.get(k) as DataQualityRow).top_errors = [...byRule.values()]
      .sort((a, b) => b.count - a.count || (a.rule < b.rule ? -1 : 1) || (a.path < b.path ? -1 : 1))
      .slice(0, 3);
  }
  for (const l of lastSeen) {
    if (l.last) row(l.event_name, Number(l.event_version)).last_seen = new Date(l.last).toISOString();
  }
  const byName = new Map<string, { all: number; deprecated: number }>();
  for (const r of rows.values()) {
    if (!r.event_name) continue;
    const t = byName.get(r.event_name) ?? { all: 0, deprecated: 0 };
    t.all += r.accepted;
    if (r.deprecated) t.deprecated += r.accepted;
    byName.set(r.event_name, t);
  }
  for (const r of rows.values()) {
    const t = r.event_name ? byName.get(r.event_name) : undefined;
    if (t && r.deprecated !== null) r.deprecated_share = ratio(t.deprecated, t.all);
  }
  const sorted = [...rows.values()].sort(
    (a, b) =>
      (a.event_name ?? '\uffff').localeCompare(b.event_name ?? '\uffff', 'en') ||
      (a.event_version ?? 0) - (b.event_version ?? 0),
  );
  return { days: days.map((d) => localDay(f, d)), rows: sorted };
}

const localDay = (f: Filters, ms: number) => {
  const i = f.dayStarts.findIndex((d) => d.getTime() === ms);
  return new Date(Date.parse(`${f.from}T00:00:00Z`) + i * DAY_MS).toISOString().slice(0, 10);
};

// ---------------------------------------------------------------- pipeline health

export interface LakeCheck {
  store: RawStore;
  /** How many hours back to list for objects the ledger does not hold. */
  hours: number;
}

export async function pipeline(db: Db, now: Date, lake?: LakeCheck) {
  const runs = await db.query<Record<string, unknown>>(
    `SELECT run_id::text AS run_id, trigger, status, started_at, finished_at, objects, rows_inserted, duplicates,
       quarantined, duration_ms, error
     FROM etl_runs ORDER BY started_at DESC LIMIT 10`,
  );
  const [newest] = await db.query<{ t: Date | null }>('SELECT max(event_timestamp) AS t FROM clickstream_events');
  const newestMs = newest?.t ? new Date(newest.t).getTime() : undefined;
  let pending: { checked_hours: number; objects: number; oldest: string | null } | null = null;
  if (lake) {
    const listed: LakeObject[] = [];
    const endHour = hourStartMs(now.getTime());
    for (let h = endHour - (lake.hours - 1) * HOUR_MS; h <= endHour; h += HOUR_MS) {
      for (const area of ['events', 'quarantine'] as const) {
        for await (const o of lake.store.list(hourPrefix(area, new Date(h)))) listed.push(o);
      }
    }
    const loaded = listed.length
      ? await db.query<{ object_key: string; etag: string }>(
          'SELECT object_key, etag FROM etl_loaded_objects WHERE object_key = ANY($1::text[])',
          [listed.map((o) => o.key)],
        )
      : [];
    const known = new Map(loaded.map((r) => [r.object_key, r.etag]));
    const missing = listed.filter((o) => known.get(o.key) !== o.etag).map((o) => o.key);
    pending = { checked_hours: lake.hours, objects: missing.length, oldest: missing.sort()[0] ?? null };
  }
  return {
    runs: runs.map((r) => ({
      ...r,
      started_at: r.started_at ? new Date(r.started_at as string).toISOString() : null,
      finished_at: r.finished_at ? new Date(r.finished_at as string).toISOString() : null,
    })),
    newest_event: newestMs === undefined ? null : new Date(newestMs).toISOString(),
    lag_seconds: newestMs === undefined ? null : Math.round((now.getTime() - newestMs) / 1000),
    lake_pending: pending,
  };
}
