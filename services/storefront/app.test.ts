/**
 * The storefront's pages and forms through `app.request()` on PGlite: what each page shows, the
 * events its tracker island carries (each checked against its generated validator), and how bad
 * input, missing CSRF tokens and dead sessions are refused.
 *
 * The clock is pinned in 2100: the ingest's token check (aws-jwt-verify) compares `exp` with the
 * real clock and cannot be given ours, so tokens issued "now" must still be valid on any day the
 * suite runs on.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { eq, sql } from 'drizzle-orm';
import type { Hono } from 'hono';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../config.ts';
import { createCognitoIdentityProvider } from '../identity/cognito.ts';
import { createIdentityResolver } from '../ingest/identity.ts';
import { createLogger } from '../log.ts';
import { SESSION_TTL_MS } from './accounts.ts';
import { createStorefrontApp } from './app.tsx';
import { buildAssets } from './assets.ts';
import { type Oltp, openOltp } from './db/open.ts';
import { orders, stock, users } from './db/schema.ts';
import { seedProducts } from './seed.ts';
import { openStorefront, type Storefront } from './server.ts';
import { eventNames, Shopper } from './test-helpers.ts';

const START = new Date('2100-01-01T00:00:00Z');
let clock = START;
const now = () => clock;
const ISSUER = 'http://localhost:3000';
const AUDIENCE = 'storefront-test';
const PASSWORD = 'Correct-Horse-9';
const silent = createLogger('error', () => {});

const seed = seedProducts();
const plenty = seed[0]!; // SKU-1001, 25 in stock
const onSale = seed[1]!;
const lastOne = seed[2]!;
const soldOut = seed[3]!;

let dataDir: string;
let oltp: Oltp;
let shop: Storefront;
let app: Hono;
let resolve: Awaited<ReturnType<typeof createIdentityResolver>>;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'storefront-test-'));
  const config = loadConfig({
    DATA_DIR: dataDir,
    JWT_ISSUER: ISSUER,
    COGNITO_CLIENT_ID: AUDIENCE,
    INGEST_URL: 'http://127.0.0.1:8080/clickstream',
  });
  oltp = await openOltp({ pgliteDir: 'memory://' });
  shop = await openStorefront({ config, now, oltp, logger: silent });
  app = shop.app;
  // The ingest's receive clock is the shop's (tokens are issued on it).
  resolve = await createIdentityResolver(
    { ...config, JWKS_URI: `file://${shop.localIssuer!.jwksFile}` },
    { now: () => clock },
  );
});
afterAll(async () => {
  await oltp?.close();
  await rm(dataDir, { recursive: true, force: true });
});
beforeEach(() => {
  clock = START;
});

let signups = 0;
/** A new shopper who signed up and logged in; returns the shopper and their user id. */
async function signedInShopper(name = 'Ana'): Promise<{ shopper: Shopper; sub: string; email: string }> {
  const shopper = new Shopper(app);
  const email = `${name.toLowerCase()}-${++signups}@example.com`;
  await shopper.get('/signup');
  await shopper.submit('/signup', { name, email, password: PASSWORD });
  await shopper.submit('/login', { email, password: PASSWORD, next: '/' });
  const [user] = await oltp.db.select().from(users).where(eq(users.email, email));
  return { shopper, sub: user!.id, email };
}

const productPath = (p: { slug: string }) => `/p/${p.slug}`;

describe('pages', () => {
  it('home: featured products with escaped names, the tracker scripts, and a CSP that allows no inline script', async () => {
    const shopper = new Shopper(app);
    const home = await shopper.get('/');
    expect(home.status).toBe(200);
    expect(home.html.startsWith('<!doctype html>')).toBe(true);
    expect(home.html).toContain('Summit &amp; Co Day Pack 20L');
    expect(home.html).toContain('O&#39;Hara Outfitters Spark 200');
    expect(home.html).not.toContain("O'Hara Outfitters Spark 200</span>");
    // Every script is either a file of the shop or the JSON data island — nothing inline runs.
    const scripts = [...home.html.matchAll(/<script([^>]*)>/g)].map((m) => m[1]!);
    expect(scripts).toEqual([
      ' type="application/json" id="clickstream-data"',
      expect.stringMatching(/^ src="\/assets\/clickstream\.min\.[0-9a-f]{10}\.js" defer=""$/),
      expect.stringMatching(/^ src="\/assets\/shop\.[0-9a-f]{10}\.js" defer=""$/),
    ]);
    const csp = home.headers.get('content-security-policy')!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self' http://127.0.0.1:8080");
    expect(csp).not.toContain('unsafe-inline');
    expect(home.headers.get('set-cookie')).toMatch(/^sid=[\w-]{43}; Max-Age=2592000; Path=\/; HttpOnly; SameSite=Lax$/);

    expect(home.island).toMatchObject({
      endpoint: 'http://127.0.0.1:8080/clickstream',
      pageType: 'home',
      consent: 'pending',
    });
    expect(home.island!.idToken).toBeUndefined();
    expect(home.island!.events).toEqual([
      {
        name: 'product_list_view',
        version: 1,
        properties: expect.objectContaining({ list_id: 'home:featured', products: expect.any(Array) }),
      },
    ]);
    const listed = (home.island!.events[0]!.properties as { products: { id: string }[] }).products.map((p) => p.id);
    expect(listed).toEqual(seed.filter((p) => p.featured).map((p) => p.id));
    expect(shopper.invalidEvents).toEqual([]);

    for (const path of [/\/assets\/clickstream\.min\.\w+\.js/, /\/assets\/shop\.\w+\.js/, /\/assets\/shop\.\w+\.css/]) {
      const res = await shopper.get(path.exec(home.html)![0]);
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toContain('immutable');
    }
    const image = await shopper.get(`/media/products/${plenty.id}-1.svg`);
    expect(image.status).toBe(200);
    expect(image.html).toContain('<svg');
    expect((await shopper.get('/media/../identity/signing-key.pem')).status).toBe(404);
  });

  it('category: sorts, pages, and tracks the list it shows', async () => {
    const shopper = new Shopper(app);
    const page = await shopper.get('/c/shoes?sort=price_asc');
    expect(page.status).toBe(200);
    const shoes = seed.filter((p) => p.category === 'shoes');
    const byPrice = [...shoes].sort(
      (a, b) =>
        (a.discountPriceMinor ?? a.priceMinor) - (b.discountPriceMinor ?? b.priceMinor) || a.id.localeCompare(b.id),
    );
    const shown = [...page.html.matchAll(/<li class="card" data-product-id="([^"]+)"/g)].map((m) => m[1]);
    expect(shown).toEqual(byPrice.map((p) => p.id));
    expect(page.island!.events).toEqual([
      {
        name: 'product_list_view',
        version: 1,
        properties: expect.objectContaining({ list_id: 'category:shoes', list_name: 'Shoes', page_number: 1 }),
      },
    ]);
    expect(page.html).toContain(`href="/p/${byPrice[0]!.slug}?list=category%3Ashoes"`);
    expect(shopper.invalidEvents).toEqual([]);
  });

  it('unknown category, product, sort or page: a clear error page, or JSON for a JSON client', async () => {
    const shopper = new Shopper(app);
    const cases: [string, number, string][] = [
      ['/c/no-such-thing', 404, 'category_not_found'],
      ['/p/no-such-thing', 404, 'product_not_found'],
      ['/c/shoes?sort=cheapest', 400, 'invalid_sort'],
      ['/c/shoes?page=0', 400, 'invalid_page'],
      ['/c/shoes?page=abc', 400, 'invalid_page'],
      ['/c/shoes?page=2', 404, 'page_not_found'],
      ['/orders/ORD-NOPE', 303, ''],
      ['/nowhere', 404, 'not_found'],
    ];
    for (const [path, status, code] of cases) {
      const res = await shopper.get(path);
      expect([path, res.status]).toEqual([path, status]);
      if (code) expect(res.html).toContain(`data-error-code="${code}"`);
    }
    const json = await shopper.get('/p/no-such-thing', { accept: 'application/json' });
    expect(JSON.parse(json.html)).toEqual({
      error: { code: 'product_not_found', message: 'There is no such product.' },
    });
  });

  it('search: results and their count tracked, paging, and the query shown escaped', async () => {
    const shopper = new Shopper(app);
    const results = await shopper.get(`/search?q=${encodeURIComponent('pack')}`);
    const packs = seed.filter((p) => /pack/i.test(p.name));
    expect(results.island!.events.map((e) => e.name)).toEqual(['search', 'product_list_view']);
    expect(results.island!.events[0]!.properties).toEqual({ query: 'pack', results_count: packs.length });
    expect(results.html).toContain(`${packs.length} products`);

    // "o" is in more than a page of names: page 2 carries on without a second search event.
    const first = await shopper.get('/search?q=o');
    const total = (first.island!.events[0]!.properties as { results_count: number }).results_count;
    expect(total).toBeGreaterThan(12);
    const second = await shopper.get('/search?q=o&sort=featured&page=2');
    expect(eventNames(second.island)).toEqual(['product_list_view']);
    expect(second.island!.events[0]!.properties).toMatchObject({ list_id: 'search', page_number: 2 });
    expect((second.island!.events[0]!.properties as { products: unknown[] }).products).toHaveLength(
      Math.min(12, total - 12),
    );

    const evil = '<script>alert("x")</script> & \' OR 1=1; --';
    const page = await shopper.get(`/search?q=${encodeURIComponent(evil)}`);
    expect(page.status).toBe(200);
    expect(page.html).not.toContain('<script>alert');
    expect(page.html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39; OR 1=1; --');
    expect(page.island!.events[0]!.properties).toEqual({ query: evil, results_count: 0 });
    expect((await shopper.get(`/search?q=${'x'.repeat(201)}`)).status).toBe(400);
    expect(shopper.invalidEvents).toEqual([]);
  });

  it('product: images, list and sale price, stock, and product_view with the list the shopper came from', async () => {
    const shopper = new Shopper(app);
    const page = await shopper.get(`${productPath(onSale)}?list=category:shoes`);
    expect(page.html).toContain(`src="/media/products/${onSale.id}-1.svg"`);
    expect(page.html).toContain(`src="/media/products/${onSale.id}-2.svg"`);
    expect(page.html).toMatch(/<del>\$[\d,.]+<\/del> <strong class="sale">\$[\d,.]+<\/strong>/);
    expect(page.html).toContain('In stock');
    expect(page.island!.events).toEqual([
      {
        name: 'product_view',
        version: 1,
        properties: {
          product: {
            id: onSale.id,
            name: onSale.name,
            category: 'shoes',
            brand: 'Northwind',
            price: onSale.priceMinor / 100,
            discount_price: onSale.discountPriceMinor! / 100,
            url_path: productPath(onSale),
          },
          list_id: 'category:shoes',
        },
      },
    ]);
    expect(page.island!.product).toMatchObject({ id: onSale.id });
    const tampered = await shopper.get(`${productPath(onSale)}?list=${encodeURIComponent('"><script>')}`);
    expect(tampered.island!.events[0]!.properties).not.toHaveProperty('list_id');
    expect((await shopper.get(productPath(lastOne))).html).toContain('Only 1 left');
    const sold = await shopper.get(productPath(soldOut));
    expect(sold.html).toContain('Sold out');
    expect(sold.html).toMatch(/<button type="submit" disabled="" data-track-id="add-to-cart">/);
    expect(shopper.invalidEvents).toEqual([]);
  });
});

describe('cart and CSRF', () => {
  it('adds to the cart with the form’s token; the next page tracks add_to_cart with the cart id', async () => {
    const shopper = new Shopper(app);
    await shopper.get(productPath(plenty));
    const post = await shopper.post('/cart/items', { product_id: plenty.id, quantity: '2', price: '0.01' });
    expect(post.status).toBe(303);
    expect(post.location).toBe('/cart');
    const cart = await shopper.get('/cart');
    expect(cart.html).toContain(`data-product-id="${plenty.id}"`);
    expect(cart.html).toContain('Cart (2)');
    // The price field of the tampered form is ignored: the cart shows the catalogue price.
    expect(cart.html).toContain(`$${(plenty.priceMinor / 100).toFixed(2)}`);
    expect(cart.html).toContain(`Added 2 × ${plenty.name} to your cart.`);
    expect(cart.island!.events).toEqual([
      {
        name: 'add_to_cart',
        version: 1,
        properties: {
          product: expect.objectContaining({ id: plenty.id }),
          quantity: 2,
          cart_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        },
      },
    ]);
    // The action's event is tracked once: a reload does not repeat it.
    expect(eventNames((await shopper.get('/cart')).island)).toEqual([]);
    expect(shopper.invalidEvents).toEqual([]);
  });

  it('refuses a POST without the token, with another visitor’s token, or without a cookie — and changes nothing', async () => {
    const shopper = new Shopper(app);
    const other = new Shopper(app);
    await shopper.get(productPath(plenty));
    await other.get(productPath(plenty));
    const attempts = [
      await shopper.post('/cart/items', { product_id: plenty.id, quantity: '1', _csrf: '' }),
      await shopper.post('/cart/items', { product_id: plenty.id, quantity: '1', _csrf: other.csrf }),
      await new Shopper(app).post('/cart/items', { product_id: plenty.id, quantity: '1', _csrf: shopper.csrf }),
    ];
    expect(attempts.map((a) => a.status)).toEqual([403, 403, 403]);
    expect(attempts[0]!.html).toContain('data-error-code="csrf_failed"');
    expect((await shopper.get('/cart')).html).toContain('Cart (0)');
    const login = await shopper.post('/login', { email: 'x@example.com', password: PASSWORD, _csrf: 'forged' });
    expect(login.status).toBe(403);
  });

  it('refuses bad quantities, unknown and sold-out products with a clear message', async () => {
    const shopper = new Shopper(app);
    await shopper.get(productPath(plenty));
    const cases: [Record<string, string>, number, string][] = [
      [{ product_id: plenty.id, quantity: '0' }, 400, 'invalid_quantity'],
      [{ product_id: plenty.id, quantity: '11' }, 400, 'invalid_quantity'],
      [{ product_id: plenty.id, quantity: '1.5' }, 400, 'invalid_quantity'],
      [{ product_id: plenty.id, quantity: 'lots' }, 400, 'invalid_quantity'],
      [{ product_id: plenty.id }, 400, 'invalid_quantity'],
      [{ product_id: "SKU-1001' OR '1'='1", quantity: '1' }, 404, 'product_not_found'],
      [{ product_id: soldOut.id, quantity: '1' }, 409, 'out_of_stock'],
      [{ product_id: lastOne.id, quantity: '2' }, 409, 'insufficient_stock'],
    ];
    for (const [fields, status, code] of cases) {
      const res = await shopper.post('/cart/items', fields);
      expect([fields, res.status]).toEqual([fields, status]);
      expect(res.html).toContain(`data-error-code="${code}"`);
    }
    expect((await shopper.get('/cart')).html).toContain('Your cart is empty');
  });

  it('updating and removing lines track add_to_cart / remove_from_cart with the difference', async () => {
    const shopper = new Shopper(app);
    await shopper.get(productPath(plenty));
    await shopper.submit('/cart/items', { product_id: plenty.id, quantity: '3' });
    const down = await shopper.submit(`/cart/items/${plenty.id}`, { quantity: '1' });
    expect(down.island!.events).toEqual([
      { name: 'remove_from_cart', version: 1, properties: expect.objectContaining({ quantity: 2 }) },
    ]);
    const up = await shopper.submit(`/cart/items/${plenty.id}`, { quantity: '4' });
    expect(up.island!.events).toEqual([
      { name: 'add_to_cart', version: 1, properties: expect.objectContaining({ quantity: 3 }) },
    ]);
    const gone = await shopper.submit(`/cart/items/${plenty.id}`, { quantity: '0' });
    expect(gone.island!.events).toEqual([
      { name: 'remove_from_cart', version: 1, properties: expect.objectContaining({ quantity: 4 }) },
    ]);
    expect(gone.html).toContain('Your cart is empty');
    expect((await shopper.post(`/cart/items/${plenty.id}`, { quantity: '-1' })).status).toBe(400);
    expect(shopper.invalidEvents).toEqual([]);
  });
});

describe('accounts and checkout', () => {
  it('signs up (sign_up), logs in (login, new session cookie, guest cart kept) and carries a verifiable ID token', async () => {
    const shopper = new Shopper(app);
    await shopper.get(productPath(plenty));
    await shopper.submit('/cart/items', { product_id: plenty.id, quantity: '1' });
    const guestCookie = shopper.cookies.get('sid');
    await shopper.get('/signup');
    const login = await shopper.submit('/signup', {
      name: 'Bo <Builder> & Sons',
      email: 'Bo@Example.com',
      password: PASSWORD,
    });
    expect(login.html).toContain('Your account is ready: log in to continue.');
    expect(login.html).toContain('value="bo@example.com"');
    expect(login.island!.events).toEqual([{ name: 'sign_up', version: 1, properties: { method: 'email' } }]);
    expect(login.island!.idToken).toBeUndefined();

    const home = await shopper.submit('/login', { email: 'bo@example.com', password: PASSWORD, next: '/cart' });
    expect(home.island!.events.map((e) => e.name)).toEqual(['login']);
    expect(home.island!.events[0]!.properties).toEqual({ method: 'email' });
    expect(shopper.cookies.get('sid')).not.toBe(guestCookie);
    expect(home.html).toContain('Hi, Bo &lt;Builder&gt; &amp; Sons');
    expect(home.html).toContain('Cart (1)');

    const [user] = await oltp.db.select().from(users).where(eq(users.email, 'bo@example.com'));
    expect(await resolve(`Bearer ${home.island!.idToken}`)).toEqual({
      identity: { user_id: user!.id, user_login_state: 'logged_in', identity_source: 'cognito' },
      token: { accepted: true },
    });
    expect(shopper.invalidEvents).toEqual([]);
  });

  it('refuses a duplicate sign-up, a weak password and a wrong password, and signs nobody in', async () => {
    const { email } = await signedInShopper('Cy');
    const shopper = new Shopper(app);
    await shopper.get('/signup');
    const dup = await shopper.post('/signup', { name: 'Cy', email, password: PASSWORD });
    expect(dup.status).toBe(409);
    expect(dup.html).toContain('An account with this e-mail already exists.');
    const weak = await shopper.post('/signup', { name: 'Cy', email: 'cy2@example.com', password: 'password' });
    expect(weak.status).toBe(400);
    expect(weak.html).toContain('The password needs at least 12 characters.');
    const wrong = await shopper.post('/login', { email, password: 'Wrong-Horse-99', next: '/' });
    expect(wrong.status).toBe(401);
    expect(wrong.html).toContain('Incorrect e-mail or password.');
    expect(wrong.island!.events).toEqual([]);
    expect(shopper.cookies.has('sid')).toBe(true);
    expect((await shopper.get('/orders')).status).toBe(303);
  });

  it('checks out: begin_checkout, one order per submit, purchase with the OLTP order, totals from the server', async () => {
    const { shopper, sub } = await signedInShopper('Di');
    await shopper.get(productPath(plenty));
    await shopper.submit('/cart/items', { product_id: plenty.id, quantity: '1' });
    await shopper.submit('/cart/items', { product_id: onSale.id, quantity: '2' });
    const checkout = await shopper.get('/checkout');
    expect(checkout.status).toBe(200);
    const total = plenty.priceMinor + 2 * onSale.discountPriceMinor!;
    expect(checkout.island!.events).toEqual([
      {
        name: 'begin_checkout',
        version: 1,
        properties: {
          cart_id: expect.any(String),
          items: [
            { product: expect.objectContaining({ id: plenty.id }), quantity: 1 },
            { product: expect.objectContaining({ id: onSale.id }), quantity: 2 },
          ],
          total: total / 100,
          currency: 'USD',
        },
      },
    ]);
    const hidden = Object.fromEntries(
      [
        ...checkout.html.matchAll(
          /<input type="hidden" name="(idempotency_key|cart_version|expected_total_minor)" value="([^"]*)"/g,
        ),
      ].map((m) => [m[1], m[2]]),
    );
    expect(hidden.expected_total_minor).toBe(String(total));
    const form = {
      ...hidden,
      ship_name: 'Di',
      ship_address: '2 Ridge Way, Peak City',
      payment_method: 'card',
    } as Record<string, string>;

    const stockBefore = (await oltp.db.select().from(stock).where(eq(stock.productId, plenty.id)))[0]!.quantity;
    const placed = await shopper.post('/checkout', form);
    expect(placed.status).toBe(303);
    const orderId = /^\/orders\/(ORD-\w+)\?placed=1$/.exec(placed.location!)![1]!;
    const confirmation = await shopper.get(placed.location!);
    expect(confirmation.html).toContain('Thank you for your order');
    expect(confirmation.html).toContain(`data-order-id="${orderId}"`);
    expect(confirmation.island!.pageType).toBe('checkout');
    expect(confirmation.island!.events).toEqual([
      {
        name: 'purchase',
        version: 1,
        properties: {
          payment_method: 'card',
          order: {
            order_id: orderId,
            currency: 'USD',
            total: total / 100,
            shipping: 0,
            items: [
              { product: expect.objectContaining({ id: plenty.id, price: plenty.priceMinor / 100 }), quantity: 1 },
              {
                product: expect.objectContaining({
                  id: onSale.id,
                  price: onSale.priceMinor / 100,
                  discount_price: onSale.discountPriceMinor! / 100,
                }),
                quantity: 2,
              },
            ],
          },
        },
      },
    ]);

    // The same form again (double click, back + resubmit): the same order, no second purchase event.
    const again = await shopper.post('/checkout', form);
    expect(again.location).toBe(placed.location);
    expect(eventNames((await shopper.get(again.location!)).island)).toEqual([]);
    const [{ n }] = (await oltp.db
      .select({ n: sql<number>`count(*)::int` })
      .from(orders)
      .where(eq(orders.userId, sub))) as [{ n: number }];
    expect(n).toBe(1);
    expect((await oltp.db.select().from(stock).where(eq(stock.productId, plenty.id)))[0]!.quantity).toBe(
      stockBefore - 1,
    );
    const history = await shopper.get('/orders');
    expect(history.html).toContain(`href="/orders/${orderId}"`);
    expect(shopper.invalidEvents).toEqual([]);
  });

  it('refuses a tampered total, a stale cart and a sold-out line with a message, placing no order', async () => {
    const { shopper, sub } = await signedInShopper('Ed');
    await shopper.get(productPath(plenty));
    await shopper.submit('/cart/items', { product_id: plenty.id, quantity: '1' });
    const checkout = await shopper.get('/checkout');
    const field = (name: string) => new RegExp(`name="${name}" value="([^"]*)"`).exec(checkout.html)![1]!;
    const form = {
      idempotency_key: field('idempotency_key'),
      cart_version: field('cart_version'),
      expected_total_minor: field('expected_total_minor'),
      ship_name: 'Ed',
      ship_address: '3 Lake Lane, Shore',
      payment_method: 'card',
    };
    const tampered = await shopper.post('/checkout', { ...form, expected_total_minor: '1' });
    expect(tampered.status).toBe(409);
    expect(tampered.html).toMatch(/The total is now \$[\d.,]+ \(the checkout showed \$0\.01\)/);
    expect(tampered.island!.events).toEqual([]);
    const bad = await shopper.post('/checkout', { ...form, payment_method: 'bitcoin' });
    expect(bad.status).toBe(400);
    expect(bad.html).toContain('Choose a payment method.');
    expect((await shopper.post('/checkout', { ...form, ship_address: '' })).status).toBe(400);
    await shopper.submit('/cart/items', { product_id: onSale.id, quantity: '1' });
    const stale = await shopper.post('/checkout', form);
    expect(stale.status).toBe(409);
    expect(stale.html).toContain('Your cart changed since you opened the checkout');
    const [{ n }] = (await oltp.db
      .select({ n: sql<number>`count(*)::int` })
      .from(orders)
      .where(eq(orders.userId, sub))) as [{ n: number }];
    expect(n).toBe(0);
  });

  it('checkout and account pages need a session; a guest is sent to log in and comes back', async () => {
    const shopper = new Shopper(app);
    const res = await shopper.get('/checkout');
    expect(res.status).toBe(303);
    expect(res.location).toBe('/login?next=%2Fcheckout');
    await shopper.get('/');
    const post = await shopper.post('/checkout', { idempotency_key: '00000000-0000-4000-8000-000000000000' });
    expect(post.location).toBe('/login?next=%2Fcheckout');
    // An open redirect is not possible through next=.
    for (const next of ['//evil.example', 'https://evil.example', '/\\evil.example']) {
      const page = await shopper.get(`/login?next=${encodeURIComponent(next)}`);
      expect(page.html).toContain('name="next" value="/"');
    }
  });

  it('log-out revokes the session; an expired or forged session cookie is a guest', async () => {
    const { shopper } = await signedInShopper('Fay');
    const signedInCookie = shopper.cookies.get('sid')!;
    expect((await shopper.get('/orders')).status).toBe(200);
    const out = await shopper.post('/logout', {});
    expect(out.status).toBe(303);
    expect(shopper.cookies.get('sid')).not.toBe(signedInCookie);
    const afterwards = await shopper.get('/');
    expect(afterwards.island!.idToken).toBeUndefined();
    expect(afterwards.html).toContain('Log in');

    // Replaying the cookie of the revoked session signs nobody in.
    const replay = new Shopper(app);
    replay.cookies.set('sid', signedInCookie);
    expect((await replay.get('/orders')).status).toBe(303);

    const { shopper: later } = await signedInShopper('Gus');
    expect((await later.get('/orders')).status).toBe(200);
    clock = new Date(START.getTime() + SESSION_TTL_MS + 1000);
    expect((await later.get('/orders')).status).toBe(303);

    const forged = new Shopper(app);
    forged.cookies.set('sid', 'A'.repeat(43));
    expect((await forged.get('/orders')).status).toBe(303);
    forged.cookies.set('sid', '<script>');
    const page = await forged.get('/');
    expect(page.status).toBe(200);
    expect(forged.cookies.get('sid')).toMatch(/^[\w-]{43}$/);
  });

  it('renews the ID token in the page before it expires', async () => {
    const { shopper } = await signedInShopper('Hal');
    const first = (await shopper.get('/')).island!.idToken!;
    const claims = (t: string) => JSON.parse(Buffer.from(t.split('.')[1]!, 'base64url').toString());
    expect(claims(first).exp).toBe(START.getTime() / 1000 + 3600);
    clock = new Date(START.getTime() + 56 * 60 * 1000);
    const renewed = (await shopper.get('/')).island!.idToken!;
    expect(claims(renewed).exp).toBe(clock.getTime() / 1000 + 3600);
  });
});

describe('wishlist, reviews, consent, Google', () => {
  it('wishlist toggles are tracked; reviews with HTML are stored as typed and shown escaped', async () => {
    const guest = new Shopper(app);
    await guest.get(productPath(plenty));
    expect((await guest.post('/wishlist/toggle', { product_id: plenty.id, next: productPath(plenty) })).location).toBe(
      `/login?next=${encodeURIComponent(productPath(plenty))}`,
    );

    const { shopper } = await signedInShopper('Ivy');
    await shopper.get(productPath(plenty));
    const added = await shopper.submit('/wishlist/toggle', { product_id: plenty.id, next: productPath(plenty) });
    expect(added.island!.events.map((e) => [e.name, (e.properties as { action?: string }).action])).toEqual([
      ['wishlist_toggle', 'add'],
      ['product_view', undefined],
    ]);
    expect(added.html).toContain('♥ In your wishlist (remove)');
    const wishlist = await shopper.get('/wishlist');
    expect(wishlist.html).toContain(`data-product-id="${plenty.id}"`);
    expect(wishlist.island!.events).toEqual([
      {
        name: 'product_list_view',
        version: 1,
        properties: {
          list_id: 'wishlist',
          list_name: 'Wishlist',
          products: [expect.objectContaining({ id: plenty.id })],
        },
      },
    ]);
    const removed = await shopper.submit('/wishlist/toggle', { product_id: plenty.id, next: productPath(plenty) });
    expect(removed.island!.events[0]!.properties).toMatchObject({ action: 'remove' });

    const body = `<img src=x onerror="alert(1)"> '; DELETE FROM shop.reviews; -- & "quotes"`;
    const reviewed = await shopper.submit(`${productPath(plenty)}/reviews`, { rating: '4', body });
    expect(reviewed.html).toContain(
      '&lt;img src=x onerror=&quot;alert(1)&quot;&gt; &#39;; DELETE FROM shop.reviews; -- &amp; &quot;quotes&quot;',
    );
    expect(reviewed.html).not.toContain('<img src=x');
    expect(reviewed.html).toContain('★★★★☆ (4/5)');
    expect((await shopper.post(`${productPath(plenty)}/reviews`, { rating: '9', body: 'x' })).status).toBe(400);
    expect(shopper.invalidEvents).toEqual([]);
  });

  it('the consent banner: a plain form sets the choice and returns; the script’s background post gets 204', async () => {
    const shopper = new Shopper(app);
    const home = await shopper.get('/c/tents');
    expect(home.html).toContain('class="consent"');
    const res = await shopper.post('/consent', { choice: 'accept', next: '/c/tents' });
    expect(res.status).toBe(303);
    expect(res.location).toBe('/c/tents');
    const after = await shopper.get('/c/tents');
    expect(after.island!.consent).toBe('granted');
    expect(after.html).not.toContain('class="consent"');
    expect((await shopper.post('/consent', { choice: 'decline', via: 'fetch' })).status).toBe(204);
    expect((await shopper.get('/')).island!.consent).toBe('denied');
  });

  it('the Google stand-in signs in a Google user whose token the ingest attributes to google', async () => {
    const shopper = new Shopper(app);
    await shopper.get('/auth/google?next=/wishlist');
    const first = await shopper.submit('/auth/google', { email: 'jo@gmail.example', name: 'Jo', next: '/wishlist' });
    expect(first.island!.events.map((e) => [e.name, e.properties])).toEqual([
      ['sign_up', { method: 'google' }],
      ['login', { method: 'google' }],
      ['product_list_view', { list_id: 'wishlist', list_name: 'Wishlist', products: [] }],
    ]);
    expect((await resolve(`Bearer ${first.island!.idToken}`)).identity.identity_source).toBe('google');
    await shopper.post('/logout', {});
    await shopper.get('/auth/google');
    const again = await shopper.submit('/auth/google', { email: 'jo@gmail.example', name: 'Jo', next: '/' });
    expect(eventNames(again.island)).toEqual(['login', 'product_list_view']);
  });

  it('publishes the local provider’s JWKS', async () => {
    const res = await new Shopper(app).get('/.well-known/jwks.json');
    expect(JSON.parse(res.html).keys[0]).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig' });
  });
});

describe('when the database fails', () => {
  it('answers 500 with a machine-readable error instead of a page it cannot build', async () => {
    const broken = await openOltp({ pgliteDir: 'memory://' });
    await broken.close();
    const logged: string[] = [];
    const brokenApp = createStorefrontApp({
      db: broken.db,
      identity: shop.identity,
      assets: await buildAssets(),
      mediaBaseUrl: '/media',
      ingestUrl: 'http://127.0.0.1:8080/clickstream',
      now,
      logger: createLogger('error', (line) => logged.push(line)),
    });
    const res = await brokenApp.request('http://localhost/c/shoes');
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({
      error: { code: 'internal_error', message: 'Something went wrong on our side; please try again.' },
    });
    expect(logged.map((l) => JSON.parse(l).msg)).toEqual(['request failed', 'error page failed']);
  });
});

describe('with Cognito', () => {
  it('signs in through the SDK and keeps the same session handling (fake SDK client at the seam)', async () => {
    const idTokenClaims = {
      sub: 'cc4b2c1e-90f1-70f2-3a1d-2b9c3d4e5f61',
      'cognito:username': 'cc4b2c1e-90f1-70f2-3a1d-2b9c3d4e5f61',
      email: 'kim@example.com',
      name: 'Kim',
      token_use: 'id',
      exp: START.getTime() / 1000 + 3600,
    };
    const idToken = `eyJhbGciOiJSUzI1NiJ9.${Buffer.from(JSON.stringify(idTokenClaims)).toString('base64url')}.c2ln`;
    const sent: string[] = [];
    const client = {
      send: async (command: { constructor: { name: string }; input: { AuthFlow?: string } }) => {
        sent.push(`${command.constructor.name}:${command.input.AuthFlow}`);
        return { AuthenticationResult: { IdToken: idToken, RefreshToken: 'refresh', ExpiresIn: 3600 }, $metadata: {} };
      },
    };
    const cognitoApp = createStorefrontApp({
      db: oltp.db,
      identity: createCognitoIdentityProvider({ clientId: 'app-client', client: client as never }),
      assets: await buildAssets(),
      mediaBaseUrl: 'https://d111111abcdef8.cloudfront.net',
      ingestUrl: 'https://ingest.shop.example/clickstream',
      now,
      logger: silent,
    });
    const shopper = new Shopper(cognitoApp as unknown as Hono);
    const login = await shopper.get('/login');
    expect(login.html).not.toContain('Continue with Google');
    const home = await shopper.submit('/login', { email: 'kim@example.com', password: PASSWORD, next: '/' });
    expect(sent).toEqual(['InitiateAuthCommand:USER_PASSWORD_AUTH']);
    expect(home.island!.idToken).toBe(idToken);
    expect(home.html).toContain('Hi, Kim');
    expect(home.html).toContain('src="https://d111111abcdef8.cloudfront.net/products/');
    expect(home.headers.get('content-security-policy')).toContain(
      "img-src 'self' https://d111111abcdef8.cloudfront.net",
    );
    // The shop keeps its own copy of the Cognito user (orders reference it).
    const [user] = await oltp.db.select().from(users).where(eq(users.id, idTokenClaims.sub));
    expect(user).toMatchObject({ email: 'kim@example.com', passwordHash: null });
    expect((await shopper.get('/.well-known/jwks.json')).status).toBe(404);
    expect((await shopper.get('/auth/google')).status).toBe(404);
  });
});
