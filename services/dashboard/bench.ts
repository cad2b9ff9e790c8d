/**
 * `npm run bench:dashboard [-- --events N] [--iterations N]`: the dashboard at scale.
 *
 *   1. Generates N events (default 10,000,000: ~N/10 sessions, ~0.03·N clients, 90 days) straight
 *      into the fact table of a fresh database on the local PostgreSQL, in SQL (generate_series),
 *      with the fact table's indexes built after the load.
 *   2. Builds daily_event_counts, sessions and every dashboard rollup the ETL's way: all days marked
 *      dirty, then the ETL's own refreshDirtyDays (7 days per transaction, rollups.ts included).
 *   3. Times every panel endpoint through the app (warm: 2 rounds discarded) for the last 7 and 30
 *      days: p50/p95 over --iterations rounds (default 20).
 *   4. The seed's approach for the KPI panel: every row of the range streamed into this process
 *      and aggregated here.
 *   5. What the rollups add to an ETL run: one more hour of traffic loaded into the last day, then
 *      the day's refresh timed whole and its rollups.ts part alone.
 *
 * Prints Markdown tables and the load average.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { refreshDirtyDays } from '../etl/refresh-days.ts';
import { refreshRollups } from '../etl/rollups.ts';
import { openWarehouse } from '../etl/warehouse.ts';
import { createTempDatabase } from '../testing/postgres.ts';
import { createDashboardApp } from './app.tsx';
import { PANELS } from './panels.ts';

const DAYS = 90;
const END = new Date('2026-11-21T00:00:00Z');
const START = new Date(END.getTime() - DAYS * 86_400_000);
const NOW = new Date('2026-11-20T23:00:00Z');

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '10000000' },
    iterations: { type: 'string', default: '20' },
    /** Keep the database (its URL is printed) for profiling; otherwise it is dropped. */
    keep: { type: 'boolean', default: false },
  },
});
const EVENTS = Number(values.events);
const ITERATIONS = Number(values.iterations);
const SESSIONS = Math.max(1, Math.round(EVENTS / 10));
const CLIENTS = Math.max(1, Math.round(EVENTS * 0.03));

const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const log = (msg: string) => process.stderr.write(`[bench:dashboard] ${msg}\n`);

/** Sessions: client (skewed, so some return often), start, login, bot, device, landing, event count ~ Exp(10). */
const SESSIONS_SQL = `
CREATE UNLOGGED TABLE bench_sessions AS
SELECT s AS sn, 's' || s AS session_id,
  'c' || floor(power(random(), 1.5) * $1)::int AS client_id,
  $2::timestamptz + (random() * $3 * 86400) * interval '1 second' AS started_at,
  random() < 0.3 AS logged_in,
  random() < 0.02 AS is_bot,
  greatest(1, round(-ln(1 - random()) * 10))::int AS n,
  floor(random() * 10)::int AS r_device,
  floor(random() * 8)::int AS r_source
FROM generate_series(1, $4) AS s`;

/** Events of each session: a page view first, then a mix in the shop's proportions, ~45 s apart. */
const EVENTS_SQL = `
INSERT INTO clickstream_events (event_id, event_timestamp, event_name, user_id, user_login_state, identity_source,
  client_id, session_id, is_first_visit, context_product_id, context_product_name, context_product_category,
  context_product_brand, context_product_price, event_version, received_at, page_url, page_referrer, order_id,
  order_total, currency, quantity, properties, is_bot, device_class, browser)
SELECT gen_random_uuid(), ts, name, CASE WHEN s.logged_in THEN 'u' || s.client_id END,
  CASE WHEN s.logged_in THEN 'logged_in' ELSE 'guest' END, CASE WHEN s.logged_in THEN 'cognito' ELSE 'anonymous' END,
  s.client_id, s.session_id, k = 1 AND s.sn % 3 = 0,
  CASE WHEN has_product THEN 'SKU-' || p END, CASE WHEN has_product THEN 'Product ' || p END,
  CASE WHEN has_product THEN 'category-' || (p % 40) END, CASE WHEN has_product THEN 'brand-' || (p % 60) END,
  CASE WHEN has_product THEN 5 + p % 200 END, 1, ts + interval '1 second',
  CASE WHEN k = 1 THEN (ARRAY['https://shop.example/', 'https://shop.example/?utm_source=newsletter',
    'https://shop.example/c/shoes', 'https://shop.example/p/SKU-' || p, 'https://shop.example/?utm_source=ads',
    'https://shop.example/search', 'https://shop.example/', 'https://shop.example/c/bags'])[s.r_source + 1]
    ELSE 'https://shop.example/p/SKU-' || p END,
  CASE WHEN k = 1 THEN (ARRAY[NULL, 'https://www.google.com/', NULL, 'https://www.bing.com/', 'https://news.example/',
    NULL, 'https://www.google.com/', NULL])[s.r_source + 1] END,
  CASE WHEN name = 'purchase' THEN 'O-' || s.sn || '-' || k END,
  CASE WHEN name IN ('purchase', 'begin_checkout') THEN 5 + p % 200 END,
  CASE WHEN name IN ('purchase', 'begin_checkout') THEN 'USD' END,
  CASE WHEN name = 'add_to_cart' THEN 1 END,
  CASE
    WHEN name = 'page_view' THEN jsonb_build_object('page_type', (ARRAY['home', 'category', 'product', 'search', 'cart'])[1 + p % 5])
    WHEN name = 'purchase' THEN jsonb_build_object('order', jsonb_build_object('order_id', 'O-' || s.sn || '-' || k,
      'items', jsonb_build_array(jsonb_build_object('product', jsonb_build_object('id', 'SKU-' || p, 'name', 'Product ' || p,
        'category', 'category-' || (p % 40), 'price', 5 + p % 200), 'quantity', 1)), 'total', 5 + p % 200, 'currency', 'USD'),
      'payment_method', 'card')
    WHEN has_product THEN jsonb_build_object('product', jsonb_build_object('id', 'SKU-' || p, 'name', 'Product ' || p,
      'category', 'category-' || (p % 40), 'brand', 'brand-' || (p % 60), 'price', 5 + p % 200))
    ELSE '{}'::jsonb END,
  s.is_bot,
  CASE WHEN s.is_bot THEN 'bot' WHEN s.r_device < 6 THEN 'desktop' WHEN s.r_device < 9 THEN 'mobile' ELSE 'tablet' END,
  CASE WHEN s.is_bot THEN NULL ELSE (ARRAY['Chrome', 'Chrome', 'Chrome', 'Safari', 'Safari', 'Firefox', 'Microsoft Edge',
    'Chrome', 'Samsung Internet for Android', 'Safari'])[s.r_device + 1] END
FROM bench_sessions s
CROSS JOIN LATERAL (
  SELECT k, s.started_at + ((k - 1) * 45 + random() * 40) * interval '1 second' AS ts, random() AS r,
    floor(power(random(), 2) * 1000)::int AS p
  FROM generate_series(1, s.n) AS k
) e
CROSS JOIN LATERAL (
  SELECT CASE WHEN e.k = 1 THEN 'page_view' WHEN e.r < 0.30 THEN 'page_view' WHEN e.r < 0.55 THEN 'product_view'
    WHEN e.r < 0.63 THEN 'product_list_view' WHEN e.r < 0.70 THEN 'search' WHEN e.r < 0.80 THEN 'click'
    WHEN e.r < 0.88 THEN 'add_to_cart' WHEN e.r < 0.91 THEN 'begin_checkout' WHEN e.r < 0.93 THEN 'purchase'
    WHEN e.r < 0.95 THEN 'remove_from_cart' WHEN e.r < 0.97 THEN 'wishlist_toggle' WHEN e.r < 0.98 THEN 'login'
    WHEN e.r < 0.99 THEN 'share_click' ELSE 'sign_up' END AS name
) nm
CROSS JOIN LATERAL (
  SELECT nm.name IN ('product_view', 'add_to_cart', 'remove_from_cart', 'wishlist_toggle', 'share_click') AS has_product
) hp
WHERE s.sn >= $1 AND s.sn < $2`;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

async function main() {
  const temp = await createTempDatabase('bench_dash');
  log(`database ${temp.name}; ${EVENTS.toLocaleString('en-US')} events, ${SESSIONS.toLocaleString('en-US')} sessions`);
  const wh = await openWarehouse({ databaseUrl: temp.url });
  const admin = new pg.Client({ connectionString: temp.url });
  await admin.connect();
  try {
    await wh.migrate();
    const t0 = performance.now();
    await admin.query('SELECT setseed(0.42)');
    await admin.query(SESSIONS_SQL, [CLIENTS, START.toISOString(), DAYS, SESSIONS]);
    const indexes = await admin.query<{ indexname: string; indexdef: string }>(
      `SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'clickstream_events' AND indexname NOT LIKE '%pkey'`,
    );
    for (const i of indexes.rows) await admin.query(`DROP INDEX ${i.indexname}`);
    const step = 100_000;
    for (let from = 1; from <= SESSIONS; from += step) {
      await admin.query(EVENTS_SQL, [from, Math.min(from + step, SESSIONS + 1)]);
      log(`generated sessions ${Math.min(from + step - 1, SESSIONS)} / ${SESSIONS}`);
    }
    for (const i of indexes.rows) await admin.query(i.indexdef);
    await admin.query('ANALYZE clickstream_events');
    const [counts] = (
      await admin.query<{ events: string; sessions: string; clients: string }>(
        `SELECT count(*) AS events, count(DISTINCT session_id) AS sessions, count(DISTINCT client_id) AS clients FROM clickstream_events`,
      )
    ).rows;
    const generateMs = performance.now() - t0;
    log(`generated in ${secs(generateMs)}: ${JSON.stringify(counts)}`);

    const t1 = performance.now();
    await admin.query(
      `INSERT INTO etl_dirty_days (day, marked_at)
       SELECT DISTINCT (event_timestamp AT TIME ZONE 'UTC')::date, now() FROM clickstream_events ON CONFLICT DO NOTHING`,
    );
    await wh.withSession(async (s) => {
      await s.query('SET synchronous_commit TO off');
      await refreshDirtyDays(s, new Set());
    });
    const buildMs = performance.now() - t1;
    await admin.query('VACUUM ANALYZE');
    log(`rollups built in ${secs(buildMs)}`);

    const app = createDashboardApp({ db: wh, now: () => NOW });
    const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
    const to = day(NOW.getTime());
    const ranges = { '7 d': day(NOW.getTime() - 6 * 86_400_000), '30 d': day(NOW.getTime() - 29 * 86_400_000) };
    const endpoints = [
      ...PANELS.map((p) => p.id),
      'funnel?steps=page_view,product_view,add_to_cart,purchase',
      'kpis?login=logged_in&tz=America/New_York',
    ];
    const results: { endpoint: string; range: string; p50: number; p95: number }[] = [];
    for (const endpoint of endpoints) {
      for (const [label, from] of Object.entries(ranges)) {
        const sep = endpoint.includes('?') ? '&' : '?';
        const url = `/api/${endpoint}${sep}from=${from}&to=${to}`;
        const times: number[] = [];
        for (let i = 0; i < ITERATIONS + 2; i++) {
          const started = performance.now();
          const res = await app.request(url);
          await res.text();
          if (res.status !== 200) throw new Error(`${url}: ${res.status}`);
          if (i >= 2) times.push(performance.now() - started);
        }
        times.sort((a, b) => a - b);
        results.push({ endpoint, range: label, p50: percentile(times, 50), p95: percentile(times, 95) });
      }
    }

    // The seed's approach: every row of the range into this process, aggregated here.
    const seed: Record<string, number> = {};
    for (const [label, from] of Object.entries(ranges)) {
      const started = performance.now();
      const client = new pg.Client({ connectionString: temp.url });
      await client.connect();
      let rows = 0;
      const clients = new Set<string>();
      let carts = 0;
      let checkouts = 0;
      // Like the seed's R dashboard (dbGetQuery): every row of the range into the process.
      const result = await client.query<[string, string]>({
        text: `SELECT event_name, client_id FROM clickstream_events
          WHERE event_timestamp >= '${from}T00:00:00Z' AND event_timestamp < '${to}T00:00:00Z'::timestamptz + interval '1 day'`,
        rowMode: 'array',
      });
      for (const [name, clientId] of result.rows) {
        rows++;
        clients.add(clientId);
        if (name === 'add_to_cart') carts++;
        else if (name === 'begin_checkout') checkouts++;
      }
      await client.end();
      seed[label] = performance.now() - started;
      log(`seed KPIs ${label}: ${rows} rows, ${clients.size} clients, checkout rate ${(checkouts / carts).toFixed(3)}`);
    }

    // One more hour of traffic on the last day, then what refreshing that day costs.
    const perHour = Math.round(SESSIONS / (DAYS * 24));
    await admin.query(`DELETE FROM bench_sessions`);
    await admin.query(
      `INSERT INTO bench_sessions SELECT s, 'sx' || s, 'c' || floor(power(random(), 1.5) * $1)::int,
         '2026-11-20T22:00:00Z'::timestamptz + random() * interval '55 minutes', random() < 0.3, random() < 0.02,
         greatest(1, round(-ln(1 - random()) * 10))::int, floor(random() * 10)::int, floor(random() * 8)::int
       FROM generate_series(1, $2) AS s`,
      [CLIENTS, perHour],
    );
    const added = await admin.query(EVENTS_SQL, [1, perHour + 1]);
    await admin.query(`INSERT INTO etl_dirty_days (day, marked_at) VALUES ('2026-11-20', now())`);
    const t2 = performance.now();
    await wh.withSession((s) => refreshDirtyDays(s, new Set()));
    const wholeDayMs = performance.now() - t2;
    const t3 = performance.now();
    const steps: Record<string, number> = {};
    await wh.withSession(async (s) => {
      await s.query('BEGIN');
      await refreshRollups(s, ['2026-11-20'], steps);
      await s.query('COMMIT');
    });
    const rollupsMs = performance.now() - t3;

    const load = os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' / ');
    const ms = (n: number) => (n < 10 ? n.toFixed(1) : n.toFixed(0));
    const out: string[] = [];
    out.push(
      `\n${Number(counts?.events).toLocaleString('en-US')} events, ${Number(counts?.sessions).toLocaleString('en-US')} sessions, ${Number(counts?.clients).toLocaleString('en-US')} clients over ${DAYS} days; generated in ${secs(generateMs)}, rollups built the ETL's way in ${secs(buildMs)}; ${ITERATIONS} warm rounds; load average (1/5/15 min) ${load}\n`,
    );
    out.push('| endpoint | 7 d p50 ms | 7 d p95 ms | 30 d p50 ms | 30 d p95 ms | p95 ≤ 100 ms |');
    out.push('|---|---:|---:|---:|---:|:---:|');
    for (const endpoint of endpoints) {
      const [a, b] = ['7 d', '30 d'].map((r) => results.find((x) => x.endpoint === endpoint && x.range === r)!);
      const ok = Math.max(a!.p95, b!.p95) <= 100 ? '✓' : '✗';
      out.push(`| \`/api/${endpoint}\` | ${ms(a!.p50)} | ${ms(a!.p95)} | ${ms(b!.p50)} | ${ms(b!.p95)} | ${ok} |`);
    }
    out.push(
      `| seed's approach for the KPIs (every row of the range into the process) | ${ms(seed['7 d']!)} | | ${ms(seed['30 d']!)} | | |`,
    );
    out.push('');
    out.push('| ETL refresh after loading one more hour of traffic | seconds |');
    out.push('|---|---:|');
    out.push(`| events in the hour | ${added.rowCount} |`);
    out.push(
      `| refresh of its UTC day: daily counts + sessions + dashboard rollups | ${(wholeDayMs / 1000).toFixed(2)} |`,
    );
    out.push(`| of which the dashboard rollups (rollups.ts) | ${(rollupsMs / 1000).toFixed(2)} |`);
    for (const [step, t] of Object.entries(steps)) out.push(`| — ${step} | ${(t / 1000).toFixed(2)} |`);
    console.log(out.join('\n'));
  } finally {
    await admin.end();
    await wh.close();
    if (values.keep) log(`kept ${temp.url}`);
    else await temp.drop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
