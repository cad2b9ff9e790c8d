/**
 * The dashboard's rollups, refreshed for the UTC days a run touched, in the transaction that
 * refreshes daily_event_counts and sessions for those days (refresh-days.ts).
 *
 * Every rollup table has a `grain`: 'h' rows per UTC hour, computed from the facts (or from
 * session_details / client_hours), and 'd' rows per UTC day, the sum of the day's 'h' rows. A
 * dashboard range [A, B) reads its whole UTC days from 'd' rows and its edge hours from 'h' rows,
 * so any whole-hour time zone cuts days exactly at a cost of ≤ 31 + 46 rows per group.
 *
 * Rollups are derived, never incremented: each refresh recomputes the buckets it affects from the
 * source, so a crash before the commit only defers the work and a re-run gives the same rows.
 * Session-based rollups are bucketed by session start, which a late event can move: the start
 * hour a session was last counted under is kept in session_details, and both the old and the new
 * hour are recomputed. Distinct clients use client_hours' previous-active-hour chains, which a late
 * event can change for the client's other hours: every hour whose row changed is recomputed.
 *
 * Event names come from the generated types, so renaming an event breaks the typecheck here
 * instead of silently zeroing a dashboard column.
 */
import type { EventName } from '../../generated/types/events.ts';
import { HOUR_MS } from '../time.ts';
import { FUNNEL_WINDOWS_S, funnelReachSql } from './funnel-sql.ts';
import type { Session } from './warehouse.ts';
import { ev, ROWS_OF_DAYS } from './warehouse-sql.ts';

/** The funnel the ETL rolls up; the dashboard computes other step lists from the facts. */
export const DEFAULT_FUNNEL = [
  'product_view',
  'add_to_cart',
  'begin_checkout',
  'purchase',
] as const satisfies readonly EventName[];

/** How many path steps a session keeps (paths panel). */
const MAX_PATH_STEPS = 50;

/** UTC hour / day of a timestamptz, whatever the session's TimeZone setting. */
const hourOf = (ts: string) => `date_trunc('hour', ${ts}, 'UTC')`;
const dayOf = (ts: string) => `date_trunc('day', ${ts}, 'UTC')`;

interface RollupTable {
  name: string;
  dims: string[];
  /** column → aggregate over the day's 'h' rows */
  measures: Record<string, string>;
}

const sum = (c: string) => `sum(${c})`;
const TABLES = {
  events: {
    name: 'rollup_event_counts',
    dims: ['event_name', 'event_version', 'user_login_state', 'identity_source', 'is_bot'],
    measures: { events: sum('events'), order_total: sum('order_total') },
  },
  products: {
    name: 'rollup_products',
    dims: ['product_id', 'user_login_state', 'is_bot'],
    measures: {
      product_name: 'max(product_name)',
      category: 'max(category)',
      brand: 'max(brand)',
      views: sum('views'),
      add_to_carts: sum('add_to_carts'),
      purchases: sum('purchases'),
      revenue: sum('revenue'),
    },
  },
  sessions: {
    name: 'rollup_sessions',
    dims: ['user_login_state', 'is_bot', 'is_new_client', 'device_class', 'browser'],
    measures: Object.fromEntries(
      ['sessions', 'bounces', 'duration_ms', 'page_views', 'events', 'converted'].map((c) => [c, sum(c)]),
    ),
  },
  funnel: {
    name: 'rollup_funnel',
    dims: ['user_login_state', 'is_bot', 'step', 'within_s'],
    measures: { sessions: sum('sessions') },
  },
  sources: {
    name: 'rollup_session_sources',
    dims: ['dimension', 'value', 'user_login_state', 'is_bot'],
    measures: { sessions: sum('sessions'), bounces: sum('bounces'), converted: sum('converted') },
  },
  paths: {
    name: 'rollup_paths',
    dims: ['user_login_state', 'is_bot', 'kind', 'step1', 'step2', 'step3'],
    measures: { sessions: sum('sessions') },
  },
  clients: {
    name: 'rollup_clients',
    dims: ['login_key', 'include_bots', 'prev_hour'],
    measures: { clients: sum('clients') },
  },
} satisfies Record<string, RollupTable>;

const columns = (t: RollupTable) => ['grain', 'bucket', ...t.dims, ...Object.keys(t.measures)].join(', ');

/** Deletes the 'h' rows of the hours in $1 (timestamptz[]) and inserts `select` (its rows are 'h' rows). */
async function replaceHours(s: Session, t: RollupTable, hours: string[], select: string, params: unknown[] = []) {
  if (!hours.length) return;
  await s.query(`DELETE FROM ${t.name} WHERE grain = 'h' AND bucket = ANY($1::timestamptz[])`, [hours]);
  await s.query(`INSERT INTO ${t.name} (${columns(t)}) ${select}`, [hours, ...params]);
  await rollDays(s, t, hours);
}

/** Recomputes the 'd' rows of the UTC days of `hours` from their 'h' rows. */
async function rollDays(s: Session, t: RollupTable, hours: string[]) {
  const days = [...new Set(hours.map((h) => `${h.slice(0, 10)}T00:00:00.000Z`))].sort();
  if (!days.length) return;
  await s.query(`DELETE FROM ${t.name} WHERE grain = 'd' AND bucket = ANY($1::timestamptz[])`, [days]);
  const aggregates = Object.values(t.measures).join(', ');
  // The bounding range lets the (grain, bucket, …) primary key find the hours; ANY keeps only the days asked for.
  await s.query(
    `INSERT INTO ${t.name} (${columns(t)})
     SELECT 'd', ${dayOf('r.bucket')}, ${t.dims.join(', ')}, ${aggregates}
     FROM ${t.name} r
     WHERE r.grain = 'h' AND r.bucket >= $2::timestamptz AND r.bucket < $3::timestamptz + interval '1 day'
       AND ${dayOf('r.bucket')} = ANY($1::timestamptz[])
     GROUP BY 2, ${t.dims.join(', ')}`,
    [days, days[0], days.at(-1)],
  );
}

/** Every hour of the UTC days, as ISO strings. */
function hoursOfDays(days: string[]): string[] {
  const out: string[] = [];
  for (const day of days) {
    const start = Date.parse(`${day}T00:00:00Z`);
    for (let h = 0; h < 24; h++) out.push(new Date(start + h * HOUR_MS).toISOString());
  }
  return out;
}

const iso = (v: unknown) => (v instanceof Date ? v.toISOString() : new Date(String(v)).toISOString());

const CLIENT_ROLLUP_SQL = `SELECT 'h', hour, login_key, include_bots, prev_hour, count(*) FROM client_hours
  WHERE hour = ANY($1::timestamptz[]) GROUP BY hour, login_key, include_bots, prev_hour`;

/**
 * Recomputes every dashboard rollup affected by the facts of `days` (UTC dates). Runs inside the
 * caller's transaction, after daily_event_counts and sessions of the same days were refreshed.
 */
export async function refreshRollups(s: Session, days: string[], timings?: Record<string, number>): Promise<void> {
  if (!days.length) return;
  const dayHours = hoursOfDays(days);
  let last = performance.now();
  const lap = (step: string) => {
    const now = performance.now();
    if (timings) timings[step] = (timings[step] ?? 0) + now - last;
    last = now;
  };
  await s.query(`SET LOCAL TimeZone = 'UTC'`);
  await refreshEventCounts(s, days, dayHours);
  lap('event counts');
  await refreshProducts(s, days, dayHours);
  lap('products');
  const sessionHours = await refreshSessionDetails(s, days);
  lap('session details');
  await refreshSessionRollups(s, sessionHours);
  lap('session rollups');
  const { hours, retentionDays } = await refreshClientHours(s, days);
  lap('client hours');
  await replaceHours(s, TABLES.clients, hours, CLIENT_ROLLUP_SQL);
  lap('client rollup');
  await refreshRetention(s, retentionDays);
  lap('retention');
}

/**
 * After facts were deleted (privacy erasure): refreshRollups of `days`, and the buckets that only
 * removed facts can change — the session rollups of `sessionHours` (start hours of the deleted
 * sessions) and of every hour of `days`, the client rollup and retention of every hour and day of
 * `days`. The caller deleted the session_details and client_hours rows of the sessions and clients
 * concerned, and passes every day those clients have facts on, so their chains are rebuilt whole.
 */
export async function refreshRollupsAfterDelete(s: Session, days: string[], sessionHours: string[]): Promise<void> {
  if (!days.length && !sessionHours.length) return;
  await refreshRollups(s, days);
  const hours = hoursOfDays(days);
  await refreshSessionRollups(s, [...new Set([...hours, ...sessionHours])].sort());
  await replaceHours(s, TABLES.clients, hours, CLIENT_ROLLUP_SQL);
  await refreshRetention(s, days);
}

async function refreshEventCounts(s: Session, days: string[], hours: string[]) {
  const t = TABLES.events;
  await s.query(`DELETE FROM ${t.name} WHERE grain = 'h' AND bucket = ANY($1::timestamptz[])`, [hours]);
  await s.query(
    `INSERT INTO ${t.name} (${columns(t)})
     SELECT 'h', ${hourOf('e.event_timestamp')}, e.event_name, e.event_version, e.user_login_state,
       e.identity_source, e.is_bot, count(*), coalesce(sum(e.order_total), 0)
     FROM ${ROWS_OF_DAYS} GROUP BY 2, 3, 4, 5, 6, 7`,
    [days],
  );
  await rollDays(s, t, hours);
}

async function refreshProducts(s: Session, days: string[], hours: string[]) {
  const t = TABLES.products;
  await s.query(`DELETE FROM ${t.name} WHERE grain = 'h' AND bucket = ANY($1::timestamptz[])`, [hours]);
  const item = (field: string) => `i.value->'product'->>'${field}'`;
  await s.query(
    `INSERT INTO ${t.name} (${columns(t)})
     SELECT 'h', hour, product_id, user_login_state, is_bot, max(product_name), max(category), max(brand),
       sum(views), sum(add_to_carts), sum(purchases), sum(revenue)
     FROM (
       SELECT ${hourOf('e.event_timestamp')} AS hour, e.context_product_id AS product_id, e.user_login_state, e.is_bot,
         e.context_product_name AS product_name, e.context_product_category AS category,
         e.context_product_brand AS brand, (e.event_name = ${ev('product_view')})::int AS views,
         (e.event_name = ${ev('add_to_cart')})::int AS add_to_carts, 0 AS purchases, 0::numeric AS revenue
       FROM ${ROWS_OF_DAYS}
       WHERE e.context_product_id IS NOT NULL AND e.event_name IN (${ev('product_view')}, ${ev('add_to_cart')})
       UNION ALL
       SELECT ${hourOf('e.event_timestamp')}, left(${item('id')}, 64), e.user_login_state, e.is_bot,
         left(${item('name')}, 255), left(${item('category')}, 100), left(${item('brand')}, 100), 0, 0,
         (i.value->>'quantity')::int,
         (i.value->>'quantity')::int * coalesce((${item('discount_price')})::numeric, (${item('price')})::numeric, 0)
       FROM ${ROWS_OF_DAYS}
       CROSS JOIN LATERAL jsonb_array_elements(e.properties->'order'->'items') AS i(value)
       WHERE e.event_name = ${ev('purchase')} AND ${item('id')} IS NOT NULL
     ) x GROUP BY hour, product_id, user_login_state, is_bot`,
    [days],
  );
  await rollDays(s, t, hours);
}

/**
 * Recomputes session_details for every session with an event on the days; returns the start
 * hours to re-roll: where those sessions were counted before and where they are now.
 */
async function refreshSessionDetails(s: Session, days: string[]): Promise<string[]> {
  await s.query(
    `CREATE TEMP TABLE touched_sessions ON COMMIT DROP AS SELECT DISTINCT e.session_id FROM ${ROWS_OF_DAYS}`,
    [days],
  );
  const { rows: before } = await s.query<{ h: Date }>(
    `SELECT DISTINCT start_hour AS h FROM session_details WHERE session_id IN (SELECT session_id FROM touched_sessions)`,
  );
  const events = `(SELECT f.session_id, f.event_timestamp, f.event_id, f.event_name FROM clickstream_events f
     WHERE f.session_id IN (SELECT session_id FROM touched_sessions)
       AND f.event_name IN (${DEFAULT_FUNNEL.map(ev).join(', ')})) fe`;
  const urlRest = `[a-zA-Z][a-zA-Z0-9+.-]*://`;
  const { rows: after } = await s.query<{ h: Date }>(
    `WITH ev AS (
       SELECT f.session_id, f.event_timestamp, f.event_id, f.event_name, f.user_login_state, f.is_bot,
         f.is_first_visit, f.device_class, f.browser, f.page_referrer,
         CASE WHEN f.event_name = ${ev('page_view')} THEN 'page:' || coalesce(f.properties->>'page_type', 'other')
              ELSE f.event_name END AS step
       FROM clickstream_events f WHERE f.session_id IN (SELECT session_id FROM touched_sessions)
     ), marked AS (
       SELECT *, step IS DISTINCT FROM lag(step) OVER (PARTITION BY session_id ORDER BY event_timestamp, event_id) AS new_step
       FROM ev
     ), agg AS (
       SELECT session_id,
         bool_or(user_login_state = 'logged_in') AS logged_in, bool_or(is_bot) AS is_bot,
         bool_or(is_first_visit) AS is_new_client,
         (array_agg(device_class ORDER BY event_timestamp, event_id) FILTER (WHERE device_class IS NOT NULL))[1] AS device_class,
         (array_agg(browser ORDER BY event_timestamp, event_id) FILTER (WHERE browser IS NOT NULL))[1] AS browser,
         (array_agg(page_referrer ORDER BY event_timestamp, event_id))[1] AS referrer,
         count(*) FILTER (WHERE event_name NOT IN (${ev('page_view')}, ${ev('product_view')}, ${ev('product_list_view')})) AS actions,
         (array_agg(step ORDER BY event_timestamp, event_id) FILTER (WHERE new_step))[1:${MAX_PATH_STEPS}] AS steps
       FROM marked GROUP BY session_id
     ), funnel AS (${funnelReachSql(events, DEFAULT_FUNNEL.map(ev))})
     INSERT INTO session_details AS t (session_id, client_id, started_at, start_hour, user_login_state, is_bot,
       is_new_client, device_class, browser, landing_path, referrer_host, utm_source, duration_ms, events,
       page_views, bounce, converted, funnel_reach, steps)
     SELECT se.session_id, se.client_id, se.started_at, ${hourOf('se.started_at')},
       CASE WHEN a.logged_in THEN 'logged_in' ELSE 'guest' END, a.is_bot, a.is_new_client,
       coalesce(a.device_class, 'unknown'), coalesce(a.browser, '(unknown)'),
       left(coalesce(nullif(substring(se.landing_page FROM '^${urlRest}[^/?#]*([^?#]*)'), ''), '/'), 512),
       CASE WHEN coalesce(a.referrer, '') = '' THEN '(direct)'
            WHEN lower(substring(a.referrer FROM '^${urlRest}([^/?#:@]+)')) = lower(substring(se.landing_page FROM '^${urlRest}([^/?#:@]+)'))
              THEN '(internal)'
            ELSE left(coalesce(lower(substring(a.referrer FROM '^${urlRest}([^/?#:@]+)')), '(other)'), 255) END,
       left(coalesce(nullif(substring(se.landing_page FROM '[?&]utm_source=([^&#]*)'), ''), '(none)'), 255),
       ${'(extract(epoch FROM se.ended_at - se.started_at) * 1000)::bigint'}, se.events, se.page_views,
       se.page_views <= 1 AND a.actions = 0, se.purchases > 0,
       to_jsonb(array_remove(ARRAY[${DEFAULT_FUNNEL.map((_, i) => `fu.r${i + 1}`).join(', ')}], NULL)),
       to_jsonb(a.steps)
     FROM sessions se JOIN agg a USING (session_id) LEFT JOIN funnel fu USING (session_id)
     ON CONFLICT (session_id) DO UPDATE SET client_id = EXCLUDED.client_id, started_at = EXCLUDED.started_at,
       start_hour = EXCLUDED.start_hour, user_login_state = EXCLUDED.user_login_state, is_bot = EXCLUDED.is_bot,
       is_new_client = EXCLUDED.is_new_client, device_class = EXCLUDED.device_class, browser = EXCLUDED.browser,
       landing_path = EXCLUDED.landing_path, referrer_host = EXCLUDED.referrer_host,
       utm_source = EXCLUDED.utm_source, duration_ms = EXCLUDED.duration_ms, events = EXCLUDED.events,
       page_views = EXCLUDED.page_views, bounce = EXCLUDED.bounce, converted = EXCLUDED.converted,
       funnel_reach = EXCLUDED.funnel_reach, steps = EXCLUDED.steps
     RETURNING start_hour AS h`,
  );
  await s.query('DROP TABLE touched_sessions');
  return [...new Set([...before, ...after].map((r) => iso(r.h)))].sort();
}

/** The session-based rollups of the given start hours, from session_details. */
async function refreshSessionRollups(s: Session, hours: string[]) {
  const inHours = 'sd.start_hour = ANY($1::timestamptz[])';
  await replaceHours(
    s,
    TABLES.sessions,
    hours,
    `SELECT 'h', start_hour, user_login_state, is_bot, is_new_client, device_class, browser, count(*),
       count(*) FILTER (WHERE bounce), sum(duration_ms), sum(page_views), sum(events), count(*) FILTER (WHERE converted)
     FROM session_details sd WHERE ${inHours} GROUP BY 2, 3, 4, 5, 6, 7`,
  );
  await replaceHours(
    s,
    TABLES.funnel,
    hours,
    `SELECT 'h', sd.start_hour, sd.user_login_state, sd.is_bot, r.step::smallint,
       (SELECT min(w) FROM unnest($2::int[]) AS w WHERE w::bigint * 1000 >= r.ms::bigint), count(*)
     FROM session_details sd CROSS JOIN LATERAL jsonb_array_elements_text(sd.funnel_reach) WITH ORDINALITY AS r(ms, step)
     WHERE ${inHours} GROUP BY 2, 3, 4, 5, 6`,
    [FUNNEL_WINDOWS_S],
  );
  await replaceHours(
    s,
    TABLES.sources,
    hours,
    `SELECT 'h', sd.start_hour, v.dimension, v.value, sd.user_login_state, sd.is_bot, count(*),
       count(*) FILTER (WHERE sd.bounce), count(*) FILTER (WHERE sd.converted)
     FROM session_details sd CROSS JOIN LATERAL (VALUES ('landing_page', sd.landing_path),
       ('referrer', sd.referrer_host), ('utm_source', sd.utm_source)) AS v(dimension, value)
     WHERE ${inHours} GROUP BY 2, 3, 4, 5, 6`,
  );
  // Paths are rolled up per UTC day only: at one row per distinct path per bucket, hourly rows
  // would be about one per session step (millions), for an edge-hour precision no path needs.
  const days = [...new Set(hours.map((h) => `${h.slice(0, 10)}T00:00:00.000Z`))].sort();
  if (!days.length) return;
  await s.query(`DELETE FROM rollup_paths WHERE grain = 'd' AND bucket = ANY($1::timestamptz[])`, [days]);
  await s.query(
    `WITH steps AS (
       SELECT sd.session_id, ${dayOf('sd.start_hour')} AS day, sd.user_login_state, sd.is_bot, st.step, st.n,
         lead(st.step) OVER w AS next1, lead(st.step, 2) OVER w AS next2
       FROM session_details sd CROSS JOIN LATERAL jsonb_array_elements_text(sd.steps) WITH ORDINALITY AS st(step, n)
       WHERE sd.start_hour >= $2::timestamptz AND sd.start_hour < $3::timestamptz + interval '1 day'
         AND ${dayOf('sd.start_hour')} = ANY($1::timestamptz[])
       WINDOW w AS (PARTITION BY sd.session_id ORDER BY st.n)
     )
     INSERT INTO rollup_paths (${columns(TABLES.paths)})
     SELECT 'd', day, user_login_state, is_bot, 'trigram', step, next1, next2, count(DISTINCT session_id)
     FROM steps WHERE next2 IS NOT NULL GROUP BY 2, 3, 4, 6, 7, 8
     UNION ALL
     SELECT 'd', day, user_login_state, is_bot, 'next', step, next1, '', count(*)
     FROM steps WHERE next1 IS NOT NULL GROUP BY 2, 3, 4, 6, 7`,
    [days, days[0], days.at(-1)],
  );
}

/** The six series of client activity: login state (any, logged_in, guest) × bots included or not. */
const SERIES = `(VALUES ('*', true), ('*', false), ('logged_in', true), ('logged_in', false),
  ('guest', true), ('guest', false)) AS k(login_key, include_bots)`;

/**
 * Adds the client-hours of the days to client_hours and repairs the previous-hour chains they
 * change: facts only grow, so a refresh only adds rows, and a row's previous hour changes only
 * when a row is added before it — the added rows themselves and the next row after each. Returns
 * the hours whose rows changed and the UTC days whose retention rows changed.
 */
async function refreshClientHours(s: Session, days: string[]): Promise<{ hours: string[]; retentionDays: string[] }> {
  const series = `c.client_id = a.client_id AND c.login_key = a.login_key AND c.include_bots = a.include_bots`;
  await s.query(
    `CREATE TEMP TABLE added_client_hours ON COMMIT DROP AS
     SELECT DISTINCT e.client_id, k.login_key, k.include_bots, ${hourOf('e.event_timestamp')} AS hour
     FROM ${ROWS_OF_DAYS} CROSS JOIN ${SERIES}
     WHERE (k.login_key = '*' OR k.login_key = e.user_login_state) AND (k.include_bots OR NOT e.is_bot)`,
    [days],
  );
  await s.query(
    `DELETE FROM added_client_hours a WHERE EXISTS (SELECT 1 FROM client_hours c WHERE ${series} AND c.hour = a.hour)`,
  );
  // Clients whose first active day moves (a late event before it): every day of theirs changes cohort.
  const firstOf = `SELECT a.client_id, a.include_bots, to_char(f.first, 'YYYY-MM-DD') AS first
     FROM (SELECT DISTINCT client_id, include_bots FROM added_client_hours WHERE login_key = '*') a
     CROSS JOIN LATERAL (SELECT min(c.hour) AS first FROM client_hours c
       WHERE c.client_id = a.client_id AND c.login_key = '*' AND c.include_bots = a.include_bots) f`;
  const before = new Map(
    (await s.query<{ client_id: string; include_bots: boolean; first: string | null }>(firstOf)).rows.map((r) => [
      `${r.client_id}\u0000${r.include_bots}`,
      r.first,
    ]),
  );
  await s.query(
    `INSERT INTO client_hours (client_id, login_key, include_bots, hour, prev_hour)
     SELECT client_id, login_key, include_bots, hour, '-infinity' FROM added_client_hours`,
  );
  const { rows: changed } = await s.query<{ hour: Date }>(
    `WITH recheck AS (
       SELECT client_id, login_key, include_bots, hour FROM added_client_hours
       UNION
       SELECT a.client_id, a.login_key, a.include_bots, n.hour FROM added_client_hours a
       CROSS JOIN LATERAL (SELECT c.hour FROM client_hours c WHERE ${series} AND c.hour > a.hour
         ORDER BY c.hour LIMIT 1) n
     ), fixed AS (
       SELECT r.*, coalesce(p.prev, '-infinity') AS prev FROM recheck r
       CROSS JOIN LATERAL (SELECT max(c.hour) AS prev FROM client_hours c
         WHERE c.client_id = r.client_id AND c.login_key = r.login_key AND c.include_bots = r.include_bots
           AND c.hour < r.hour) p
     )
     UPDATE client_hours c SET prev_hour = f.prev FROM fixed f
     WHERE c.client_id = f.client_id AND c.login_key = f.login_key AND c.include_bots = f.include_bots
       AND c.hour = f.hour AND c.prev_hour <> f.prev
     RETURNING c.hour`,
  );
  const { rows: added } = await s.query<{ hour: Date }>('SELECT DISTINCT hour FROM added_client_hours');
  const moved = (await s.query<{ client_id: string; include_bots: boolean; first: string | null }>(firstOf)).rows
    .filter((r) => before.get(`${r.client_id}\u0000${r.include_bots}`) !== r.first)
    .filter((r) => before.get(`${r.client_id}\u0000${r.include_bots}`) !== null);
  // Retention rows change on the days a client became active and on its next active day (whose
  // previous day changed), and on every day of a client whose cohort moved.
  const { rows: activeDays } = await s.query<{ day: string }>(
    `SELECT to_char(a.hour, 'YYYY-MM-DD') AS day FROM added_client_hours a WHERE a.login_key = '*'
     UNION
     SELECT to_char(n.hour, 'YYYY-MM-DD') FROM added_client_hours a
     CROSS JOIN LATERAL (SELECT c.hour FROM client_hours c
       WHERE c.client_id = a.client_id AND c.login_key = '*' AND c.include_bots = a.include_bots
         AND c.hour >= ${dayOf('a.hour')} + interval '1 day' ORDER BY c.hour LIMIT 1) n
     WHERE a.login_key = '*'
     UNION
     SELECT to_char(c.hour, 'YYYY-MM-DD') FROM client_hours c JOIN unnest($1::text[], $2::boolean[]) AS m(client_id, include_bots)
       ON c.client_id = m.client_id AND c.include_bots = m.include_bots AND c.login_key = '*'`,
    [moved.map((m) => m.client_id), moved.map((m) => m.include_bots)],
  );
  await s.query('DROP TABLE added_client_hours');
  const hours = [...new Set([...changed, ...added].map((r) => iso(r.hour)))].sort();
  return { hours, retentionDays: activeDays.map((r) => r.day).sort() };
}

/**
 * Recomputes rollup_retention for the active days given: every client active that day, with its
 * cohort (first active day) and previous active day, found through client_hours' primary key.
 */
async function refreshRetention(s: Session, activeDays: string[]) {
  if (!activeDays.length) return;
  await s.query('DELETE FROM rollup_retention WHERE active_day = ANY($1::date[])', [activeDays]);
  const series = "h.client_id = a.client_id AND h.login_key = '*' AND h.include_bots = a.include_bots";
  await s.query(
    `INSERT INTO rollup_retention (include_bots, first_day, active_day, prev_day, clients)
     SELECT a.include_bots, f.first_day, a.day, coalesce(p.prev_day, '-infinity'), count(*)
     FROM (
       SELECT DISTINCT c.client_id, c.include_bots, d.day
       FROM client_hours c JOIN unnest($1::date[]) AS d(day)
         ON c.hour >= d.day::timestamp AT TIME ZONE 'UTC' AND c.hour < (d.day + 1)::timestamp AT TIME ZONE 'UTC'
       WHERE c.login_key = '*'
     ) a
     CROSS JOIN LATERAL (SELECT ${dayOf('min(h.hour)')}::date AS first_day FROM client_hours h WHERE ${series}) f
     CROSS JOIN LATERAL (SELECT ${dayOf('max(h.hour)')}::date AS prev_day FROM client_hours h
       WHERE ${series} AND h.hour < a.day::timestamp AT TIME ZONE 'UTC') p
     GROUP BY 1, 2, 3, 4`,
    [activeDays],
  );
}
