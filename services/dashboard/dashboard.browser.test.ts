/**
 * The dashboard in a real headless Chromium (playwright-core), served by the real server over a
 * warehouse the ETL loaded from the fixture plus generated traffic: no console errors (a CSP
 * violation would be one), KPI cards equal the API, the login-state filter and the date range
 * change them and the URL, a CSV export downloads the rows the table shows. Saves full-page
 * screenshots, light and dark, to docs/images/ (embedded in the README).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config.ts';
import { runEtl } from '../etl/core.ts';
import { sampleEvents } from '../etl/sample-lake.ts';
import { openWarehouse, type Warehouse } from '../etl/warehouse.ts';
import { describeUserAgent } from '../ingest/user-agent.ts';
import { FileRawStore } from '../lake/file-store.ts';
import { launchChromium } from '../testing/chromium.ts';
import { FIXTURE_NOW, UA, writeFixtureLake } from './fixture.ts';
import { type DashboardServer, startDashboardServer } from './server.ts';

const IMAGES = path.resolve(import.meta.dirname, '../../docs/images');
const AGENTS = [UA.chrome, UA.chrome, UA.iphone, UA.chrome, UA.googlebot];

/** Traffic over the fixture's week so the screenshots show something: sample events with real user agents. */
function traffic() {
  return [...sampleEvents(1500, { start: new Date('2026-11-14T00:00:00Z'), spanHours: 150, seed: 7 })].map((e, i) => {
    const ua = AGENTS[Math.floor(i / 12) % AGENTS.length] as string;
    return { ...e, user_agent: ua, ...describeUserAgent(ua) };
  });
}

// Each page renders 22 panels from PGlite in this process: on a loaded 2-core machine that takes seconds.
describe('dashboard in Chromium', { timeout: 120_000 }, () => {
  let wh: Warehouse;
  let lakeDir: string;
  let server: DashboardServer;
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];

  beforeAll(async () => {
    wh = await openWarehouse({ pgliteDir: 'memory://' });
    await wh.migrate();
    lakeDir = await mkdtemp(path.join(os.tmpdir(), 'dash-browser-lake-'));
    const store = new FileRawStore(lakeDir);
    await writeFixtureLake(store, traffic());
    const run = await runEtl(
      { warehouse: wh, store },
      { trigger: 'manual', lookbackHours: 24, now: () => FIXTURE_NOW },
    );
    expect(run.status).toBe('succeeded');
    server = await startDashboardServer({
      config: loadConfig({ HOST: '127.0.0.1' }),
      warehouse: wh,
      store,
      now: () => FIXTURE_NOW,
      port: 0,
    });
    browser = await launchChromium();
    const context = await browser.newContext({
      viewport: { width: 1400, height: 900 },
      acceptDownloads: true,
      // A browser's own locale: without it Chromium derives one from LANG=C (en-US@posix), which Intl rejects.
      locale: 'en-US',
      timezoneId: 'UTC',
    });
    page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(e.message));
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await wh?.close();
    await rm(lakeDir, { recursive: true, force: true });
  });

  const cards = async () =>
    Object.fromEntries(
      await page.$$eval('[data-kpi]', (els) =>
        els.map((el) => [el.getAttribute('data-kpi'), el.querySelector('.value')?.textContent ?? '']),
      ),
    );
  const api = async (query: string) => {
    const body = (await (await fetch(`${server.url}/api/kpis?${query}`)).json()) as {
      data: { current: Record<string, number> };
    };
    const c = body.data.current;
    const n = (v: number | undefined) => (v ?? 0).toLocaleString('en-US', { maximumFractionDigits: 2 });
    return { events: n(c.events), unique_clients: n(c.unique_clients), sessions: n(c.sessions) };
  };
  const shown = async () => {
    const c = await cards();
    return { events: c.events, unique_clients: c.unique_clients, sessions: c.sessions };
  };

  it('loads without console errors, draws the chart and shows the API figures', async () => {
    await page.goto(`${server.url}/`);
    await page.waitForSelector('#chart-events-over-time canvas');
    expect(await shown()).toEqual(await api(''));
    expect(errors).toEqual([]);
  });

  it('hidden bot traffic is said under the key figures, with a link that includes it', async () => {
    const events = async (q: string) =>
      ((await (await fetch(`${server.url}/api/kpis?${q}`)).json()) as { data: { current: { events: number } } }).data
        .current.events;
    const hidden = (await events('bots=include')) - (await events(''));
    expect(hidden).toBeGreaterThan(0);
    const note = page.locator('[data-bots-hidden]');
    expect(await note.getAttribute('data-bots-hidden')).toBe(String(hidden));
    await Promise.all([page.waitForURL(/bots=include/), note.locator('a').click()]);
    expect((await cards()).events).toBe((await api('bots=include')).events);
    expect(await page.locator('[data-bots-hidden]').count()).toBe(0);
    await page.goBack();
  });

  it('draws the chart in a browser whose locale Intl rejects (LANG=C gives Chromium en-US@posix)', async () => {
    const context = await browser.newContext({ timezoneId: 'UTC' });
    await context.addInitScript(() => {
      Object.defineProperty(Navigator.prototype, 'language', { get: () => 'en-US@posix', configurable: true });
    });
    const posix = await context.newPage();
    const posixErrors: string[] = [];
    posix.on('pageerror', (e) => posixErrors.push(e.message));
    await posix.goto(`${server.url}/`);
    await posix.waitForSelector('#chart-events-over-time canvas');
    expect(posixErrors).toEqual([]);
    await context.close();
  });

  it('the login-state filter changes the figures and the URL', async () => {
    const before = await shown();
    await page.selectOption('select[name=login]', 'logged_in');
    await Promise.all([page.waitForURL(/login=logged_in/), page.click('#filters button[type=submit]')]);
    const after = await shown();
    expect(after).not.toEqual(before);
    expect(after).toEqual(await api(new URL(page.url()).search.slice(1)));
  });

  it('the date range changes the figures and the URL; the back button restores them', async () => {
    const before = await shown();
    await page.fill('input[name=from]', '2026-11-18');
    await page.fill('input[name=to]', '2026-11-18');
    await Promise.all([page.waitForURL(/from=2026-11-18&to=2026-11-18/), page.click('#filters button[type=submit]')]);
    const after = await shown();
    expect(after).not.toEqual(before);
    expect(after).toEqual(await api('from=2026-11-18&to=2026-11-18&login=logged_in'));
    await page.goBack();
    expect(await shown()).toEqual(before);
    expect(errors).toEqual([]);
  });

  it('CSV export downloads the rows the table shows', async () => {
    await page.goto(`${server.url}/?from=2026-11-14&to=2026-11-20`);
    const shownRows = await page.$$eval('#top-events table tbody tr', (trs) =>
      trs.map((tr) => [...tr.querySelectorAll('td')].slice(0, 2).map((td) => td.textContent ?? '')),
    );
    expect(shownRows.length).toBeGreaterThan(3);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('a[data-csv=top-events]')]);
    const file = await download.path();
    const lines = (await readFile(file, 'utf8')).trim().split('\r\n');
    expect(lines[0]).toBe('event_name,events,share');
    expect(lines.slice(1).map((l) => l.split(',').slice(0, 2))).toEqual(
      shownRows.map(([name, events]) => [name, (events ?? '').replaceAll(',', '')]),
    );
  });

  it('saves full-page screenshots, light and dark', async () => {
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      await page.goto(`${server.url}/?from=2026-11-14&to=2026-11-20`);
      await page.waitForSelector('#chart-events-over-time canvas');
      await page.screenshot({ path: path.join(IMAGES, `dashboard-${scheme}.png`), fullPage: true });
    }
    expect(errors).toEqual([]);
  });
});
