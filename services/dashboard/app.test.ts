/**
 * The dashboard app's HTTP contract, on an empty embedded warehouse: parameter validation
 * (table-driven), token, headers, routes. Panel figures are in dashboard.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openWarehouse, type Warehouse } from '../etl/warehouse.ts';
import { createDashboardApp } from './app.tsx';
import { FIXTURE_NOW } from './fixture.ts';
import { PANELS } from './panels.ts';
import { isLoopback } from './server.ts';

let wh: Warehouse;
beforeAll(async () => {
  wh = await openWarehouse({ pgliteDir: 'memory://' });
  await wh.migrate();
});
afterAll(() => wh.close());

const app = () => createDashboardApp({ db: wh, now: () => FIXTURE_NOW });

describe('query parameters', () => {
  it.each([
    ['/api/kpis?from=2026-13-01', 'invalid_date'],
    ['/api/kpis?to=2026-02-30', 'invalid_date'],
    ['/api/kpis?from=yesterday', 'invalid_date'],
    ['/api/kpis?event=nope', 'unknown_event'],
    ['/api/kpis?from=2025-01-01&to=2026-11-20', 'range_too_long'],
    ['/api/kpis?from=2026-11-20&to=2026-11-01', 'invalid_range'],
    ['/api/kpis?tz=Mars/Olympus_Mons', 'unknown_timezone'],
    ['/api/kpis?granularity=minute', 'invalid_granularity'],
    ['/api/kpis?login=admin', 'invalid_login'],
    ['/api/kpis?bots=maybe', 'invalid_bots'],
    ['/api/kpis?refresh=7', 'invalid_refresh'],
    ['/api/kpis?from=2026-11-01&from=2026-11-02', 'invalid_parameter'],
    ['/api/events-over-time?by=country', 'invalid_by'],
    ['/api/funnel?steps=page_view', 'invalid_steps'],
    ['/api/funnel?steps=page_view,teleport', 'unknown_event'],
    ['/api/funnel?window=2h', 'invalid_window'],
    ['/api/retention?cohort=year', 'invalid_cohort'],
    ['/api/paths?after=teleport', 'unknown_event'],
    ['/api/events?cursor=not-a-cursor', 'invalid_cursor'],
    ['/api/events?limit=0', 'invalid_limit'],
    ['/api/events?limit=1000', 'invalid_limit'],
    [`/api/events?session=${'s'.repeat(65)}`, 'invalid_parameter'],
    ['/?tz=Nowhere/Nothing', 'unknown_timezone'],
    ['/api/products.csv?event=nope', 'unknown_event'],
  ])('%s → 400 %s', async (url, code) => {
    const res = await app().request(url);
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe(code);
    expect(body.error.message).toEqual(expect.any(String));
  });

  it('a range of exactly 400 days is allowed', async () => {
    expect((await app().request('/api/kpis?from=2025-10-17&to=2026-11-20')).status).toBe(200);
  });

  it('the default range is the last 7 days ending today in the chosen zone (the injected clock)', async () => {
    const body = (await (await app().request('/api/kpis?tz=Pacific/Kiritimati')).json()) as {
      filters: Record<string, string>;
    };
    // 12:00Z on the 20th is already the 21st at UTC+14.
    expect(body.filters).toMatchObject({ from: '2026-11-15', to: '2026-11-21', start: '2026-11-14T10:00:00.000Z' });
  });
});

describe('routes and headers', () => {
  it('every panel answers JSON, and every table panel CSV', async () => {
    for (const p of PANELS) {
      const res = await app().request(`/api/${p.id}`);
      expect(res.status, p.id).toBe(200);
      if (!p.table) continue;
      const csv = await app().request(`/api/${p.id}.csv`);
      expect(csv.status, p.id).toBe(200);
      expect(csv.headers.get('content-type')).toBe('text/csv; charset=utf-8');
      expect(csv.headers.get('content-disposition')).toBe(`attachment; filename="${p.id}.csv"`);
    }
    expect((await app().request('/api/kpis.csv')).status).toBe(404);
    expect(((await (await app().request('/api/nope')).json()) as { error: { code: string } }).error.code).toBe(
      'unknown_panel',
    );
  });

  it('the page embeds every panel as JSON, loads only its own script, and sends a CSP without inline code', async () => {
    const res = await app().request('/?refresh=30');
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    const html = await res.text();
    for (const p of PANELS) expect(html).toContain(`<script type="application/json" id="data-${p.id}">`);
    const scripts = [...html.matchAll(/<script([^>]*)>/g)].map((m) => m[1] as string);
    expect(scripts.filter((a) => !a.includes('application/json'))).toEqual([' src="/assets/dashboard.js" defer=""']);
    expect(html).not.toMatch(/ style=/);
    expect(html).toContain('<meta http-equiv="refresh" content="30"/>');
  });

  it('serves the bundled uPlot client and stylesheet locally', async () => {
    const js = await app().request('/assets/dashboard.js');
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toContain('javascript');
    expect((await js.text()).length).toBeGreaterThan(20_000);
    expect(await (await app().request('/assets/dashboard.css')).text()).toContain('.uplot');
  });

  it("the seed's /sbw_dashboard redirects to the dashboard, keeping the query", async () => {
    const res = await app().request('/sbw_dashboard?login=guest');
    expect(res.status).toBe(301);
    expect(res.headers.get('location')).toBe('/?login=guest');
  });

  it('with a token, requests need it (Bearer, or ?token= once → cookie) and /health stays open', async () => {
    const token = 'a-very-long-dashboard-token';
    const guarded = createDashboardApp({ db: wh, now: () => FIXTURE_NOW, token });
    expect((await guarded.request('/api/kpis')).status).toBe(401);
    expect((await guarded.request('/api/kpis', { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    expect((await guarded.request('/api/kpis', { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    expect((await guarded.request('/health')).status).toBe(200);
    const login = await guarded.request(`/?login=guest&token=${token}`);
    expect(login.status).toBe(303);
    expect(login.headers.get('location')).toBe('/?login=guest');
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] as string;
    expect(login.headers.get('set-cookie')).toMatch(/HttpOnly/);
    expect((await guarded.request('/?login=guest', { headers: { cookie } })).status).toBe(200);
  });

  it('only loopback addresses may be served without a token', () => {
    expect(['127.0.0.1', '127.0.0.2', 'localhost', '::1'].map(isLoopback)).toEqual([true, true, true, true]);
    expect(['0.0.0.0', '10.0.0.5', '::', 'dashboard.internal'].map(isLoopback)).toEqual([false, false, false, false]);
  });
});
