/**
 * The SQL texts of loading facts (COPY, a rebuild's staged update, dirty-day marks) and of
 * recomputing the per-day tables from them (daily_event_counts, sessions). Column lists come from
 * the generated Drizzle schema and event names from the generated types, so a renamed column or
 * event breaks the typecheck instead of silently loading or counting nothing.
 */
import { clickstreamEventsColumns } from '../../generated/db/schema.ts';
import type { EventName } from '../../generated/types/events.ts';

/** A SQL literal of an event name the registry defines (names are [a-z0-9_]: nothing to escape). */
export const ev = (name: EventName) => `'${name}'`;

export const COPY_SQL = `COPY clickstream_events (${clickstreamEventsColumns.join(', ')}) FROM STDIN`;

/** Per batch (dropped at its commit), so it always has the fact table's current columns. */
export const STAGE_SQL = `CREATE TEMP TABLE etl_rebuild_stage (LIKE clickstream_events INCLUDING DEFAULTS) ON COMMIT DROP`;
export const STAGE_COPY_SQL = `COPY etl_rebuild_stage (${clickstreamEventsColumns.join(', ')}) FROM STDIN`;
const columnsOf = (alias: string, cols: readonly string[]) => cols.map((c) => `${alias}.${c}`).join(', ');
/**
 * The fact rows a re-mapped row replaces: same event_id, different values. The earliest-received
 * copy of an event is the one a first load keeps (objects load in key order), so a later resend
 * of the event (same event_id in another object) does not replace it.
 */
const REPLACED = `s.event_id = f.event_id AND s.received_at <= f.received_at
  AND (${columnsOf('f', clickstreamEventsColumns)}) IS DISTINCT FROM (${columnsOf('s', clickstreamEventsColumns)})`;
/** UTC days the replaced rows lived on before the update (an event_timestamp may change). */
export const REPLACED_DAYS_SQL = `SELECT DISTINCT ((f.event_timestamp AT TIME ZONE 'UTC')::date)::text AS day
  FROM clickstream_events f JOIN etl_rebuild_stage s ON ${REPLACED}`;
const VALUE_COLUMNS = clickstreamEventsColumns.filter((c) => c !== 'event_id');
export const UPDATE_SQL = `UPDATE clickstream_events f SET (${VALUE_COLUMNS.join(', ')}) = (${columnsOf('s', VALUE_COLUMNS)})
  FROM etl_rebuild_stage s WHERE ${REPLACED} RETURNING f.event_id::text AS id`;

export const MARK_DIRTY_SQL = `INSERT INTO etl_dirty_days (day, marked_at)
SELECT unnest($1::date[]), now() ON CONFLICT (day) DO NOTHING`;

/** Fact rows of the days in $1 (a date[]), found through the event_timestamp index. */
export const ROWS_OF_DAYS = `clickstream_events e JOIN unnest($1::date[]) AS d(day)
  ON e.event_timestamp >= d.day::timestamp AT TIME ZONE 'UTC'
 AND e.event_timestamp < (d.day + 1)::timestamp AT TIME ZONE 'UTC'`;

/** Rollup rows of the days, recomputed from the facts (after the days' rows are deleted). */
export const REFRESH_DAILY_SQL = `
INSERT INTO daily_event_counts AS c (day, event_name, user_login_state, events)
SELECT d.day, e.event_name, e.user_login_state, count(*) FROM ${ROWS_OF_DAYS} GROUP BY 1, 2, 3
ON CONFLICT (day, event_name, user_login_state) DO UPDATE SET events = EXCLUDED.events`;

/** Every session with an event on one of the days, recomputed from all its events (it may cross midnight). */
export const REFRESH_SESSIONS_SQL = `
INSERT INTO sessions AS s (session_id, client_id, user_id, started_at, ended_at, events, page_views,
  product_views, add_to_carts, checkouts, purchases, revenue, landing_page)
SELECT session_id,
  (array_agg(client_id ORDER BY event_timestamp))[1],
  (array_agg(user_id ORDER BY event_timestamp) FILTER (WHERE user_id IS NOT NULL))[1],
  min(event_timestamp), max(event_timestamp), count(*),
  count(*) FILTER (WHERE event_name = ${ev('page_view')}),
  count(*) FILTER (WHERE event_name = ${ev('product_view')}),
  count(*) FILTER (WHERE event_name = ${ev('add_to_cart')}),
  count(*) FILTER (WHERE event_name = ${ev('begin_checkout')}),
  count(*) FILTER (WHERE event_name = ${ev('purchase')}),
  coalesce(sum(order_total) FILTER (WHERE event_name = ${ev('purchase')}), 0),
  (array_agg(page_url ORDER BY event_timestamp))[1]
FROM clickstream_events
WHERE session_id IN (SELECT DISTINCT e.session_id FROM ${ROWS_OF_DAYS})
GROUP BY session_id
ON CONFLICT (session_id) DO UPDATE SET client_id = EXCLUDED.client_id, user_id = EXCLUDED.user_id,
  started_at = EXCLUDED.started_at, ended_at = EXCLUDED.ended_at, events = EXCLUDED.events,
  page_views = EXCLUDED.page_views, product_views = EXCLUDED.product_views,
  add_to_carts = EXCLUDED.add_to_carts, checkouts = EXCLUDED.checkouts, purchases = EXCLUDED.purchases,
  revenue = EXCLUDED.revenue, landing_page = EXCLUDED.landing_page`;
