/**
 * The local stack end to end in real Chromium, wired exactly as `npm start` wires it (startStack:
 * one process, the shop's origin allowed by the ingest, the shop's local ID tokens verified by the
 * ingest), on free ports and a temp DATA_DIR: a guest browses, adds to the cart and leaves; a user
 * signs up, logs in and buys two products; an ETL tick runs; then the dashboard's API shows exactly
 * those two sessions in its funnel and key figures, the warehouse's purchase row names the OLTP
 * order, and the signed-in events carry logged_in / cognito / the user's sub.
 *
 * Clocks: the stack runs on a clock pinned at 2100-01-01 12:00Z that advances with the monotonic
 * clock (2100 keeps the shop's tokens valid for aws-jwt-verify, which reads the real clock; the
 * ingest's skew correction moves the browser's event times onto it). The tracker is
 * at-least-once, so events are compared by distinct event_id.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config.ts';
import { orders, users } from '../storefront/db/schema.ts';
import { launchChromium } from '../testing/chromium.ts';
import { lakeEvents } from '../testing/lake-events.ts';
import { go, newShopper, seedProduct } from '../testing/shopper.ts';
import { type Stack, startStack } from './start.ts';

const T0 = Date.parse('2100-01-01T12:00:00Z');
const started = performance.now();
const clock = () => new Date(T0 + (performance.now() - started));
/**
 * Headless Chromium says `HeadlessChrome` in its user agent, which the dashboard (isbot) rightly
 * counts as a bot and hides by default: these shoppers present the desktop Chrome it stands for.
 * Set on the command line, not per context: Playwright's override misses sendBeacon requests.
 */
const DESKTOP_CHROME =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36';

let work: string;
let stack: Stack;
let browser: Browser;
const pageErrors: string[] = [];

interface LakeEvent {
  event_id: string;
  event_name: string;
  client_id: string;
}

/** Distinct events of the lake (first copy of each event_id). */
const readLake = () => lakeEvents<LakeEvent>(path.join(work, 'lake'));

/** Waits until the lake holds an event named `name`, then a moment more for stragglers. */
async function lakeHas(name: string): Promise<void> {
  await expect
    .poll(async () => (await readLake()).some((e) => e.event_name === name), { timeout: 20_000, interval: 200 })
    .toBe(true);
  await new Promise((r) => setTimeout(r, 500));
}

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'stack-browser-'));
  [stack, browser] = await Promise.all([
    startStack({
      config: loadConfig({ DATA_DIR: work, HOST: '127.0.0.1', ETL_INTERVAL: '1h', LOG_LEVEL: 'error' }),
      ports: { ingest: 0, storefront: 0, dashboard: 0 },
      now: clock,
      logLevel: 'error',
    }),
    launchChromium({ args: [`--user-agent=${DESKTOP_CHROME}`] }),
  ]);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await stack?.close();
  await rm(work, { recursive: true, force: true });
});

describe('npm start end to end in Chromium', () => {
  it('a guest and a buyer appear on the dashboard after an ETL tick, with the OLTP order and the verified user', async () => {
    const shop = stack.urls.storefront;

    // ---- a guest browses, adds to the cart and leaves ----
    const guest = await newShopper(browser, pageErrors, { locale: 'en-US' });
    await guest.page.goto(`${shop}/`);
    await guest.page.click('form[data-consent] button[value=accept]');
    await expect.poll(() => guest.page.isVisible('form[data-consent]')).toBe(false);
    await guest.page.waitForLoadState('networkidle');
    await go(guest.page, '[data-track-id=hero-shop-tents]', /\/c\/tents$/);
    const tent = seedProduct('Riverstone Solo Tent 1P');
    await go(guest.page, `li[data-product-id=${tent.id}] a`, new RegExp(`/p/${tent.slug}`));
    await go(guest.page, '[data-track-id=add-to-cart]', /\/cart$/);
    await guest.page.goto('about:blank');
    await lakeHas('add_to_cart');
    await guest.context.close();

    // ---- a user signs up, logs in and buys two products ----
    const lamp = seedProduct('Alpenglow Beam 400');
    const buyer = await newShopper(browser, pageErrors, { locale: 'en-US' });
    const { page } = buyer;
    await page.goto(`${shop}/signup`);
    await page.click('form[data-consent] button[value=accept]');
    await page.waitForLoadState('networkidle');
    await page.fill('input[name=name]', 'Ana Lima');
    await page.fill('input[name=email]', 'ana.lima@example.com');
    await page.fill('input[name=password]', 'Correct-Horse-9');
    await go(page, '[data-track-id=signup-submit]', /\/login\?email=/);
    await page.fill('input[name=password]', 'Correct-Horse-9');
    await go(page, '[data-track-id=login-submit]', `${shop}/`);
    await go(page, `li[data-product-id=${tent.id}] a`, new RegExp(`/p/${tent.slug}`));
    await go(page, '[data-track-id=add-to-cart]', /\/cart$/);
    await go(page, 'nav.categories a[href="/c/headlamps"]', /\/c\/headlamps$/);
    await go(page, `li[data-product-id=${lamp.id}] a`, new RegExp(`/p/${lamp.slug}`));
    await go(page, '[data-track-id=add-to-cart]', /\/cart$/);
    await go(page, '[data-track-id=go-to-checkout]', /\/checkout$/);
    await page.fill('textarea[name=ship_address]', '12 Ridge Road, Hill Town');
    await go(page, '[data-track-id=place-order]', /\/orders\/ORD-\w+\?placed=1$/);
    const orderId = await page.getAttribute('[data-order-id]', 'data-order-id');
    await page.goto('about:blank');
    await lakeHas('purchase');
    await buyer.context.close();
    expect(pageErrors).toEqual([]);

    // ---- the ETL tick ----
    const lake = await readLake();
    expect(new Set(lake.map((e) => e.client_id)).size).toBe(2);
    const run = await stack.runEtlNow();
    expect(run).toMatchObject({ status: 'succeeded', rowsInserted: lake.length, quarantined: 0 });

    // ---- the warehouse: the OLTP order, the verified user ----
    const db = stack.storefront.oltp.db;
    const [user] = await db.select().from(users).where(eq(users.email, 'ana.lima@example.com'));
    const placed = await db.select().from(orders).where(eq(orders.userId, user!.id));
    expect(placed.map((o) => o.id)).toEqual([orderId]);
    const rows = await stack.warehouse.query<{
      event_name: string;
      client_id: string;
      user_id: string | null;
      user_login_state: string;
      identity_source: string;
      order_id: string | null;
    }>(
      `SELECT event_name, client_id, user_id, user_login_state, identity_source, order_id
       FROM clickstream_events ORDER BY event_timestamp, event_id`,
    );
    expect(rows).toHaveLength(lake.length);
    expect(rows.filter((r) => r.order_id !== null)).toEqual([
      expect.objectContaining({ event_name: 'purchase', order_id: orderId, user_id: user!.id }),
    ]);
    const buyerClient = rows.find((r) => r.event_name === 'purchase')!.client_id;
    const buyerRows = rows.filter((r) => r.client_id === buyerClient);
    const loginAt = buyerRows.findIndex((r) => r.event_name === 'login');
    expect(loginAt).toBeGreaterThan(0);
    const identity = (r: (typeof rows)[number]) => `${r.user_login_state}/${r.identity_source}/${r.user_id ?? '-'}`;
    // Every event from the login on is the verified user; the guest's never are.
    expect(buyerRows.slice(loginAt).map(identity)).toEqual(
      buyerRows.slice(loginAt).map(() => `logged_in/cognito/${user!.id}`),
    );
    expect(new Set(rows.filter((r) => r.client_id !== buyerClient).map(identity))).toEqual(
      new Set(['guest/anonymous/-']),
    );

    // ---- the dashboard's API: exactly those two sessions ----
    const day = clock().toISOString().slice(0, 10);
    const api = async (panel: string) => {
      const res = await fetch(`${stack.urls.dashboard}/api/${panel}?from=${day}&to=${day}`);
      expect(res.status).toBe(200);
      return ((await res.json()) as { data: Record<string, unknown> }).data;
    };
    const kpis = (await api('kpis')) as { current: Record<string, number> };
    expect(kpis.current).toMatchObject({
      sessions: 2,
      unique_clients: 2,
      events: lake.length,
      orders: 1,
      revenue: placed[0]!.totalMinor / 100,
    });
    const funnel = (await api('funnel')) as { steps: { event: string; sessions: number }[] };
    expect(funnel.steps.map((s) => [s.event, s.sessions])).toEqual([
      ['product_view', 2],
      ['add_to_cart', 2],
      ['begin_checkout', 1],
      ['purchase', 1],
    ]);
  }, 180_000);
});
