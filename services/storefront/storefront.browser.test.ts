/**
 * The shop end to end in real Chromium: the storefront server (PGlite OLTP in a temp DATA_DIR,
 * the local identity provider, the built tracker) and the real ingest server (file lake in a temp
 * folder, verifying the shop's ID tokens through JWT_ISSUER + JWKS_URI), both on loopback. A guest
 * browses, searches, adds to the cart and leaves; a user signs up, logs in, buys two products and
 * logs out. Then the lake holds exactly those journeys' events in order, the purchase names the
 * OLTP order, signed-in events carry the verified user — and after `runEtl`, so does the warehouse.
 * Also saves the screenshot the README shows (docs/images/storefront.png).
 *
 * Clocks: the servers run on a clock pinned at 2100-01-01 that advances with the monotonic clock
 * (the ingest's skew correction and the lake's hours need time to move; 2100 keeps the shop's
 * tokens valid for aws-jwt-verify, which reads the real clock). Chromium's clock is its own: events
 * are ordered by `client_event_timestamp`, the browser's time as it sent it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config.ts';
import { runEtl } from '../etl/core.ts';
import { openWarehouse } from '../etl/warehouse.ts';
import { type IngestServer, startIngestServer } from '../ingest/server.ts';
import { openRawStore } from '../lake/open.ts';
import { createLogger } from '../log.ts';
import { launchChromium } from '../testing/chromium.ts';
import { lakeEvents } from '../testing/lake-events.ts';
import { freePort } from '../testing/ports.ts';
import { go, newShopper, seedProduct } from '../testing/shopper.ts';
import { orders, users } from './db/schema.ts';
import { seedProducts } from './seed.ts';
import { type StorefrontServer, startStorefrontServer } from './server.ts';

const T0 = Date.parse('2100-01-01T00:00:00Z');
const started = performance.now();
const clock = () => new Date(T0 + (performance.now() - started));
const ISSUER = 'http://localhost:3000';
const AUDIENCE = 'storefront-browser-test';
const silent = createLogger('error', () => {});
const SCREENSHOT = path.resolve(import.meta.dirname, '../../docs/images/storefront.png');

interface LakeEvent {
  event_id: string;
  event_name: string;
  event_timestamp: string;
  client_event_timestamp: string;
  client_id: string;
  user_id: string | null;
  user_login_state: string;
  identity_source: string;
  page: { url: string };
  properties: Record<string, unknown> & {
    page_type?: string;
    list_id?: string;
    query?: string;
    results_count?: number;
    element_id?: string;
    method?: string;
    action?: string;
    channel?: string;
    quantity?: number;
    product?: { id: string };
    order?: { order_id: string; total: number; items: { product: { id: string }; quantity: number }[] };
  };
}

let workDir: string;
let lakeDir: string;
let shop: StorefrontServer;
let ingest: IngestServer;
let browser: Browser;
const pageErrors: string[] = [];

/** Every distinct event in the lake, in the order the browser tracked them (key order breaks ties). */
async function readLake(): Promise<LakeEvent[]> {
  return (await lakeEvents<LakeEvent>(lakeDir)).sort(
    (a, b) => Date.parse(a.client_event_timestamp) - Date.parse(b.client_event_timestamp),
  );
}

async function lakeHolds(n: number): Promise<LakeEvent[]> {
  try {
    await expect
      .poll(async () => (await readLake()).length, { timeout: 20_000, interval: 200 })
      .toBeGreaterThanOrEqual(n);
  } catch (err) {
    const got = (await readLake()).map(
      (e) => `${describeEvent(e)} (${e.user_login_state}, ${new URL(e.page.url).pathname})`,
    );
    throw new Error(`the lake holds ${got.length} events, expected ${n}:\n  ${got.join('\n  ')}`, { cause: err });
  }
  // An event tracked that should not have been would show up as an extra one.
  await new Promise((r) => setTimeout(r, 500));
  return readLake();
}

/** One readable line per event: its name and what identifies it. */
function describeEvent(e: LakeEvent): string {
  const p = e.properties;
  const detail =
    p.page_type ??
    p.list_id ??
    p.element_id ??
    p.method ??
    p.channel ??
    (p.query !== undefined ? `${p.query}=${p.results_count}` : undefined);
  const product = p.product
    ? `${p.product.id}${p.quantity ? `×${p.quantity}` : ''}${p.action ? `:${p.action}` : ''}`
    : undefined;
  const order = p.order ? p.order.items.map((i) => `${i.product.id}×${i.quantity}`).join('+') : undefined;
  return [e.event_name, detail ?? product ?? order].filter(Boolean).join(' ');
}

/**
 * Clicks, waits for the navigation it starts, and lets the new page settle (no request for 500 ms)
 * as a shopper would look at it: a click within milliseconds of a page's start can make Chromium
 * abort the tracker's first keepalive request of that page (seen here: the home page's two events
 * lost when the hero link was clicked right after the consent banner's send).
 */
beforeAll(async () => {
  workDir = await mkdtemp(path.join(tmpdir(), 'storefront-browser-'));
  lakeDir = path.join(workDir, 'lake');
  const ingestPort = await freePort();
  const common = { HOST: '127.0.0.1', JWT_ISSUER: ISSUER, COGNITO_CLIENT_ID: AUDIENCE, LOG_LEVEL: 'error' };
  // The shop first: it creates the key pair whose JWKS the ingest reads at start.
  [shop, browser] = await Promise.all([
    freePort().then((port) =>
      startStorefrontServer({
        config: loadConfig({
          ...common,
          DATA_DIR: path.join(workDir, 'data'),
          STOREFRONT_PORT: String(port),
          INGEST_URL: `http://127.0.0.1:${ingestPort}/clickstream`,
        }),
        now: clock,
        logger: silent,
      }),
    ),
    launchChromium(),
  ]);
  ingest = await startIngestServer({
    config: loadConfig({
      ...common,
      PORT: String(ingestPort),
      LAKE_URL: `file://${lakeDir}`,
      CORS_ORIGINS: shop.url,
      JWKS_URI: `file://${shop.localIssuer!.jwksFile}`,
    }),
    now: clock,
    logger: silent,
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await ingest?.close();
  await shop?.close();
  await rm(workDir, { recursive: true, force: true });
});

const seed = seedProducts();

describe('storefront in Chromium with the real ingest', () => {
  it('records a guest’s and a buyer’s journeys, in order, with the buyer’s identity and order — in the lake and the warehouse', async () => {
    // ---- a guest browses, searches, adds to the cart and leaves ----
    const guest = await newShopper(browser, pageErrors);
    await guest.page.goto(`${shop.url}/`);
    await guest.page.click('form[data-consent] button[value=accept]');
    await expect.poll(() => guest.page.isVisible('form[data-consent]')).toBe(false);
    await guest.page.waitForLoadState('networkidle');
    await go(guest.page, '[data-track-id=hero-shop-tents]', /\/c\/tents$/);
    await guest.page.fill('header input[name=q]', 'pack');
    await Promise.all([guest.page.waitForURL(/\/search\?q=pack$/), guest.page.press('header input[name=q]', 'Enter')]);
    const firstPack = seed.filter((p) => p.name.includes('Pack')).sort((a, b) => a.id.localeCompare(b.id))[0]!;
    await go(guest.page, `li[data-product-id=${firstPack.id}] a`, new RegExp(`/p/${firstPack.slug}\\?list=search$`));
    await go(guest.page, '[data-track-id=add-to-cart]', /\/cart$/);
    await guest.page.goto('about:blank');
    // The context stays open until the lake has the events: closing it could cancel a beacon.
    const guestEvents = await lakeHolds(13);
    await guest.context.close();
    expect(pageErrors).toEqual([]);
    expect(guestEvents.map(describeEvent)).toEqual([
      'page_view home',
      'product_list_view home:featured',
      'click hero-shop-tents',
      'page_view category',
      'product_list_view category:tents',
      'page_view search',
      'search pack=6',
      'product_list_view search',
      'page_view product',
      `product_view search`,
      'click add-to-cart',
      'page_view cart',
      `add_to_cart ${firstPack.id}×1`,
    ]);
    expect(new Set(guestEvents.map((e) => e.client_id)).size).toBe(1);
    expect(
      guestEvents.every(
        (e) => e.user_login_state === 'guest' && e.user_id === null && e.identity_source === 'anonymous',
      ),
    ).toBe(true);

    // ---- a user signs up, logs in, buys two products and logs out ----
    const tent = seedProduct('Riverstone Solo Tent 1P');
    const lamp = seedProduct('Alpenglow Beam 400');
    const buyer = await newShopper(browser, pageErrors);
    const { page } = buyer;
    await page.goto(`${shop.url}/signup`);
    await page.click('form[data-consent] button[value=accept]');
    await page.waitForLoadState('networkidle');
    await page.fill('input[name=name]', 'Ana Lima');
    await page.fill('input[name=email]', 'ana.lima@example.com');
    await page.fill('input[name=password]', 'Correct-Horse-9');
    await go(page, '[data-track-id=signup-submit]', /\/login\?email=/);
    await page.fill('input[name=password]', 'Correct-Horse-9');
    await go(page, '[data-track-id=login-submit]', `${shop.url}/`);
    await page.screenshot({ path: SCREENSHOT });
    await go(page, `li[data-product-id=${tent.id}] a`, new RegExp(`/p/${tent.slug}`));
    const popup = page.waitForEvent('popup');
    await page.click('[data-share=x]');
    await (await popup).close();
    await go(page, '[data-track-id=wishlist-toggle]', new RegExp(`/p/${tent.slug}$`));
    await go(page, '[data-track-id=add-to-cart]', /\/cart$/);
    await go(page, 'nav.categories a[href="/c/headlamps"]', /\/c\/headlamps$/);
    await go(page, `li[data-product-id=${lamp.id}] a`, new RegExp(`/p/${lamp.slug}`));
    await page.selectOption('select[name=quantity]', '2');
    await go(page, '[data-track-id=add-to-cart]', /\/cart$/);
    await go(page, '[data-track-id=go-to-checkout]', /\/checkout$/);
    await page.fill('textarea[name=ship_address]', '12 Ridge Road, Hill Town');
    await go(page, '[data-track-id=place-order]', /\/orders\/ORD-\w+\?placed=1$/);
    const orderId = await page.getAttribute('[data-order-id]', 'data-order-id');
    await go(page, 'form[data-logout] button', `${shop.url}/`);
    await page.goto('about:blank');
    const all = await lakeHolds(guestEvents.length + 34);
    await buyer.context.close();
    expect(pageErrors).toEqual([]);
    const buyerEvents = all.filter((e) => e.client_id !== guestEvents[0]!.client_id);
    expect(buyerEvents.map(describeEvent)).toEqual([
      'page_view account',
      'click signup-submit',
      'page_view account',
      'sign_up email',
      'click login-submit',
      'page_view home',
      'login email',
      'product_list_view home:featured',
      'page_view product',
      'product_view home:featured',
      'share_click x',
      'click wishlist-toggle',
      'page_view product',
      `wishlist_toggle ${tent.id}:add`,
      `product_view ${tent.id}`,
      'click add-to-cart',
      'page_view cart',
      `add_to_cart ${tent.id}×1`,
      'page_view category',
      'product_list_view category:headlamps',
      'page_view product',
      'product_view category:headlamps',
      'click add-to-cart',
      'page_view cart',
      `add_to_cart ${lamp.id}×2`,
      'click go-to-checkout',
      'page_view checkout',
      'begin_checkout',
      'click place-order',
      'page_view checkout',
      `purchase ${tent.id}×1+${lamp.id}×2`,
      'logout',
      'page_view home',
      'product_list_view home:featured',
    ]);
    expect(all).toHaveLength(guestEvents.length + 34);
    expect(new Set(all.map((e) => e.event_id)).size).toBe(all.length);

    // The OLTP order is the one the purchase event names, with the server's total.
    const [user] = await shop.oltp.db.select().from(users).where(eq(users.email, 'ana.lima@example.com'));
    const placed = await shop.oltp.db.select().from(orders).where(eq(orders.userId, user!.id));
    expect(placed.map((o) => o.id)).toEqual([orderId]);
    const purchase = buyerEvents.find((e) => e.event_name === 'purchase')!;
    expect(purchase.properties.order).toMatchObject({ order_id: orderId, total: placed[0]!.totalMinor / 100 });
    expect(placed[0]!.totalMinor).toBe(tent.priceMinor + 2 * lamp.discountPriceMinor!);

    // Signed in from the page after the login until the logout event, and only then.
    const identityOf = (e: LakeEvent) => `${e.user_login_state}/${e.identity_source}/${e.user_id ?? '-'}`;
    const firstIn = buyerEvents.findIndex((e) => e.event_name === 'login') - 1;
    const lastIn = buyerEvents.findIndex((e) => e.event_name === 'logout');
    expect(buyerEvents.map(identityOf)).toEqual(
      buyerEvents.map((_, i) => (i >= firstIn && i <= lastIn ? `logged_in/cognito/${user!.id}` : 'guest/anonymous/-')),
    );

    // ---- the ETL loads exactly these events, with the same identity and order ----
    const warehouse = await openWarehouse({ pgliteDir: 'memory://' });
    try {
      await warehouse.migrate();
      const result = await runEtl(
        { warehouse, store: openRawStore(`file://${lakeDir}`) },
        { trigger: 'manual', lookbackHours: 24, now: () => new Date(T0 + 24 * 3600_000) },
      );
      expect(result).toMatchObject({ status: 'succeeded', rowsInserted: all.length, quarantined: 0 });
      const rows = await warehouse.query<{
        event_id: string;
        event_name: string;
        user_id: string | null;
        user_login_state: string;
        identity_source: string;
        order_id: string | null;
        order_total: string | null;
      }>(
        'SELECT event_id, event_name, user_id, user_login_state, identity_source, order_id, order_total::text FROM clickstream_events',
      );
      const byId = new Map(rows.map((r) => [r.event_id, r]));
      expect(rows).toHaveLength(all.length);
      for (const e of all) {
        expect(byId.get(e.event_id)).toMatchObject({
          event_name: e.event_name,
          user_id: e.user_id,
          user_login_state: e.user_login_state,
          identity_source: e.identity_source,
        });
      }
      expect(rows.filter((r) => r.order_id !== null)).toEqual([
        expect.objectContaining({
          event_name: 'purchase',
          order_id: orderId,
          order_total: (placed[0]!.totalMinor / 100).toFixed(2),
          user_id: user!.id,
        }),
      ]);
    } finally {
      await warehouse.close();
    }
    // About 40 s on an idle machine; several times that under faketime, which slows Chromium (CI).
  }, 300_000);
});
