/**
 * The shop's transactions on both databases it runs on: real PostgreSQL (a temp database per file)
 * and PGlite. Checkout totals, stock, the last item bought by two shoppers at once, a double
 * submit, stale carts and tampered totals; the local identity provider over the `users` table;
 * sessions that expire, are revoked or never existed; search text that means something to SQL.
 */
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalIdentityProvider } from '../identity/local.ts';
import type { Authenticated } from '../identity/provider.ts';
import { createTokenIssuer, signingKeyFromPem } from '../identity/tokens.ts';
import { createTempDatabase, type TempDatabase } from '../testing/postgres.ts';
import { createSession, findSession, hashToken, revokeSession, SESSION_TTL_MS, userDirectory } from './accounts.ts';
import { addItem, CartError, getCart, mergeGuestCart, parseQuantity, SHIPPING_MINOR } from './cart.ts';
import { listProducts, productBySlug } from './catalog.ts';
import { CheckoutError, type CheckoutInput, orderOf, placeOrder } from './checkout.ts';
import { type Oltp, openOltp } from './db/open.ts';
import { orderLines, orders, products, stock, users } from './db/schema.ts';
import { seedProducts } from './seed.ts';
import { prepareOltp } from './server.ts';

const T0 = new Date('2030-03-01T10:00:00Z');
const now = () => T0;
const GOOD_PASSWORD = 'Correct-Horse-9';

const seed = seedProducts();
/** Seed products by their position in a category: 0 plenty (25), 1 on sale (12), 2 the last one (1), 3 sold out. */
const plenty = seed[0]!;
const onSale = seed[1]!;
const lastOne = seed[2]!;
const soldOut = seed[3]!;

async function makeUser(oltp: Oltp, name: string): Promise<string> {
  const sub = randomUUID();
  await userDirectory(oltp.db).insert({
    sub,
    username: sub,
    email: `${name.toLowerCase()}-${sub.slice(0, 8)}@example.com`,
    name,
    passwordHash: null,
    method: 'email',
    providerUserId: null,
    createdAt: T0,
  });
  return sub;
}

async function checkoutInput(
  oltp: Oltp,
  userId: string,
  overrides: Partial<CheckoutInput> = {},
): Promise<CheckoutInput> {
  const cart = await getCart(oltp.db, { userId });
  return {
    userId,
    idempotencyKey: randomUUID(),
    cartVersion: cart.version,
    expectedTotalMinor: cart.totalMinor,
    paymentMethod: 'card',
    shipName: 'Ana',
    shipAddress: '1 Trail Road, Hill Town',
    now: T0,
    ...overrides,
  };
}

const stockOf = async (oltp: Oltp, productId: string) =>
  (await oltp.db.select({ q: stock.quantity }).from(stock).where(eq(stock.productId, productId)))[0]!.q;
const orderCount = async (oltp: Oltp, userId?: string) =>
  (
    await oltp.db
      .select({ n: sql<number>`count(*)::int` })
      .from(orders)
      .where(userId ? eq(orders.userId, userId) : sql`true`)
  )[0]!.n;

const errorCode = (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (e: unknown) => (e instanceof CheckoutError || e instanceof CartError ? e.code : `unexpected: ${e}`),
  );

describe.each(['postgres', 'pglite'] as const)('OLTP on %s', (kind) => {
  let oltp: Oltp;
  let temp: TempDatabase | undefined;

  beforeAll(async () => {
    if (kind === 'postgres') temp = await createTempDatabase('oltp');
    oltp = await openOltp(temp ? { databaseUrl: temp.url } : { pgliteDir: 'memory://' });
    await prepareOltp(oltp, now);
  });
  afterAll(async () => {
    await oltp?.close();
    await temp?.drop();
  });

  it('seeds the catalogue once: a second run inserts nothing and keeps changed stock', async () => {
    await oltp.db.update(stock).set({ quantity: 99 }).where(eq(stock.productId, seed[35]!.id));
    expect(await prepareOltp(oltp, now)).toEqual({ productsInserted: 0 });
    expect(await stockOf(oltp, seed[35]!.id)).toBe(99);
    expect((await oltp.db.select({ n: sql<number>`count(*)::int` }).from(products))[0]!.n).toBe(36);
  });

  it('places an order priced from the product rows, with shipping, and takes the stock in the same transaction', async () => {
    const user = await makeUser(oltp, 'Ana');
    await addItem(oltp.db, { userId: user }, plenty.id, 2, T0);
    await addItem(oltp.db, { userId: user }, onSale.id, 1, T0);
    const before = { plenty: await stockOf(oltp, plenty.id), onSale: await stockOf(oltp, onSale.id) };

    const placed = await placeOrder(oltp.db, await checkoutInput(oltp, user));
    expect(placed.created).toBe(true);
    expect(placed.orderId).toMatch(/^ORD-[0-9A-HJKMNP-TV-Z]{26}$/);

    const order = (await orderOf(oltp.db, user, placed.orderId))!;
    const items = 2 * plenty.priceMinor + onSale.discountPriceMinor!;
    expect(order).toMatchObject({
      itemsMinor: items,
      shippingMinor: items >= 5000 ? 0 : SHIPPING_MINOR,
      totalMinor: items + (items >= 5000 ? 0 : SHIPPING_MINOR),
      currency: 'USD',
      paymentMethod: 'card',
    });
    expect(
      order.lines.map((l) => [l.productId, l.quantity, l.unitPriceMinor, l.listPriceMinor, l.lineTotalMinor]),
    ).toEqual([
      [plenty.id, 2, plenty.priceMinor, plenty.priceMinor, 2 * plenty.priceMinor],
      [onSale.id, 1, onSale.discountPriceMinor, onSale.priceMinor, onSale.discountPriceMinor],
    ]);
    expect(await stockOf(oltp, plenty.id)).toBe(before.plenty - 2);
    expect(await stockOf(oltp, onSale.id)).toBe(before.onSale - 1);
    expect((await getCart(oltp.db, { userId: user })).lines).toEqual([]);
    // Not someone else's to see.
    expect(await orderOf(oltp.db, await makeUser(oltp, 'Other'), placed.orderId)).toBeUndefined();
  });

  it('sells the last item once when several shoppers check out at the same moment', async () => {
    const buyers = await Promise.all(['Bo', 'Cy', 'Di', 'Ed'].map((n) => makeUser(oltp, n)));
    for (const b of buyers) await addItem(oltp.db, { userId: b }, lastOne.id, 1, T0);
    expect(await stockOf(oltp, lastOne.id)).toBe(1);

    const inputs = await Promise.all(buyers.map((b) => checkoutInput(oltp, b)));
    // On PostgreSQL, make the race certain: hold the stock row until every checkout is inside its
    // transaction waiting for it, then let them all go at once. (PGlite runs one transaction at a
    // time, so there the checkouts queue instead.)
    const holder = temp ? new pg.Client({ connectionString: temp.url }) : undefined;
    if (holder) {
      await holder.connect();
      await holder.query('BEGIN');
      await holder.query('SELECT quantity FROM shop.stock WHERE product_id = $1 FOR UPDATE', [lastOne.id]);
    }
    const racing = Promise.all(inputs.map((input) => errorCode(placeOrder(oltp.db, input))));
    if (holder) {
      const waiting = async () =>
        (
          await holder.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
          )
        ).rows[0]!.n;
      await expect.poll(waiting, { timeout: 10_000, interval: 20 }).toBe(buyers.length);
      await holder.query('COMMIT');
      await holder.end();
    }
    const outcomes = await racing;

    expect(outcomes.filter((o) => o === 'ok')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'out_of_stock')).toHaveLength(buyers.length - 1);
    expect(await stockOf(oltp, lastOne.id)).toBe(0);
    const sold = await oltp.db.select().from(orderLines).where(eq(orderLines.productId, lastOne.id));
    expect(sold.map((l) => l.quantity)).toEqual([1]);
    // The refused shoppers keep their carts (nothing was half done).
    const winner = buyers[outcomes.indexOf('ok')]!;
    for (const b of buyers.filter((x) => x !== winner)) {
      expect((await getCart(oltp.db, { userId: b })).lines.map((l) => l.product.id)).toEqual([lastOne.id]);
      expect(await orderCount(oltp, b)).toBe(0);
    }
  });

  it('places one order for a form submitted twice at once, and again later', async () => {
    const user = await makeUser(oltp, 'Fay');
    await addItem(oltp.db, { userId: user }, plenty.id, 1, T0);
    const stockBefore = await stockOf(oltp, plenty.id);
    const input = await checkoutInput(oltp, user);

    const [a, b] = await Promise.all([placeOrder(oltp.db, input), placeOrder(oltp.db, input)]);
    expect(a.orderId).toBe(b.orderId);
    expect([a.created, b.created].sort()).toEqual([false, true]);
    const later = await placeOrder(oltp.db, input);
    expect(later).toEqual({ orderId: a.orderId, created: false });
    expect(await orderCount(oltp, user)).toBe(1);
    expect(await stockOf(oltp, plenty.id)).toBe(stockBefore - 1);
  });

  it('refuses a stale cart, a tampered or outdated total, an empty cart and too little stock, changing nothing', async () => {
    const user = await makeUser(oltp, 'Gus');
    await addItem(oltp.db, { userId: user }, onSale.id, 1, T0);
    const seen = await checkoutInput(oltp, user);
    const stockBefore = await stockOf(oltp, onSale.id);

    // A cheaper total typed into the form is compared, never charged.
    expect(await errorCode(placeOrder(oltp.db, { ...seen, expectedTotalMinor: 1 }))).toBe('price_changed');
    // The cart changed in another tab after the checkout page was shown.
    await addItem(oltp.db, { userId: user }, onSale.id, 1, T0);
    expect(await errorCode(placeOrder(oltp.db, seen))).toBe('stale_cart');
    // The price changed after the checkout page was shown.
    const fresh = await checkoutInput(oltp, user);
    await oltp.db.update(products).set({ discountPriceMinor: null }).where(eq(products.id, onSale.id));
    expect(await errorCode(placeOrder(oltp.db, fresh))).toBe('price_changed');
    // Stock fell below the cart's quantity (another shopper bought them).
    const repriced = await checkoutInput(oltp, user);
    await oltp.db.update(stock).set({ quantity: 1 }).where(eq(stock.productId, onSale.id));
    expect(await errorCode(placeOrder(oltp.db, repriced))).toBe('out_of_stock');
    expect(await errorCode(placeOrder(oltp.db, await checkoutInput(oltp, await makeUser(oltp, 'Hal'))))).toBe(
      'empty_cart',
    );

    expect(await orderCount(oltp, user)).toBe(0);
    expect(await stockOf(oltp, onSale.id)).toBe(1);
    expect((await getCart(oltp.db, { userId: user })).count).toBe(2);
    await oltp.db
      .update(products)
      .set({ discountPriceMinor: onSale.discountPriceMinor })
      .where(eq(products.id, onSale.id));
    await oltp.db.update(stock).set({ quantity: stockBefore }).where(eq(stock.productId, onSale.id));
  });

  it('keeps carts within stock and sane quantities, and merges a guest cart at sign-in', async () => {
    const guest = { guestKey: hashToken(randomUUID()) };
    expect(await errorCode(addItem(oltp.db, guest, soldOut.id, 1, T0))).toBe('out_of_stock');
    expect(await errorCode(addItem(oltp.db, guest, 'SKU-NOPE', 1, T0))).toBe('product_not_found');
    expect(await errorCode(addItem(oltp.db, guest, plenty.id, 11, T0))).toBe('invalid_quantity');
    for (const q of ['0', '11', '-1', '1.5', 'two', '', '1e1']) expect(() => parseQuantity(q)).toThrow(CartError);
    expect(parseQuantity(' 3 ')).toBe(3);

    await addItem(oltp.db, guest, plenty.id, 2, T0);
    const user = await makeUser(oltp, 'Ivy');
    await addItem(oltp.db, { userId: user }, plenty.id, 1, T0);
    await mergeGuestCart(oltp.db, guest.guestKey, user, T0);
    expect((await getCart(oltp.db, { userId: user })).lines.map((l) => [l.product.id, l.quantity])).toEqual([
      [plenty.id, 3],
    ]);
    expect((await getCart(oltp.db, guest)).id).toBeNull();
  });

  it('signs users up and in through the local identity provider over the users table', async () => {
    const key = signingKeyFromPem(
      generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'pem', type: 'pkcs8' }) as string,
    );
    const provider = createLocalIdentityProvider({
      directory: userDirectory(oltp.db),
      issue: createTokenIssuer({ key, issuer: 'http://localhost:3000', audience: 'shop', now }),
      now,
    });
    const email = `jo-${kind}@example.com`;
    // Two sign-ups of one e-mail at once: the unique index lets exactly one through.
    const results = await Promise.allSettled([
      provider.signUp({ email, password: GOOD_PASSWORD, name: 'Jo' }),
      provider.signUp({ email: email.toUpperCase(), password: GOOD_PASSWORD, name: 'Jo' }),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect((results.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason).toMatchObject({
      code: 'user_exists',
    });
    const [row] = await oltp.db.select().from(users).where(eq(users.email, email));
    expect(row!.passwordHash).toMatch(/^scrypt\$/);
    expect(row!.passwordHash).not.toContain(GOOD_PASSWORD);

    await expect(provider.signIn(email, 'Wrong-Horse-99')).rejects.toMatchObject({ code: 'invalid_credentials' });
    const auth = await provider.signIn(email, GOOD_PASSWORD);
    expect(auth.sub).toBe(row!.id);
  });

  it('finds a session by its token hash only while it is neither expired nor revoked', async () => {
    const user = await makeUser(oltp, 'Kim');
    const auth: Authenticated = {
      sub: user,
      username: user,
      email: 'kim@example.com',
      name: 'Kim',
      method: 'email',
      idToken: 'header.payload.signature',
      idTokenExpiresAt: new Date(T0.getTime() + 3600_000),
    };
    const token = await createSession(oltp.db, auth, T0);
    const id = hashToken(token);
    expect((await findSession(oltp.db, id, T0))?.sub).toBe(user);
    // The cookie value itself is not a session id, and a made-up one finds nothing.
    expect(await findSession(oltp.db, token, T0)).toBeUndefined();
    expect(await findSession(oltp.db, hashToken('forged'), T0)).toBeUndefined();
    expect(await findSession(oltp.db, id, new Date(T0.getTime() + SESSION_TTL_MS))).toBeUndefined();
    await revokeSession(oltp.db, id, T0);
    expect(await findSession(oltp.db, id, T0)).toBeUndefined();
  });

  it('searches for SQL- and LIKE-meaningful text literally', async () => {
    const count = async (search: string) => (await listProducts(oltp.db, { search, sort: 'featured', page: 1 })).total;
    expect(await count("'; DROP TABLE shop.products; --")).toBe(0);
    expect(await count('%')).toBe(0);
    expect(await count('_')).toBe(0);
    expect(await count('\\')).toBe(0);
    expect(await count("o'hara")).toBe(6);
    expect(await count('summit & co')).toBe(6);
    expect(await productBySlug(oltp.db, "' OR '1'='1")).toBeUndefined();
    expect((await oltp.db.select({ n: sql<number>`count(*)::int` }).from(products))[0]!.n).toBe(36);
  });
});
