/** The shop's pages (bodies only; layout.tsx wraps them). Every value is escaped by hono/jsx. */
import type { FC } from 'hono/jsx';
import type { Cart } from '../cart.ts';
import { MAX_LINE_QUANTITY } from '../cart.ts';
import { type Product, SORTS, type Sort } from '../catalog.ts';
import type { orderOf, ordersOf } from '../checkout.ts';
import { PAYMENT_METHODS } from '../db/schema.ts';
import { productUrlPath } from '../events.ts';
import { formatMoney } from '../money.ts';
import { CsrfField } from './layout.tsx';

export interface ViewContext {
  csrf: string;
  media: (path: string) => string;
}

const PAYMENT_LABELS: Record<(typeof PAYMENT_METHODS)[number], string> = {
  card: 'Card (demo: nothing is charged)',
  paypal: 'PayPal (demo)',
  cash_on_delivery: 'Cash on delivery',
};

const Price: FC<{ p: Pick<Product, 'priceMinor' | 'discountPriceMinor'> }> = ({ p }) =>
  p.discountPriceMinor !== null ? (
    <span class="price">
      <del>{formatMoney(p.priceMinor)}</del> <strong class="sale">{formatMoney(p.discountPriceMinor)}</strong>
    </span>
  ) : (
    <span class="price">
      <strong>{formatMoney(p.priceMinor)}</strong>
    </span>
  );

const StockNote: FC<{ stock: number }> = ({ stock }) =>
  stock === 0 ? (
    <span class="stock out">Sold out</span>
  ) : stock <= 3 ? (
    <span class="stock low">Only {stock} left</span>
  ) : (
    <span class="stock">In stock</span>
  );

const ProductCard: FC<{ p: Product; listId: string; v: ViewContext }> = ({ p, listId, v }) => (
  <li class="card" data-product-id={p.id}>
    <a href={`${productUrlPath(p)}?list=${encodeURIComponent(listId)}`}>
      <img src={v.media(p.images[0]!)} alt={p.name} width={200} height={200} loading="lazy" />
      <span class="name">{p.name}</span>
    </a>
    <span class="brand">{p.brand.name}</span>
    <Price p={p} />
    <StockNote stock={p.stock} />
  </li>
);

const Grid: FC<{ items: Product[]; listId: string; v: ViewContext }> = ({ items, listId, v }) => (
  <ul class="grid">
    {items.map((p) => (
      <ProductCard p={p} listId={listId} v={v} />
    ))}
  </ul>
);

const Pager: FC<{ page: number; pages: number; href: (page: number) => string }> = ({ page, pages, href }) =>
  pages > 1 ? (
    <nav class="pager" aria-label="Pages">
      {page > 1 ? <a href={href(page - 1)}>← Previous</a> : null}
      <span>
        Page {page} of {pages}
      </span>
      {page < pages ? <a href={href(page + 1)}>Next →</a> : null}
    </nav>
  ) : null;

export const HomePage: FC<{ featured: Product[]; categories: { slug: string; name: string }[]; v: ViewContext }> = ({
  featured,
  categories,
  v,
}) => (
  <>
    <section class="hero">
      <h1>Gear for long days outside</h1>
      <p>Tents, packs, shoes and lights from brands that repair what they make.</p>
      <a class="button" href="/c/tents" data-track-id="hero-shop-tents">
        Shop tents
      </a>
    </section>
    <h2>Featured</h2>
    <Grid items={featured} listId="home:featured" v={v} />
    <h2>Categories</h2>
    <ul class="tiles">
      {categories.map((c) => (
        <li>
          <a href={`/c/${c.slug}`}>{c.name}</a>
        </li>
      ))}
    </ul>
  </>
);

export const ListPage: FC<{
  heading: string;
  listId: string;
  items: Product[];
  total: number;
  page: number;
  pages: number;
  sort: Sort;
  /** Path with the query that selects this list (sort and page are added). */
  base: { path: string; params: Record<string, string> };
  v: ViewContext;
}> = ({ heading, listId, items, total, page, pages, sort, base, v }) => {
  const href = (p: number) => `${base.path}?${new URLSearchParams({ ...base.params, sort, page: String(p) })}`;
  return (
    <>
      <h1>{heading}</h1>
      <form class="sort" method="get" action={base.path}>
        {Object.entries(base.params).map(([k, value]) => (
          <input type="hidden" name={k} value={value} />
        ))}
        <label>
          Sort by{' '}
          <select name="sort">
            {Object.entries(SORTS).map(([key, label]) => (
              <option value={key} selected={key === sort}>
                {label}
              </option>
            ))}
          </select>
        </label>
        <button type="submit">Sort</button>
        <span class="count">
          {total} {total === 1 ? 'product' : 'products'}
        </span>
      </form>
      {items.length ? <Grid items={items} listId={listId} v={v} /> : <p class="empty">No products found.</p>}
      <Pager page={page} pages={pages} href={href} />
    </>
  );
};

export const SearchForm: FC = () => (
  <>
    <h1>Search</h1>
    <form method="get" action="/search">
      <input type="search" name="q" maxlength={200} aria-label="Search" />
      <button type="submit">Search</button>
    </form>
  </>
);

const SHARE_CHANNELS = [
  ['facebook', 'Facebook', (u: string) => `https://www.facebook.com/sharer/sharer.php?u=${u}`],
  ['x', 'X', (u: string) => `https://x.com/intent/post?url=${u}`],
  ['pinterest', 'Pinterest', (u: string) => `https://www.pinterest.com/pin/create/button/?url=${u}`],
  ['email', 'E-mail', (u: string) => `mailto:?body=${u}`],
] as const;

export const ProductPage: FC<{
  p: Product;
  absoluteUrl: string;
  signedIn: boolean;
  wished: boolean;
  reviews: { rating: number; body: string; author: string; createdAt: Date }[];
  v: ViewContext;
}> = ({ p, absoluteUrl, signedIn, wished, reviews, v }) => {
  const here = productUrlPath(p);
  const shareUrl = encodeURIComponent(absoluteUrl);
  return (
    <article class="product" data-product-id={p.id}>
      <div class="gallery">
        {p.images.map((img, i) => (
          <img src={v.media(img)} alt={i === 0 ? p.name : `${p.name}, another view`} width={400} height={400} />
        ))}
      </div>
      <div class="details">
        <p class="crumbs">
          <a href={`/c/${p.category.slug}`}>{p.category.name}</a> · {p.brand.name}
        </p>
        <h1>{p.name}</h1>
        <Price p={p} />
        <p>
          <StockNote stock={p.stock} />
        </p>
        <form method="post" action="/cart/items" class="buy">
          <CsrfField token={v.csrf} />
          <input type="hidden" name="product_id" value={p.id} />
          <label>
            Quantity{' '}
            <select name="quantity" disabled={p.stock === 0}>
              {Array.from({ length: Math.max(1, Math.min(p.stock, MAX_LINE_QUANTITY)) }, (_, i) => (
                <option value={String(i + 1)}>{i + 1}</option>
              ))}
            </select>
          </label>
          <button type="submit" disabled={p.stock === 0} data-track-id="add-to-cart">
            Add to cart
          </button>
        </form>
        {signedIn ? (
          <form method="post" action="/wishlist/toggle" class="inline">
            <CsrfField token={v.csrf} />
            <input type="hidden" name="product_id" value={p.id} />
            <input type="hidden" name="next" value={here} />
            <button type="submit" class="secondary" data-track-id="wishlist-toggle">
              {wished ? '♥ In your wishlist (remove)' : '♡ Add to wishlist'}
            </button>
          </form>
        ) : (
          <p>
            <a href={`/login?next=${encodeURIComponent(here)}`}>Log in</a> to save it to your wishlist.
          </p>
        )}
        <p class="share">
          Share:{' '}
          {SHARE_CHANNELS.map(([channel, label, url]) => (
            <a href={url(shareUrl)} data-share={channel} target="_blank" rel="noopener noreferrer">
              {label}
            </a>
          ))}
        </p>
        <p class="description">{p.description}</p>
      </div>
      <section class="reviews">
        <h2>Reviews ({reviews.length})</h2>
        {reviews.map((r) => (
          <blockquote class="review">
            <p class="stars">
              {'★'.repeat(r.rating)}
              {'☆'.repeat(5 - r.rating)} ({r.rating}/5)
            </p>
            <p class="review-body">{r.body}</p>
            <footer>— {r.author}</footer>
          </blockquote>
        ))}
        {signedIn ? (
          <form method="post" action={`${here}/reviews`} class="review-form">
            <CsrfField token={v.csrf} />
            <label>
              Rating{' '}
              <select name="rating">
                {[5, 4, 3, 2, 1].map((n) => (
                  <option value={String(n)}>{n} ★</option>
                ))}
              </select>
            </label>
            <textarea name="body" maxlength={2000} required rows={3} aria-label="Your review" />
            <button type="submit">Post review</button>
          </form>
        ) : null}
      </section>
    </article>
  );
};

export const CartPage: FC<{ cart: Cart; v: ViewContext }> = ({ cart, v }) => (
  <>
    <h1>Your cart</h1>
    {cart.lines.length === 0 ? (
      <p class="empty">
        Your cart is empty. <a href="/">Keep shopping</a>
      </p>
    ) : (
      <>
        <table class="lines">
          <thead>
            <tr>
              <th>Product</th>
              <th>Price</th>
              <th>Quantity</th>
              <th>Total</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {cart.lines.map((l) => (
              <tr data-product-id={l.product.id}>
                <td>
                  <a href={productUrlPath(l.product)}>{l.product.name}</a>
                </td>
                <td>{formatMoney(l.unitMinor)}</td>
                <td>
                  <form method="post" action={`/cart/items/${encodeURIComponent(l.product.id)}`} class="inline">
                    <CsrfField token={v.csrf} />
                    <input
                      type="number"
                      name="quantity"
                      min={0}
                      max={MAX_LINE_QUANTITY}
                      value={String(l.quantity)}
                      aria-label="Quantity"
                    />
                    <button type="submit" class="secondary">
                      Update
                    </button>
                  </form>
                </td>
                <td>{formatMoney(l.lineMinor)}</td>
                <td>
                  <form method="post" action={`/cart/items/${encodeURIComponent(l.product.id)}`} class="inline">
                    <CsrfField token={v.csrf} />
                    <input type="hidden" name="quantity" value="0" />
                    <button type="submit" class="link" data-track-id="remove-from-cart">
                      Remove
                    </button>
                  </form>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <Totals cart={cart} />
        <a class="button" href="/checkout" data-track-id="go-to-checkout">
          Proceed to checkout
        </a>
      </>
    )}
  </>
);

const Totals: FC<{ cart: Pick<Cart, 'itemsMinor' | 'shippingMinor' | 'totalMinor'> }> = ({ cart }) => (
  <dl class="totals">
    <dt>Items</dt>
    <dd>{formatMoney(cart.itemsMinor)}</dd>
    <dt>Shipping</dt>
    <dd>{cart.shippingMinor === 0 ? 'Free' : formatMoney(cart.shippingMinor)}</dd>
    <dt>Total</dt>
    <dd class="total">{formatMoney(cart.totalMinor)}</dd>
  </dl>
);

export const CheckoutPage: FC<{
  cart: Cart;
  idempotencyKey: string;
  name: string;
  error?: string;
  v: ViewContext;
}> = ({ cart, idempotencyKey, name, error, v }) => (
  <>
    <h1>Checkout</h1>
    {error ? (
      <p class="error" role="alert">
        {error}
      </p>
    ) : null}
    <ul class="summary">
      {cart.lines.map((l) => (
        <li>
          {l.quantity} × {l.product.name} — {formatMoney(l.lineMinor)}
        </li>
      ))}
    </ul>
    <Totals cart={cart} />
    <form method="post" action="/checkout" class="checkout">
      <CsrfField token={v.csrf} />
      <input type="hidden" name="idempotency_key" value={idempotencyKey} />
      <input type="hidden" name="cart_version" value={String(cart.version)} />
      <input type="hidden" name="expected_total_minor" value={String(cart.totalMinor)} />
      <label>
        Ship to (name) <input name="ship_name" value={name} maxlength={100} required />
      </label>
      <label>
        Address <textarea name="ship_address" maxlength={300} minlength={5} required rows={3} />
      </label>
      <fieldset>
        <legend>Payment</legend>
        {PAYMENT_METHODS.map((m, i) => (
          <label class="choice">
            <input type="radio" name="payment_method" value={m} checked={i === 0} /> {PAYMENT_LABELS[m]}
          </label>
        ))}
      </fieldset>
      <button type="submit" data-track-id="place-order">
        Place order ({formatMoney(cart.totalMinor)})
      </button>
    </form>
  </>
);

type FullOrder = NonNullable<Awaited<ReturnType<typeof orderOf>>>;

export const OrderPage: FC<{ order: FullOrder; placed: boolean }> = ({ order, placed }) => (
  <>
    <h1>{placed ? 'Thank you for your order' : 'Order'}</h1>
    <p>
      Order <strong data-order-id={order.id}>{order.id}</strong> · placed {order.createdAt.toISOString().slice(0, 10)} ·{' '}
      {PAYMENT_LABELS[order.paymentMethod]}
    </p>
    <table class="lines">
      <tbody>
        {order.lines.map((l) => (
          <tr>
            <td>{l.productName}</td>
            <td>
              {l.quantity} × {formatMoney(l.unitPriceMinor)}
            </td>
            <td>{formatMoney(l.lineTotalMinor)}</td>
          </tr>
        ))}
      </tbody>
    </table>
    <Totals cart={{ itemsMinor: order.itemsMinor, shippingMinor: order.shippingMinor, totalMinor: order.totalMinor }} />
    <p>
      Ships to {order.shipName}, {order.shipAddress}
    </p>
    <p>
      <a href="/orders">All your orders</a>
    </p>
  </>
);

export const OrdersPage: FC<{ orders: Awaited<ReturnType<typeof ordersOf>> }> = ({ orders }) => (
  <>
    <h1>Your orders</h1>
    {orders.length === 0 ? (
      <p class="empty">No orders yet.</p>
    ) : (
      <table class="lines">
        <tbody>
          {orders.map((o) => (
            <tr>
              <td>
                <a href={`/orders/${o.id}`}>{o.id}</a>
              </td>
              <td>{o.createdAt.toISOString().slice(0, 10)}</td>
              <td>{formatMoney(o.totalMinor)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    )}
  </>
);

export const WishlistPage: FC<{ items: Product[]; v: ViewContext }> = ({ items, v }) => (
  <>
    <h1>Your wishlist</h1>
    {items.length ? <Grid items={items} listId="wishlist" v={v} /> : <p class="empty">Nothing saved yet.</p>}
  </>
);

const FormError: FC<{ error?: string }> = ({ error }) =>
  error ? (
    <p class="error" role="alert">
      {error}
    </p>
  ) : null;

export const LoginPage: FC<{ next: string; email?: string; error?: string; google: boolean; v: ViewContext }> = ({
  next,
  email,
  error,
  google,
  v,
}) => (
  <section class="auth">
    <h1>Log in</h1>
    <FormError error={error} />
    <form method="post" action="/login">
      <CsrfField token={v.csrf} />
      <input type="hidden" name="next" value={next} />
      <label>
        E-mail <input type="email" name="email" value={email ?? ''} autocomplete="username" required maxlength={254} />
      </label>
      <label>
        Password <input type="password" name="password" autocomplete="current-password" required maxlength={256} />
      </label>
      <button type="submit" data-track-id="login-submit">
        Log in
      </button>
    </form>
    {google ? (
      <p>
        <a class="button secondary" href={`/auth/google?next=${encodeURIComponent(next)}`}>
          Continue with Google
        </a>
      </p>
    ) : null}
    <p>
      New here? <a href="/signup">Create an account</a>
    </p>
  </section>
);

export const SignupPage: FC<{ email?: string; name?: string; error?: string; v: ViewContext }> = ({
  email,
  name,
  error,
  v,
}) => (
  <section class="auth">
    <h1>Create an account</h1>
    <FormError error={error} />
    <form method="post" action="/signup">
      <CsrfField token={v.csrf} />
      <label>
        Name <input name="name" value={name ?? ''} autocomplete="name" required maxlength={100} />
      </label>
      <label>
        E-mail <input type="email" name="email" value={email ?? ''} autocomplete="email" required maxlength={254} />
      </label>
      <label>
        Password{' '}
        <input type="password" name="password" autocomplete="new-password" required minlength={12} maxlength={256} />
      </label>
      <p class="hint">At least 12 characters, with upper- and lower-case letters, a digit and a symbol.</p>
      <button type="submit" data-track-id="signup-submit">
        Sign up
      </button>
    </form>
  </section>
);

export const ConfirmPage: FC<{ email: string; destination?: string; error?: string; v: ViewContext }> = ({
  email,
  destination,
  error,
  v,
}) => (
  <section class="auth">
    <h1>Confirm your e-mail</h1>
    <FormError error={error} />
    <p>We sent a code to {destination ?? email}.</p>
    <form method="post" action="/signup/confirm">
      <CsrfField token={v.csrf} />
      <input type="hidden" name="email" value={email} />
      <label>
        Code <input name="code" inputmode="numeric" autocomplete="one-time-code" required maxlength={10} />
      </label>
      <button type="submit">Confirm</button>
    </form>
  </section>
);

/** The local stand-in for Google's consent screen (Cognito's Hosted UI federation in production). */
export const GooglePage: FC<{ next: string; error?: string; v: ViewContext }> = ({ next, error, v }) => (
  <section class="auth">
    <h1>Continue with Google</h1>
    <p class="hint">
      Local stand-in: with Cognito the Hosted UI sends you to Google. Here the account you name is signed in as a Google
      user.
    </p>
    <FormError error={error} />
    <form method="post" action="/auth/google">
      <CsrfField token={v.csrf} />
      <input type="hidden" name="next" value={next} />
      <label>
        Google e-mail <input type="email" name="email" required maxlength={254} />
      </label>
      <label>
        Name <input name="name" required maxlength={100} />
      </label>
      <button type="submit">Continue</button>
    </form>
  </section>
);

export const ErrorPage: FC<{ status: number; code: string; message: string }> = ({ status, code, message }) => (
  <section class="problem" data-error-code={code}>
    <h1>
      {status === 404
        ? 'Not found'
        : status === 403
          ? 'Not allowed'
          : status >= 500
            ? 'Something went wrong'
            : 'Cannot do that'}
    </h1>
    <p class="error" role="alert">
      {message}
    </p>
    <p>
      <a href="/">Back to the shop</a>
    </p>
  </section>
);
