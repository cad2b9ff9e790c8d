/**
 * The storefront as a Hono app: server-rendered pages (hono/jsx) and form POSTs that answer with a
 * 303 redirect, so shopping works without client JavaScript. server.ts puts it on node:http; tests
 * drive it with `app.request()`.
 *
 * Every visitor gets an HttpOnly, SameSite=Lax cookie (`sid`, Secure outside localhost) holding a
 * random token. Its SHA-256 is the sign-in session id or, for a guest, the cart key; a second hash
 * of it is the CSRF token every form carries. A POST without the token of its own cookie is
 * refused (403), so another site cannot submit the shop's forms with the shopper's cookie.
 */
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { serveStatic } from '@hono/node-server/serve-static';
import { type Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { html } from 'hono/html';
import type { Child } from 'hono/jsx';
import { secureHeaders } from 'hono/secure-headers';
import { AuthError, type Authenticated, type IdentityProvider } from '../identity/provider.ts';
import type { Logger } from '../log.ts';
import { errorFields } from '../log.ts';
import {
  createSession,
  findSession,
  hashToken,
  isVisitorToken,
  newVisitorToken,
  revokeSession,
  type SignedIn,
  updateSessionTokens,
  upsertProfile,
} from './accounts.ts';
import type { Asset, Assets } from './assets.ts';
import { addItem, CartError, type CartOwner, getCart, mergeGuestCart, parseQuantity, setItemQuantity } from './cart.ts';
import {
  categoryBySlug,
  listCategories,
  listProducts,
  MAX_QUERY_LENGTH,
  type Product,
  productBySlug,
  productReviews,
  productsByIds,
  ReviewError,
  SORTS,
  type Sort,
  saveReview,
} from './catalog.ts';
import { CheckoutError, orderOf, ordersOf, parseCheckoutForm, placeOrder } from './checkout.ts';
import type { OltpDb } from './db/open.ts';
import {
  eventOrder,
  eventProduct,
  type FlashEntry,
  type PageEvent,
  type PageType,
  pageEvent,
  parseFlash,
  productListView,
  productUrlPath,
  serializeFlash,
} from './events.ts';
import { toMajor } from './money.ts';
import { type Island, Layout } from './views/layout.tsx';
import {
  CartPage,
  CheckoutPage,
  ConfirmPage,
  ErrorPage,
  GooglePage,
  HomePage,
  ListPage,
  LoginPage,
  OrderPage,
  OrdersPage,
  ProductPage,
  SearchForm,
  SignupPage,
  type ViewContext,
  WishlistPage,
} from './views/pages.tsx';
import { inWishlist, toggleWishlist, wishlistOf } from './wishlist.ts';

export interface StorefrontDeps {
  db: OltpDb;
  identity: IdentityProvider;
  /** The local identity provider's public keys, published at /.well-known/jwks.json. */
  jwks?: object;
  assets: Assets;
  /** MEDIA_BASE_URL: `/media` or an absolute URL (CloudFront). */
  mediaBaseUrl: string;
  /** The folder served under /media/ (only when MEDIA_BASE_URL is a path on the shop). */
  mediaDir?: string;
  /** INGEST_URL: where the tracker posts. */
  ingestUrl: string;
  now: () => Date;
  logger: Logger;
}

interface Visitor {
  token: string;
  key: string;
  csrf: string;
  user?: SignedIn;
}

type AppEnv = { Variables: { visitor: Visitor; form: Record<string, string> } };
type C = Context<AppEnv>;

const VISITOR_COOKIE = 'sid';
const FLASH_COOKIE = 'flash';
const CONSENT_COOKIE = 'consent';
const VISITOR_MAX_AGE_S = 30 * 24 * 3600;
/** Renew the ID token this long before it expires, so the tracker never sends an expired one. */
const TOKEN_RENEW_MS = 5 * 60 * 1000;
const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);
const LIST_ID = /^[a-z]+(:[a-z0-9-]{1,64})?$/;

const csrfFor = (token: string) => createHash('sha256').update(`csrf\0${token}`).digest('base64url');

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** A local redirect target from a form or query (`/path…` only: no `//host`, no scheme). */
export function safeNext(value: unknown, fallback = '/'): string {
  return typeof value === 'string' && /^\/(?![/\\])[^\s\\]{0,500}$/.test(value) ? value : fallback;
}

class HttpProblem extends Error {
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 409 | 413 | 429 | 500 | 503,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

class LoginRequired extends Error {
  constructor(readonly next: string) {
    super('login required');
  }
}

const originOf = (url: string) => (url.startsWith('/') ? '' : new URL(url).origin);

export function createStorefrontApp(deps: StorefrontDeps): Hono<AppEnv> {
  const { db, identity, now, logger } = deps;
  const app = new Hono<AppEnv>();
  const assetsByPath = new Map<string, Asset>(Object.values(deps.assets).map((a: Asset) => [a.path, a]));
  const media = (p: string) => `${deps.mediaBaseUrl}/${p}`;

  app.use(
    '*',
    secureHeaders({
      contentSecurityPolicy: {
        defaultSrc: ["'none'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", ...[originOf(deps.mediaBaseUrl)].filter(Boolean)],
        connectSrc: ["'self'", originOf(deps.ingestUrl)],
        formAction: ["'self'"],
        baseUri: ["'none'"],
        frameAncestors: ["'none'"],
      },
      // The tracker reports the referrer of each page view: keep it within the shop.
      referrerPolicy: 'strict-origin-when-cross-origin',
    }),
  );

  app.onError((err, c) => {
    if (err instanceof LoginRequired) return c.redirect(`/login?next=${encodeURIComponent(err.next)}`, 303);
    if (err instanceof HttpProblem) return problem(c as C, err.status, err.code, err.message);
    logger.error('request failed', { path: c.req.path, ...errorFields(err) });
    return problem(c as C, 500, 'internal_error', 'Something went wrong on our side; please try again.');
  });
  app.notFound((c) => problem(c as C, 404, 'not_found', 'There is no page at this address.'));

  // ---- static and machine endpoints (no visitor cookie) ----
  app.get('/health', (c) => c.json({ ok: true }));
  app.get('/assets/:name', (c) => {
    const a = assetsByPath.get(c.req.path);
    if (!a) return c.json({ error: { code: 'not_found', message: 'no such asset' } }, 404);
    return c.body(a.body as Uint8Array<ArrayBuffer>, 200, {
      'content-type': a.type,
      'cache-control': 'public, max-age=31536000, immutable',
    });
  });
  if (deps.mediaDir) {
    app.use(
      '/media/*',
      serveStatic({
        root: deps.mediaDir,
        rewriteRequestPath: (p) => p.replace(/^\/media/, ''),
        onFound: (_path, c) => {
          c.header('cache-control', 'public, max-age=86400');
        },
      }),
    );
  }
  app.get('/.well-known/jwks.json', (c) =>
    deps.jwks
      ? c.json(deps.jwks, 200, { 'cache-control': 'public, max-age=300' })
      : c.json({ error: { code: 'not_found', message: 'sign-in is Cognito’s: its JWKS is at the user pool' } }, 404),
  );

  // ---- visitor: cookie, session, CSRF ----
  const secureCookies = (c: C) => !LOCAL_HOSTS.has(new URL(c.req.url).hostname);
  const setVisitorCookie = (c: C, token: string) =>
    setCookie(c, VISITOR_COOKIE, token, {
      httpOnly: true,
      sameSite: 'Lax',
      secure: secureCookies(c),
      path: '/',
      maxAge: VISITOR_MAX_AGE_S,
    });

  app.use('*', async (c, next) => {
    const cookie = getCookie(c, VISITOR_COOKIE);
    let token = isVisitorToken(cookie) ? cookie : undefined;
    let user: SignedIn | undefined;
    if (token) user = await findSession(db, hashToken(token), now());
    else {
      token = newVisitorToken();
      setVisitorCookie(c, token);
    }
    if (user && user.idTokenExpiresAt.getTime() - now().getTime() < TOKEN_RENEW_MS) {
      try {
        const tokens = await identity.refresh(user, user.refreshToken ?? undefined);
        await updateSessionTokens(db, user.sessionId, tokens);
        user = { ...user, ...tokens, refreshToken: tokens.refreshToken ?? user.refreshToken };
      } catch (err) {
        if (!(err instanceof AuthError && err.code === 'session_expired')) throw err;
        await revokeSession(db, user.sessionId, now());
        user = undefined;
      }
    }
    c.set('visitor', { token, key: hashToken(token), csrf: csrfFor(token), ...(user ? { user } : {}) });
    await next();
  });

  app.use(
    '*',
    bodyLimit({
      maxSize: 64 * 1024,
      onError: (c) => problem(c as C, 413, 'body_too_large', 'The form is too large.'),
    }),
  );
  app.use('*', async (c, next) => {
    if (c.req.method !== 'POST') return next();
    const body = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>);
    const form: Record<string, string> = {};
    for (const [k, v] of Object.entries(body)) if (typeof v === 'string') form[k] = v;
    if (!sameSecret(form._csrf ?? '', c.get('visitor').csrf)) {
      return problem(
        c,
        403,
        'csrf_failed',
        'This form has expired or did not come from this shop: go back, reload the page and try again.',
      );
    }
    c.set('form', form);
    await next();
  });

  // ---- helpers ----
  const ownerOf = (v: Visitor): CartOwner => (v.user ? { userId: v.user.sub } : { guestKey: v.key });

  function flash(c: C, ...entries: FlashEntry[]) {
    const all = [...parseFlash(getCookie(c, FLASH_COOKIE)), ...entries];
    setCookie(c, FLASH_COOKIE, serializeFlash(all), {
      httpOnly: true,
      sameSite: 'Lax',
      secure: secureCookies(c),
      path: '/',
    });
  }

  function wantsJson(c: C): boolean {
    const accept = c.req.header('accept') ?? '';
    return accept.includes('application/json') && !accept.includes('text/html');
  }

  async function problem(c: C, status: HttpProblem['status'], code: string, message: string) {
    if (wantsJson(c) || !c.get('visitor')) return c.json({ error: { code, message } }, status);
    try {
      return await render(c, {
        title: status === 404 ? 'Not found' : 'Problem',
        pageType: 'other',
        status,
        body: <ErrorPage status={status} code={code} message={message} />,
      });
    } catch (err) {
      // The page shell reads the database (cart, categories): when that is what failed, answer plainly.
      logger.error('error page failed', errorFields(err));
      return c.json({ error: { code, message } }, status);
    }
  }

  /** The events of the actions that redirected here, resolved against the database. */
  async function flashEvents(entries: FlashEntry[], v: Visitor): Promise<PageEvent[]> {
    const ids = entries.flatMap((e) => ('p' in e ? [e.p] : []));
    const byId = await productsByIds(db, ids);
    const events: PageEvent[] = [];
    for (const e of entries) {
      switch (e.k) {
        case 'add_to_cart':
        case 'remove_from_cart': {
          const p = byId.get(e.p);
          if (p) events.push(pageEvent(e.k, { product: eventProduct(p), quantity: e.q, cart_id: e.c }));
          break;
        }
        case 'wishlist_toggle': {
          const p = byId.get(e.p);
          if (p) events.push(pageEvent('wishlist_toggle', { product: eventProduct(p), action: e.a }));
          break;
        }
        case 'purchase': {
          const order = v.user ? await orderOf(db, v.user.sub, e.o) : undefined;
          if (order) {
            const products = await productsByIds(
              db,
              order.lines.map((l) => l.productId),
            );
            events.push(
              pageEvent('purchase', { order: eventOrder(order, products), payment_method: order.paymentMethod }),
            );
          }
          break;
        }
        case 'sign_up':
        case 'login':
          events.push(pageEvent(e.k, { method: e.m }));
          break;
      }
    }
    return events;
  }

  async function render(
    c: C,
    page: {
      title: string;
      pageType: PageType;
      body: Child;
      events?: PageEvent[];
      status?: HttpProblem['status'] | 200;
      product?: Product;
      query?: string;
    },
  ) {
    const v = c.get('visitor');
    const entries = parseFlash(getCookie(c, FLASH_COOKIE));
    if (getCookie(c, FLASH_COOKIE) !== undefined) deleteCookie(c, FLASH_COOKIE, { path: '/' });
    const consent = getCookie(c, CONSENT_COOKIE);
    const [cart, categories, fromActions] = await Promise.all([
      getCart(db, ownerOf(v)),
      listCategories(db),
      flashEvents(entries, v),
    ]);
    const island: Island = {
      endpoint: deps.ingestUrl,
      pageType: page.pageType,
      consent: consent === 'granted' || consent === 'denied' ? consent : 'pending',
      ...(v.user ? { idToken: v.user.idToken } : {}),
      events: [...fromActions, ...(page.events ?? [])],
      ...(page.product ? { product: eventProduct(page.product) } : {}),
    };
    const url = new URL(c.req.url);
    const shell = {
      csrf: v.csrf,
      here: safeNext(url.pathname + url.search),
      ...(v.user ? { user: { name: v.user.name } } : {}),
      cartCount: cart.count,
      categories,
      notices: entries.flatMap((e) => (e.k === 'notice' ? [e.t] : [])),
      ...(page.query !== undefined ? { query: page.query } : {}),
      assets: { tracker: deps.assets.tracker.path, script: deps.assets.script.path, css: deps.assets.css.path },
      island,
    };
    c.header('cache-control', 'no-store');
    return c.html(
      html`<!doctype html>${(
        <Layout title={page.title} shell={shell}>
          {page.body}
        </Layout>
      )}`,
      page.status ?? 200,
    );
  }

  const view = (c: C): ViewContext => ({ csrf: c.get('visitor').csrf, media });

  /** The signed-in shopper; for a guest, a LoginRequired that onError turns into a redirect to /login. */
  function requireUser(c: C, next: string): SignedIn {
    const user = c.get('visitor').user;
    if (!user) throw new LoginRequired(next);
    return user;
  }

  function listParams(c: C): { sort: Sort; page: number } {
    const sort = c.req.query('sort') ?? 'featured';
    if (!Object.hasOwn(SORTS, sort))
      throw new HttpProblem(400, 'invalid_sort', `Unknown sort order; use one of ${Object.keys(SORTS).join(', ')}.`);
    const rawPage = c.req.query('page') ?? '1';
    if (!/^\d{1,4}$/.test(rawPage) || Number(rawPage) < 1)
      throw new HttpProblem(400, 'invalid_page', 'The page number must be a whole number from 1.');
    return { sort: sort as Sort, page: Number(rawPage) };
  }

  // ---- catalogue ----
  app.get('/', async (c) => {
    const [featured, categories] = await Promise.all([
      listProducts(db, { featured: true, sort: 'featured', page: 1 }),
      listCategories(db),
    ]);
    return render(c, {
      title: 'Gear for long days outside',
      pageType: 'home',
      events: [productListView('home:featured', 'Featured', featured.items)],
      body: <HomePage featured={featured.items} categories={categories} v={view(c)} />,
    });
  });

  app.get('/c/:slug', async (c) => {
    const category = await categoryBySlug(db, c.req.param('slug'));
    if (!category) throw new HttpProblem(404, 'category_not_found', 'There is no such category.');
    const { sort, page } = listParams(c);
    const list = await listProducts(db, { categoryId: category.id, sort, page });
    if (page > list.pages) throw new HttpProblem(404, 'page_not_found', `This category has ${list.pages} page(s).`);
    const listId = `category:${category.slug}`;
    return render(c, {
      title: category.name,
      pageType: 'category',
      events: [productListView(listId, category.name, list.items, page)],
      body: (
        <ListPage
          heading={category.name}
          listId={listId}
          {...list}
          page={page}
          sort={sort}
          base={{ path: `/c/${category.slug}`, params: {} }}
          v={view(c)}
        />
      ),
    });
  });

  app.get('/search', async (c) => {
    const q = (c.req.query('q') ?? '').trim();
    if (q.length === 0) return render(c, { title: 'Search', pageType: 'search', body: <SearchForm /> });
    if (q.length > MAX_QUERY_LENGTH) {
      throw new HttpProblem(400, 'query_too_long', `Search for at most ${MAX_QUERY_LENGTH} characters.`);
    }
    const { sort, page } = listParams(c);
    const list = await listProducts(db, { search: q, sort, page });
    if (page > list.pages) throw new HttpProblem(404, 'page_not_found', `These results have ${list.pages} page(s).`);
    const events = [
      // Once per search, not again for each further page of its results.
      ...(page === 1 ? [pageEvent('search', { query: q, results_count: list.total })] : []),
      productListView('search', 'Search results', list.items, page),
    ];
    return render(c, {
      title: `Search: ${q}`,
      pageType: 'search',
      query: q,
      events,
      body: (
        <ListPage
          heading={`Results for “${q}”`}
          listId="search"
          {...list}
          page={page}
          sort={sort}
          base={{ path: '/search', params: { q } }}
          v={view(c)}
        />
      ),
    });
  });

  app.get('/p/:slug', async (c) => {
    const p = await productBySlug(db, c.req.param('slug'));
    if (!p) throw new HttpProblem(404, 'product_not_found', 'There is no such product.');
    const user = c.get('visitor').user;
    const [reviews, wished] = await Promise.all([
      productReviews(db, p.id),
      user ? inWishlist(db, user.sub, p.id) : false,
    ]);
    const listId = c.req.query('list');
    return render(c, {
      title: p.name,
      pageType: 'product',
      product: p,
      events: [
        pageEvent('product_view', {
          product: eventProduct(p),
          ...(listId && listId.length <= 100 && LIST_ID.test(listId) ? { list_id: listId } : {}),
        }),
      ],
      body: (
        <ProductPage
          p={p}
          absoluteUrl={new URL(productUrlPath(p), c.req.url).href}
          signedIn={user !== undefined}
          wished={wished}
          reviews={reviews}
          v={view(c)}
        />
      ),
    });
  });

  app.post('/p/:slug/reviews', async (c) => {
    const p = await productBySlug(db, c.req.param('slug'));
    if (!p) throw new HttpProblem(404, 'product_not_found', 'There is no such product.');
    const user = requireUser(c, productUrlPath(p));
    const form = c.get('form');
    try {
      await saveReview(db, {
        productId: p.id,
        userId: user.sub,
        rating: Number(form.rating),
        body: form.body ?? '',
        now: now(),
      });
    } catch (err) {
      if (err instanceof ReviewError) throw new HttpProblem(400, 'invalid_review', err.message);
      throw err;
    }
    flash(c, { k: 'notice', t: 'Thanks for your review.' });
    return c.redirect(productUrlPath(p), 303);
  });

  // ---- cart ----
  const cartProblem = (err: unknown): never => {
    if (err instanceof CartError) {
      const status = err.code === 'invalid_quantity' ? 400 : err.code === 'product_not_found' ? 404 : 409;
      throw new HttpProblem(status, err.code, err.message);
    }
    throw err;
  };

  app.get('/cart', async (c) => {
    const cart = await getCart(db, ownerOf(c.get('visitor')));
    return render(c, { title: 'Cart', pageType: 'cart', body: <CartPage cart={cart} v={view(c)} /> });
  });

  app.post('/cart/items', async (c) => {
    const form = c.get('form');
    try {
      const quantity = parseQuantity(form.quantity);
      const change = await addItem(db, ownerOf(c.get('visitor')), form.product_id ?? '', quantity, now());
      flash(
        c,
        { k: 'add_to_cart', p: change.product.id, q: quantity, c: change.cartId },
        { k: 'notice', t: `Added ${quantity} × ${change.product.name} to your cart.` },
      );
    } catch (err) {
      cartProblem(err);
    }
    return c.redirect('/cart', 303);
  });

  app.post('/cart/items/:productId', async (c) => {
    try {
      const quantity = parseQuantity(c.get('form').quantity, 0);
      const change = await setItemQuantity(db, ownerOf(c.get('visitor')), c.req.param('productId'), quantity, now());
      if (change.delta > 0) flash(c, { k: 'add_to_cart', p: change.product.id, q: change.delta, c: change.cartId });
      if (change.delta < 0) {
        flash(
          c,
          { k: 'remove_from_cart', p: change.product.id, q: -change.delta, c: change.cartId },
          { k: 'notice', t: quantity === 0 ? `Removed ${change.product.name} from your cart.` : 'Cart updated.' },
        );
      }
    } catch (err) {
      cartProblem(err);
    }
    return c.redirect('/cart', 303);
  });

  // ---- checkout and orders ----
  async function checkoutPage(c: C, user: SignedIn, error?: { status: 400 | 409; message: string }) {
    const cart = await getCart(db, { userId: user.sub });
    if (cart.lines.length === 0) {
      if (error) throw new HttpProblem(error.status, 'empty_cart', error.message);
      flash(c, { k: 'notice', t: 'Your cart is empty.' });
      return c.redirect('/cart', 303);
    }
    return render(c, {
      title: 'Checkout',
      pageType: 'checkout',
      status: error?.status ?? 200,
      events: error
        ? []
        : [
            pageEvent('begin_checkout', {
              ...(cart.id ? { cart_id: cart.id } : {}),
              items: cart.lines.map((l) => ({ product: eventProduct(l.product), quantity: l.quantity })),
              total: toMajor(cart.totalMinor),
              currency: 'USD',
            }),
          ],
      body: (
        <CheckoutPage
          cart={cart}
          idempotencyKey={randomUUID()}
          name={user.name}
          v={view(c)}
          {...(error ? { error: error.message } : {})}
        />
      ),
    });
  }

  app.get('/checkout', async (c) => checkoutPage(c, requireUser(c, '/checkout')));

  app.post('/checkout', async (c) => {
    const user = requireUser(c, '/checkout');
    try {
      const input = parseCheckoutForm(c.get('form'));
      const placed = await placeOrder(db, { ...input, userId: user.sub, now: now() });
      // A repeated submit lands on the same order, and tracks no second purchase.
      if (placed.created) flash(c, { k: 'purchase', o: placed.orderId });
      return c.redirect(`/orders/${placed.orderId}?placed=1`, 303);
    } catch (err) {
      if (!(err instanceof CheckoutError)) throw err;
      logger.info('checkout refused', { code: err.code, user: user.sub });
      return checkoutPage(c, user, { status: err.code === 'invalid_input' ? 400 : 409, message: err.message });
    }
  });

  app.get('/orders', async (c) => {
    const user = requireUser(c, '/orders');
    return render(c, {
      title: 'Orders',
      pageType: 'account',
      body: <OrdersPage orders={await ordersOf(db, user.sub)} />,
    });
  });

  app.get('/orders/:id', async (c) => {
    const user = requireUser(c, c.req.path);
    const order = await orderOf(db, user.sub, c.req.param('id'));
    if (!order) throw new HttpProblem(404, 'order_not_found', 'There is no such order in your account.');
    const placed = c.req.query('placed') === '1';
    return render(c, {
      title: `Order ${order.id}`,
      pageType: placed ? 'checkout' : 'account',
      body: <OrderPage order={order} placed={placed} />,
    });
  });

  // ---- wishlist ----
  app.get('/wishlist', async (c) => {
    const user = requireUser(c, '/wishlist');
    const items = await wishlistOf(db, user.sub);
    return render(c, {
      title: 'Wishlist',
      pageType: 'account',
      events: [productListView('wishlist', 'Wishlist', items)],
      body: <WishlistPage items={items} v={view(c)} />,
    });
  });

  app.post('/wishlist/toggle', async (c) => {
    const form = c.get('form');
    const next = safeNext(form.next, '/wishlist');
    const user = requireUser(c, next);
    const product = (await productsByIds(db, [form.product_id ?? ''])).get(form.product_id ?? '');
    if (!product?.active) throw new HttpProblem(404, 'product_not_found', 'There is no such product.');
    const action = await toggleWishlist(db, user.sub, product.id, now());
    flash(
      c,
      { k: 'wishlist_toggle', p: product.id, a: action },
      {
        k: 'notice',
        t: action === 'add' ? `Saved ${product.name} to your wishlist.` : `Removed ${product.name} from your wishlist.`,
      },
    );
    return c.redirect(next, 303);
  });

  // ---- consent ----
  app.post('/consent', (c) => {
    const form = c.get('form');
    const choice = form.choice === 'accept' ? 'granted' : 'denied';
    setCookie(c, CONSENT_COOKIE, choice, {
      httpOnly: true,
      sameSite: 'Lax',
      secure: secureCookies(c),
      path: '/',
      maxAge: 365 * 24 * 3600,
    });
    // The page script posts in the background (the banner just hides); a plain form comes back here.
    if (form.via === 'fetch') return c.body(null, 204);
    return c.redirect(safeNext(form.next), 303);
  });

  // ---- identity ----
  async function signedIn(c: C, auth: Authenticated, events: FlashEntry[], next: string) {
    const v = c.get('visitor');
    if (identity.kind === 'cognito') await upsertProfile(db, auth, now());
    // A new token at sign-in: a session id planted before it (session fixation) is worth nothing.
    const token = await createSession(db, auth, now());
    await mergeGuestCart(db, v.key, auth.sub, now());
    setVisitorCookie(c, token);
    flash(c, ...events);
    return c.redirect(next, 303);
  }

  const authProblemStatus = (err: AuthError) =>
    err.code === 'too_many_attempts'
      ? 429
      : err.code === 'provider_unavailable'
        ? 503
        : err.code === 'user_exists'
          ? 409
          : err.code === 'invalid_credentials'
            ? 401
            : 400;

  app.get('/login', (c) => {
    const next = safeNext(c.req.query('next'));
    if (c.get('visitor').user) return c.redirect(next, 303);
    return render(c, {
      title: 'Log in',
      pageType: 'account',
      body: (
        <LoginPage
          next={next}
          email={c.req.query('email')?.slice(0, 254) ?? ''}
          google={identity.googleSignIn !== undefined}
          v={view(c)}
        />
      ),
    });
  });

  app.post('/login', async (c) => {
    const form = c.get('form');
    const next = safeNext(form.next);
    try {
      const auth = await identity.signIn(form.email ?? '', form.password ?? '');
      return await signedIn(c, auth, [{ k: 'login', m: auth.method }], next);
    } catch (err) {
      if (!(err instanceof AuthError)) throw err;
      if (err.code === 'not_confirmed')
        return c.redirect(`/signup/confirm?email=${encodeURIComponent(form.email ?? '')}`, 303);
      return render(c, {
        title: 'Log in',
        pageType: 'account',
        status: authProblemStatus(err),
        body: (
          <LoginPage
            next={next}
            email={form.email ?? ''}
            error={err.message}
            google={identity.googleSignIn !== undefined}
            v={view(c)}
          />
        ),
      });
    }
  });

  app.get('/signup', (c) => render(c, { title: 'Sign up', pageType: 'account', body: <SignupPage v={view(c)} /> }));

  app.post('/signup', async (c) => {
    const form = c.get('form');
    try {
      const outcome = await identity.signUp({
        email: form.email ?? '',
        password: form.password ?? '',
        name: form.name ?? '',
      });
      const email = encodeURIComponent((form.email ?? '').trim().toLowerCase());
      if (outcome.status === 'confirmation_required') {
        flash(c, { k: 'sign_up', m: 'email' });
        return c.redirect(
          `/signup/confirm?email=${email}${outcome.destination ? `&to=${encodeURIComponent(outcome.destination)}` : ''}`,
          303,
        );
      }
      flash(c, { k: 'sign_up', m: 'email' }, { k: 'notice', t: 'Your account is ready: log in to continue.' });
      return c.redirect(`/login?email=${email}`, 303);
    } catch (err) {
      if (!(err instanceof AuthError)) throw err;
      return render(c, {
        title: 'Sign up',
        pageType: 'account',
        status: authProblemStatus(err),
        body: <SignupPage email={form.email ?? ''} name={form.name ?? ''} error={err.message} v={view(c)} />,
      });
    }
  });

  app.get('/signup/confirm', (c) =>
    render(c, {
      title: 'Confirm your e-mail',
      pageType: 'account',
      body: (
        <ConfirmPage
          email={c.req.query('email')?.slice(0, 254) ?? ''}
          {...(c.req.query('to') ? { destination: c.req.query('to')!.slice(0, 254) } : {})}
          v={view(c)}
        />
      ),
    }),
  );

  app.post('/signup/confirm', async (c) => {
    const form = c.get('form');
    try {
      await identity.confirmSignUp(form.email ?? '', form.code ?? '');
    } catch (err) {
      if (!(err instanceof AuthError)) throw err;
      return render(c, {
        title: 'Confirm your e-mail',
        pageType: 'account',
        status: authProblemStatus(err),
        body: <ConfirmPage email={form.email ?? ''} error={err.message} v={view(c)} />,
      });
    }
    flash(c, { k: 'notice', t: 'Your e-mail is confirmed: log in to continue.' });
    return c.redirect(`/login?email=${encodeURIComponent(form.email ?? '')}`, 303);
  });

  if (identity.googleSignIn) {
    const googleSignIn = identity.googleSignIn;
    app.get('/auth/google', (c) =>
      render(c, {
        title: 'Continue with Google',
        pageType: 'account',
        body: <GooglePage next={safeNext(c.req.query('next'))} v={view(c)} />,
      }),
    );
    app.post('/auth/google', async (c) => {
      const form = c.get('form');
      const next = safeNext(form.next);
      try {
        const auth = await googleSignIn({ email: form.email ?? '', name: form.name ?? '' });
        const events: FlashEntry[] = auth.created ? [{ k: 'sign_up', m: 'google' }] : [];
        return await signedIn(c, auth, [...events, { k: 'login', m: 'google' }], next);
      } catch (err) {
        if (!(err instanceof AuthError)) throw err;
        return render(c, {
          title: 'Continue with Google',
          pageType: 'account',
          status: authProblemStatus(err),
          body: <GooglePage next={next} error={err.message} v={view(c)} />,
        });
      }
    });
  }

  app.post('/logout', async (c) => {
    const v = c.get('visitor');
    if (v.user) await revokeSession(db, v.user.sessionId, now());
    // A fresh visitor token: the old one named the revoked session.
    setVisitorCookie(c, newVisitorToken());
    // The logout event was tracked by the page before, while its ID token was still the shopper's.
    return c.redirect('/', 303);
  });

  return app;
}
