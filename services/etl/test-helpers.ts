/** Assertions shared by the ETL's test files. */
import { afterAll, beforeAll, expect } from 'vitest';
import { createTempDatabase, type TempDatabase } from '../testing/postgres.ts';
import { refreshRollups } from './rollups.ts';
import { openWarehouse, type Warehouse } from './warehouse.ts';

/** Every derived table the dashboard reads besides daily_event_counts and sessions. */
export const ROLLUP_TABLES = [
  'rollup_event_counts',
  'rollup_sessions',
  'rollup_funnel',
  'rollup_session_sources',
  'rollup_paths',
  'rollup_products',
  'rollup_clients',
  'rollup_retention',
  'session_details',
  'client_hours',
];

/** The rollups as maintained equal a recomputation from scratch over every day with facts. */
export async function expectRollupsMatchRebuild(wh: Warehouse) {
  const snapshot = async () => {
    const out: Record<string, unknown[]> = {};
    for (const t of ROLLUP_TABLES) out[t] = await wh.query(`SELECT to_jsonb(t)::text AS j FROM ${t} t ORDER BY 1`);
    return out;
  };
  const maintained = await snapshot();
  const days = (
    await wh.query<{ d: string }>(
      `SELECT DISTINCT to_char(event_timestamp AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS d FROM clickstream_events ORDER BY 1`,
    )
  ).map((r) => r.d);
  await wh.withSession(async (s) => {
    await s.query('BEGIN');
    await s.query(`TRUNCATE ${ROLLUP_TABLES.join(', ')}`);
    await refreshRollups(s, days);
    await s.query('COMMIT');
  });
  expect(await snapshot()).toEqual(maintained);
}

/** The incremental rollup and sessions must equal a full recomputation from the fact table. */
export async function expectDerivedTablesExact(wh: Warehouse) {
  const daily = await wh.query(
    `SELECT day::text, event_name, user_login_state, events::int FROM daily_event_counts ORDER BY 1, 2, 3`,
  );
  const dailyFromFacts = await wh.query(
    `SELECT (event_timestamp AT TIME ZONE 'UTC')::date::text AS day, event_name, user_login_state, count(*)::int AS events
     FROM clickstream_events GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
  );
  expect(daily).toEqual(dailyFromFacts);
  const sessions = await wh.query(
    `SELECT session_id, client_id, user_id, started_at::text, ended_at::text, events, page_views, product_views,
       add_to_carts, checkouts, purchases, revenue::text, landing_page FROM sessions ORDER BY session_id`,
  );
  const sessionsFromFacts = await wh.query(
    `SELECT session_id, (array_agg(client_id ORDER BY event_timestamp))[1] AS client_id,
       (array_agg(user_id ORDER BY event_timestamp) FILTER (WHERE user_id IS NOT NULL))[1] AS user_id,
       min(event_timestamp)::text AS started_at, max(event_timestamp)::text AS ended_at, count(*)::int AS events,
       (count(*) FILTER (WHERE event_name = 'page_view'))::int AS page_views,
       (count(*) FILTER (WHERE event_name = 'product_view'))::int AS product_views,
       (count(*) FILTER (WHERE event_name = 'add_to_cart'))::int AS add_to_carts,
       (count(*) FILTER (WHERE event_name = 'begin_checkout'))::int AS checkouts,
       (count(*) FILTER (WHERE event_name = 'purchase'))::int AS purchases,
       coalesce(sum(order_total) FILTER (WHERE event_name = 'purchase'), 0)::numeric(14,2)::text AS revenue,
       (array_agg(page_url ORDER BY event_timestamp))[1] AS landing_page
     FROM clickstream_events GROUP BY session_id ORDER BY session_id`,
  );
  expect(sessions).toEqual(sessionsFromFacts);
  const [dirty] = await wh.query<{ n: number }>('SELECT count(*)::int AS n FROM etl_dirty_days');
  expect(dirty?.n).toBe(0);
}

/**
 * Opens a migrated warehouse of `kind` for the enclosing describe block (a temp database on the
 * real PostgreSQL server, or an in-memory PGlite) and closes it afterwards; tests read `.current`.
 */
export function testWarehouse(kind: 'postgres' | 'pglite', prefix: string): { readonly current: Warehouse } {
  let temp: TempDatabase | undefined;
  let wh: Warehouse | undefined;
  beforeAll(async () => {
    temp = kind === 'postgres' ? await createTempDatabase(prefix) : undefined;
    wh = await openWarehouse(temp ? { databaseUrl: temp.url } : { pgliteDir: 'memory://' });
    await wh.migrate();
  });
  afterAll(async () => {
    await wh?.close();
    await temp?.drop();
  });
  return {
    get current() {
      if (!wh) throw new Error('testWarehouse: used outside its describe block');
      return wh;
    },
  };
}
