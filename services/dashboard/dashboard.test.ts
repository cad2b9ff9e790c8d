/**
 * The dashboard's API over a warehouse loaded by the real ETL (runEtl, pinned clock) from the
 * known sessions of fixture.ts in a file lake, on PostgreSQL and PGlite. Every expected figure is
 * worked out by hand from the fixture's session list.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runEtl } from '../etl/core.ts';
import { writeSampleLake } from '../etl/sample-lake.ts';
import { expectRollupsMatchRebuild } from '../etl/test-helpers.ts';
import { openWarehouse, type Warehouse } from '../etl/warehouse.ts';
import { FileRawStore } from '../lake/file-store.ts';
import { createTempDatabase, type TempDatabase } from '../testing/postgres.ts';
import { createDashboardApp } from './app.tsx';
import { FIXTURE_NOW, fixtureEvents, writeFixtureLake } from './fixture.ts';

// biome-ignore lint/suspicious/noExplicitAny: API answers are checked by value, not by type.
type Json = any;

describe.each(['postgres', 'pglite'] as const)('dashboard API on %s', (kind) => {
  let temp: TempDatabase | undefined;
  let wh: Warehouse;
  let lakeDir: string;
  let app: Hono;
  let store: FileRawStore;

  const get = async (url: string) => {
    const res = await app.request(url);
    return { status: res.status, body: (await res.json()) as Record<string, Json> };
  };
  const data = async (url: string) => {
    const r = await get(url);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return r.body.data;
  };

  beforeAll(async () => {
    temp = kind === 'postgres' ? await createTempDatabase('dash') : undefined;
    wh = await openWarehouse(temp ? { databaseUrl: temp.url } : { pgliteDir: 'memory://' });
    await wh.migrate();
    lakeDir = await mkdtemp(path.join(os.tmpdir(), 'dash-lake-'));
    store = new FileRawStore(lakeDir);
    await writeFixtureLake(store);
    const run = await runEtl(
      { warehouse: wh, store },
      { trigger: 'manual', lookbackHours: 24, now: () => FIXTURE_NOW },
    );
    expect(run).toMatchObject({ status: 'succeeded', rowsInserted: 20, quarantined: 2 });
    app = createDashboardApp({ db: wh, now: () => FIXTURE_NOW, lake: { store, hours: 48 } });
  });
  afterAll(async () => {
    await wh.close();
    await temp?.drop();
    await rm(lakeDir, { recursive: true, force: true });
  });

  it('KPIs of the default range (last 7 days, bots excluded) with the change against the previous 7 days', async () => {
    const k = await data('/api/kpis');
    expect(k.current).toEqual({
      events: 17,
      unique_clients: 4,
      sessions: 5,
      conversion_rate: 0.4,
      checkout_rate: 0.5, // 2 checkouts ÷ 4 add-to-carts (S2 added twice)
      revenue: 150,
      orders: 2,
      aov: 75,
    });
    expect(k.previous).toMatchObject({ events: 1, unique_clients: 1, sessions: 1, orders: 0, conversion_rate: 0 });
    expect(k.change).toMatchObject({ events: 16, unique_clients: 3, sessions: 4, revenue: null });
    expect(k.previous_period).toEqual({ start: '2026-11-07T00:00:00.000Z', end: '2026-11-14T00:00:00.000Z' });
  });

  it('KPIs follow the login-state, bot and event filters', async () => {
    expect((await data('/api/kpis?login=logged_in')).current).toEqual({
      events: 4,
      unique_clients: 1,
      sessions: 1,
      conversion_rate: 0,
      checkout_rate: 0,
      revenue: 0,
      orders: 0,
      aov: null,
    });
    expect((await data('/api/kpis?bots=include')).current).toMatchObject({
      events: 19,
      unique_clients: 5,
      sessions: 6,
    });
    // What the default view leaves out is said, so a curl or headless test is not a silent zero.
    expect((await data('/api/kpis')).bot_events_hidden).toBe(19 - 17);
    expect((await data('/api/kpis?bots=include')).bot_events_hidden).toBe(0);
    expect((await data('/api/kpis?event=add_to_cart')).current).toMatchObject({ events: 4, orders: 2 });
  });

  it('days are cut in the chosen time zone (events around midnight in Tokyo and Los Angeles)', async () => {
    const days = async (tz: string) => {
      const d = await data(`/api/events-over-time?from=2026-11-18&to=2026-11-20&granularity=day&tz=${tz}`);
      const total = d.buckets.map((_: string, i: number) =>
        d.series.reduce((s: number, x: { values: number[] }) => s + (x.values[i] as number), 0),
      );
      return { buckets: d.buckets, total };
    };
    expect(await days('UTC')).toEqual({
      buckets: ['2026-11-18T00:00:00.000Z', '2026-11-19T00:00:00.000Z', '2026-11-20T00:00:00.000Z'],
      total: [10, 7, 0],
    });
    expect(await days('Asia/Tokyo')).toEqual({
      buckets: ['2026-11-17T15:00:00.000Z', '2026-11-18T15:00:00.000Z', '2026-11-19T15:00:00.000Z'],
      total: [9, 5, 3],
    });
    expect((await days('America/Los_Angeles')).total).toEqual([11, 6, 0]);
    // Unique clients cut at Los Angeles midnight: C1, C2 and C5 on the 18th; C1 and C4 on the 19th.
    const la = (d: string) => data(`/api/kpis?from=${d}&to=${d}&tz=America/Los_Angeles`);
    expect((await la('2026-11-18')).current.unique_clients).toBe(3);
    expect((await la('2026-11-19')).current.unique_clients).toBe(2);
    expect((await data('/api/kpis?from=2026-11-19&to=2026-11-19')).current.unique_clients).toBe(3);
  });

  it('a zone with a half-hour offset says how its days are cut', async () => {
    const r = await get('/api/kpis?tz=Asia/Kolkata');
    expect(r.status).toBe(200);
    expect(r.body.filters.notice).toMatch(/not a whole number of hours/);
    expect(r.body.filters.start).toBe('2026-11-13T18:00:00.000Z'); // local midnight 18:30Z, floored to the hour
  });

  it('top events, login states and identity sources', async () => {
    expect((await data('/api/top-events')).rows.map((r: Json) => [r.event_name, r.events])).toEqual([
      ['page_view', 5],
      ['add_to_cart', 4],
      ['product_view', 4],
      ['begin_checkout', 2],
      ['purchase', 2],
    ]);
    expect((await data('/api/login-states')).rows).toEqual([
      { user_login_state: 'guest', identity_source: 'anonymous', events: 13, share: 13 / 17 },
      { user_login_state: 'logged_in', identity_source: 'cognito', events: 4, share: 4 / 17 },
    ]);
  });

  it('funnel: ordered, per session, per conversion window; a cart before the first view still counts', async () => {
    const counts = async (q = '') => (await data(`/api/funnel${q}`)).steps.map((s: Json) => s.sessions);
    expect(await counts()).toEqual([4, 3, 2, 2]); // window 1d (default)
    expect(await counts('?window=1h')).toEqual([4, 2, 1, 1]); // S5's cart came 90 min after its view
    expect(await counts('?window=5m')).toEqual([4, 2, 1, 1]); // S1 bought exactly 5 min after its view
    const f = await data('/api/funnel');
    expect(f.sessions).toBe(5);
    expect(f.steps[1]).toEqual({
      step: 2,
      event: 'add_to_cart',
      sessions: 3,
      conversion_from_previous: 0.75,
      conversion_from_first: 0.75,
      drop_off: 1,
    });
    expect(f.source).toBe('rollup_funnel');
    const custom = await data('/api/funnel?steps=page_view,add_to_cart&window=session');
    expect(custom.source).toBe('clickstream_events');
    expect(custom.steps.map((s: Json) => s.sessions)).toEqual([5, 3]);
    // The same steps through the custom path equal the rollup.
    const viaFacts = await data(
      '/api/funnel?steps=product_view,add_to_cart,begin_checkout,purchase,page_view&window=1d',
    );
    expect(viaFacts.steps.slice(0, 4).map((s: Json) => s.sessions)).toEqual([4, 3, 2, 2]);
  });

  it('retention: daily and weekly cohorts of new clients', async () => {
    const daily = await data('/api/retention?cohort=day');
    const byStart = Object.fromEntries(
      daily.cohorts.map((c: Json) => [c.start, [c.clients, ...c.periods.map((p: Json) => p.clients)]]),
    );
    expect(byStart['2026-11-18']).toEqual([3, 3, 2, 0]);
    expect(byStart['2026-11-19']).toEqual([1, 1, 0]);
    expect(byStart['2026-11-20']).toEqual([0, 0]);
    expect(daily.cohorts.find((c: Json) => c.start === '2026-11-18').periods[1].share).toBe(2 / 3);
    const weekly = await data('/api/retention');
    expect(weekly.cohorts).toEqual([
      { start: '2026-11-14', clients: 4, periods: [{ period: 0, clients: 4, share: 1 }] },
    ]);
  });

  it('paths: top 3-step sequences and what follows a chosen event', async () => {
    const p = await data('/api/paths?after=product_view');
    expect(p.note).toMatch(/UTC days/);
    expect(p.top[0]).toEqual({ path: ['add_to_cart', 'begin_checkout', 'purchase'], sessions: 2 });
    expect(p.top.slice(1).map((t: Json) => t.path.join(' > '))).toEqual([
      'add_to_cart > product_view > add_to_cart',
      'page:category > add_to_cart > product_view',
      'page:home > add_to_cart > begin_checkout',
      'page:home > product_view > add_to_cart',
      'product_view > add_to_cart > begin_checkout',
      'product_view > page:home > add_to_cart',
    ]);
    expect(p.next).toEqual([
      { step: 'add_to_cart', transitions: 2, share: 2 / 3 },
      { step: 'page:home', transitions: 1, share: 1 / 3 },
    ]);
  });

  it('top products, categories and brands', async () => {
    expect((await data('/api/products')).rows).toEqual([
      {
        product_id: 'P1',
        product_name: 'Trail Runner',
        category: 'shoes',
        brand: 'Acme',
        views: 2,
        add_to_carts: 2,
        purchases: 2,
        revenue: 80,
        view_to_cart_rate: 1,
      },
      {
        product_id: 'P2',
        product_name: 'City Sneaker',
        category: 'shoes',
        brand: 'Bolt',
        views: 1,
        add_to_carts: 2,
        purchases: 1,
        revenue: 45,
        view_to_cart_rate: 2,
      },
      {
        product_id: 'P3',
        product_name: 'Day Pack',
        category: 'bags',
        brand: 'Acme',
        views: 1,
        add_to_carts: 0,
        purchases: 0,
        revenue: 0,
        view_to_cart_rate: 0,
      },
    ]);
    expect(
      (await data('/api/categories')).rows.map((r: Json) => [r.category, r.views, r.add_to_carts, r.revenue]),
    ).toEqual([
      ['shoes', 3, 4, 125],
      ['bags', 1, 0, 0],
    ]);
    expect((await data('/api/brands')).rows.map((r: Json) => [r.brand, r.views])).toEqual([
      ['Acme', 3],
      ['Bolt', 1],
    ]);
  });

  it('sessions, landing pages, referrers, UTM sources, devices and browsers', async () => {
    expect(await data('/api/sessions')).toEqual({
      sessions: 5,
      avg_duration_s: 2268, // (360 + 1860 + 0 + 5520 + 3600) / 5
      pages_per_session: 1,
      bounce_rate: 0.4, // S3 (one page) and S6 (one product page and its product view)
      new_client_sessions: 4,
      returning_client_sessions: 1,
    });
    expect((await data('/api/landing-pages')).rows.map((r: Json) => [r.landing_page, r.sessions])).toEqual([
      ['/', 2],
      ['/c/shoes', 1],
      ['/p/P2', 1],
      ['/p/P3', 1],
    ]);
    expect((await data('/api/referrers')).rows.map((r: Json) => [r.referrer, r.sessions])).toEqual([
      ['(direct)', 3],
      ['news.example', 1],
      ['www.google.com', 1],
    ]);
    expect((await data('/api/utm-sources')).rows.map((r: Json) => [r.utm_source, r.sessions])).toEqual([
      ['(none)', 4],
      ['newsletter', 1],
    ]);
    expect((await data('/api/devices')).rows.map((r: Json) => [r.device_class, r.sessions])).toEqual([
      ['desktop', 4],
      ['mobile', 1],
    ]);
    expect((await data('/api/browsers')).rows.map((r: Json) => [r.browser, r.sessions])).toEqual([
      ['Chrome', 4],
      ['Safari', 1],
    ]);
    expect((await data('/api/devices?bots=include')).rows.map((r: Json) => [r.device_class, r.sessions])).toEqual([
      ['desktop', 4],
      ['bot', 1],
      ['mobile', 1],
    ]);
  });

  it('raw events: newest first, keyset pages, session and client filters', async () => {
    const first = await data('/api/events?limit=3');
    expect(first.rows.map((r: Json) => [r.session_id, r.event_name])).toEqual([
      ['S5', 'purchase'],
      ['S5', 'begin_checkout'],
      ['S5', 'add_to_cart'],
    ]);
    const second = await data(`/api/events?limit=3&cursor=${first.next_cursor}`);
    expect(second.rows.map((r: Json) => r.event_timestamp)).toEqual([
      '2026-11-19T14:10:00.000000Z',
      '2026-11-19T14:00:00.000000Z',
      '2026-11-19T09:00:00.000000Z',
    ]);
    const all: string[] = [];
    for (let cursor: string | null = ''; cursor !== null; ) {
      const page: Json = await data(`/api/events?limit=4${cursor ? `&cursor=${cursor}` : ''}`);
      all.push(...page.rows.map((r: Json) => r.event_id));
      cursor = page.next_cursor;
    }
    expect(all).toHaveLength(17);
    expect(new Set(all).size).toBe(17);
    const s2 = await data('/api/events?session=S2');
    expect(s2.rows.map((r: Json) => r.event_name)).toEqual(['add_to_cart', 'product_view', 'add_to_cart', 'page_view']);
    expect(s2.rows[1].properties).toEqual({
      product: { id: 'P1', name: 'Trail Runner', category: 'shoes', brand: 'Acme', price: 40 },
    });
    expect((await data('/api/events?client=C1')).rows.map((r: Json) => r.session_id)).toEqual([
      'S3',
      'S1',
      'S1',
      'S1',
      'S1',
      'S1',
    ]);
  });

  it('data quality: accepted per model and day, rejections by rule, unknown events, catalogue links', async () => {
    const dq = await data('/api/data-quality?from=2026-11-18&to=2026-11-19');
    expect(dq.days).toEqual(['2026-11-18', '2026-11-19']);
    const row = (name: string | null, version: number | null) =>
      dq.rows.find((r: Json) => r.event_name === name && r.event_version === version);
    expect(row('page_view', 1)).toMatchObject({
      deprecated: false,
      catalog: '/catalog#page_view-model-1',
      accepted: 6,
      accepted_per_day: [3, 3],
      rejected_at_ingest: 0,
      quarantined_at_load: 1,
      top_errors: [{ rule: 'required', path: '/properties', count: 1 }],
      deprecated_share: 0,
      last_seen: '2026-11-19T14:00:00.000Z',
    });
    expect(row('add_to_cart', 1)).toMatchObject({
      accepted: 4,
      rejected_at_ingest: 2,
      quarantined_at_load: 0,
      top_errors: [{ rule: 'required', path: '/properties/quantity', count: 2 }],
    });
    expect(row('coupon_apply', 1)).toMatchObject({
      deprecated: null,
      catalog: null,
      accepted: 0,
      rejected_at_ingest: 1,
    });
    expect(row(null, null)).toMatchObject({
      quarantined_at_load: 1,
      top_errors: [{ rule: 'json', path: '', count: 1 }],
    });
    expect(row('sign_up', 1)).toMatchObject({ accepted: 0, last_seen: null });
    const catalog = await app.request('/catalog');
    expect(await catalog.text()).toContain('id="page_view-model-1"');
  });

  it('pipeline health: last runs, lag to the newest event, nothing left unloaded', async () => {
    const p = await data('/api/pipeline');
    expect(p.runs).toHaveLength(1);
    expect(p.runs[0]).toMatchObject({ status: 'succeeded', rows_inserted: 20, quarantined: 2, trigger: 'manual' });
    expect(p.newest_event).toBe('2026-11-19T15:32:00.000Z');
    expect(p.lag_seconds).toBe(20 * 3600 + 28 * 60);
    expect(p.lake_pending).toEqual({ checked_hours: 48, objects: 0, oldest: null });
  });

  it('after a late object (a session starting earlier, a client first seen earlier) the rollups equal a rebuild', async () => {
    const late: Record<string, unknown>[] = fixtureEvents()
      .filter((e) => e.session_id === 'S3')
      .map((e, i) => ({
        ...e,
        event_id: randomUUID(),
        session_id: i === 0 ? 'S7' : 'S1',
        event_timestamp: i === 0 ? '2026-11-17T08:00:00.000Z' : '2026-11-18T09:50:00.000Z',
        received_at: '2026-11-20T12:30:00.000Z',
      }));
    late.push({ ...late[0], event_id: randomUUID(), session_id: 'S1', event_timestamp: '2026-11-18T09:50:00.000Z' });
    await writeSampleLake(store, late, 10);
    const later = new Date('2026-11-20T13:00:00Z');
    const run = await runEtl({ warehouse: wh, store }, { trigger: 'manual', lookbackHours: 24, now: () => later });
    expect(run).toMatchObject({ status: 'succeeded', rowsInserted: 2 });
    const [s1] = await wh.query<{ h: Date }>(`SELECT start_hour AS h FROM session_details WHERE session_id = 'S1'`);
    expect(new Date(s1!.h).toISOString()).toBe('2026-11-18T09:00:00.000Z');
    const lateApp = createDashboardApp({ db: wh, now: () => later });
    const cohorts = (await (
      await lateApp.request('/api/retention?cohort=day&from=2026-11-17&to=2026-11-19')
    ).json()) as Json;
    expect(cohorts.data.cohorts.map((c: Json) => [c.start, c.clients])).toEqual([
      ['2026-11-17', 1],
      ['2026-11-18', 2],
      ['2026-11-19', 1],
    ]);
  });

  it('the rollups the ETL maintained equal a rebuild from scratch', async () => {
    expect((await wh.query('SELECT 1 FROM rollup_event_counts LIMIT 1')).length).toBeGreaterThan(0);
    await expectRollupsMatchRebuild(wh);
  });

  it('an empty range answers every panel with empty data, and the page shows empty states', async () => {
    const q = 'from=2026-10-01&to=2026-10-07';
    expect((await data(`/api/kpis?${q}`)).current).toMatchObject({
      events: 0,
      unique_clients: 0,
      sessions: 0,
      aov: null,
    });
    expect((await data(`/api/products?${q}`)).rows).toEqual([]);
    expect((await data(`/api/funnel?${q}`)).steps.map((s: Json) => s.sessions)).toEqual([0, 0, 0, 0]);
    const page = await app.request(`/?${q}`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('No events in this range.');
    expect(html).toContain('No data in this range.');
  });
});
