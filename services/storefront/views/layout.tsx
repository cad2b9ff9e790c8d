/**
 * The page shell: header (categories, search, cart, account), consent banner, notices, footer, and
 * the tracker's JSON island. hono/jsx escapes every text child and attribute value; the island is
 * the one raw insertion, and `islandJson` makes it safe inside a <script> data block.
 */
import type { Child, FC } from 'hono/jsx';
import type { Product as ProductProperties } from '../../../generated/types/events.ts';
import type { PageEvent, PageType } from '../events.ts';

export interface Island {
  endpoint: string;
  pageType: PageType;
  consent: 'granted' | 'denied' | 'pending';
  /** The signed-in shopper's ID token for the tracker's auth hook. */
  idToken?: string;
  events: PageEvent[];
  /** The product of a product page (for share_click). */
  product?: ProductProperties;
}

export interface Shell {
  csrf: string;
  /** The path and query of this page (where the consent form returns to). */
  here: string;
  user?: { name: string };
  cartCount: number;
  categories: { slug: string; name: string }[];
  notices: string[];
  query?: string;
  assets: { tracker: string; script: string; css: string };
  island: Island;
}

/** JSON for a <script type="application/json"> block: `<` escaped, so no `</script>` or `<!--` can end it early. */
export const islandJson = (value: unknown) =>
  JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');

export const CsrfField: FC<{ token: string }> = ({ token }) => <input type="hidden" name="_csrf" value={token} />;

export const Layout: FC<{ title: string; shell: Shell; children?: Child }> = ({ title, shell, children }) => (
  <html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <title>{`${title} · Trailhead`}</title>
      <link rel="stylesheet" href={shell.assets.css} />
      <script
        type="application/json"
        id="clickstream-data"
        dangerouslySetInnerHTML={{ __html: islandJson(shell.island) }}
      />
      <script src={shell.assets.tracker} defer />
      <script src={shell.assets.script} defer />
    </head>
    <body>
      <header class="top">
        <a class="logo" href="/">
          Trailhead
        </a>
        <form class="search" method="get" action="/search">
          <input
            type="search"
            name="q"
            value={shell.query ?? ''}
            placeholder="Search tents, boots, brands…"
            maxlength={200}
            aria-label="Search"
          />
          <button type="submit">Search</button>
        </form>
        <nav class="account">
          <a href="/cart" data-track-id="header-cart">
            Cart ({shell.cartCount})
          </a>
          {shell.user ? (
            <>
              <a href="/wishlist">Wishlist</a>
              <a href="/orders">Orders</a>
              <span class="hello">Hi, {shell.user.name}</span>
              <form method="post" action="/logout" class="inline" data-logout>
                <CsrfField token={shell.csrf} />
                <button type="submit" class="link">
                  Log out
                </button>
              </form>
            </>
          ) : (
            <>
              <a href="/login">Log in</a>
              <a href="/signup">Sign up</a>
            </>
          )}
        </nav>
      </header>
      <nav class="categories" aria-label="Categories">
        {shell.categories.map((c) => (
          <a href={`/c/${c.slug}`}>{c.name}</a>
        ))}
      </nav>
      {shell.island.consent === 'pending' ? (
        <form class="consent" method="post" action="/consent" data-consent>
          <CsrfField token={shell.csrf} />
          <input type="hidden" name="next" value={shell.here} />
          <p>We record how the shop is used (pages, searches, cart) to improve it. Is that OK?</p>
          <button type="submit" name="choice" value="accept">
            Accept
          </button>
          <button type="submit" name="choice" value="decline" class="secondary">
            Decline
          </button>
        </form>
      ) : null}
      {shell.notices.map((n) => (
        <p class="notice" role="status">
          {n}
        </p>
      ))}
      <main>{children}</main>
      <footer>Trailhead is a demo shop: nothing is charged or shipped.</footer>
    </body>
  </html>
);
