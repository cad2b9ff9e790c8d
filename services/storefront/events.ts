/**
 * The clickstream events a page tracks, built on the server from OLTP rows and typed with the
 * generated event types: a property the schema does not have, or a missing required one, is a
 * compile error here. The page hands them to the browser in a JSON island that the shop's script
 * passes to the tracker (docs/adr-001-storefront.md, "Events of server-side actions").
 *
 * Server-side actions (add to cart, checkout, sign-in…) end in a redirect. Their events ride to
 * the next page in the `flash` cookie as small references (product id, order id), which that page
 * resolves against the database — so the event says what the OLTP says, not what a cookie says.
 */
import { trackedEventModels } from '../../generated/tracker/api.ts';
import type {
  Currency,
  EventPropertiesMap,
  Order,
  PageViewV1Properties,
  Product as ProductProperties,
} from '../../generated/types/events.ts';
import type { Product } from './catalog.ts';
import type { orderOf } from './checkout.ts';
import { toMajor } from './money.ts';

type Tracked = typeof trackedEventModels;
export type TrackedName = keyof Tracked;
export type PageType = PageViewV1Properties['page_type'];

/** One event for the tracker: the newest model of `name` (what the typed tracker API sends). */
export type PageEvent = {
  [N in TrackedName]: { name: N; version: Tracked[N]; properties: EventPropertiesMap[N][Tracked[N]] };
}[TrackedName];

export function pageEvent<N extends TrackedName>(name: N, properties: EventPropertiesMap[N][Tracked[N]]): PageEvent {
  return { name, version: trackedEventModels[name], properties } as PageEvent;
}

export const productUrlPath = (p: Pick<Product, 'slug'>) => `/p/${encodeURIComponent(p.slug)}`;

/** The product as the events' shared `product` shape (prices in major units). */
export function eventProduct(p: Product): ProductProperties {
  return {
    id: p.id,
    name: p.name,
    category: p.category.slug,
    brand: p.brand.name,
    price: toMajor(p.priceMinor),
    ...(p.discountPriceMinor !== null ? { discount_price: toMajor(p.discountPriceMinor) } : {}),
    url_path: productUrlPath(p),
  };
}

export function productListView(listId: string, listName: string, items: Product[], page?: number): PageEvent {
  return pageEvent('product_list_view', {
    list_id: listId,
    list_name: listName,
    products: items.slice(0, 100).map(eventProduct),
    ...(page !== undefined ? { page_number: page } : {}),
  });
}

/** The `order` of a purchase from the stored order (lines priced as charged). */
export function eventOrder(
  order: NonNullable<Awaited<ReturnType<typeof orderOf>>>,
  products: Map<string, Product>,
): Order {
  return {
    order_id: order.id,
    currency: order.currency as Currency,
    total: toMajor(order.totalMinor),
    shipping: toMajor(order.shippingMinor),
    items: order.lines.map((l) => {
      const p = products.get(l.productId);
      return {
        quantity: l.quantity,
        product: {
          id: l.productId,
          name: l.productName,
          category: p?.category.slug ?? 'unknown',
          ...(p ? { brand: p.brand.name, url_path: productUrlPath(p) } : {}),
          price: toMajor(l.listPriceMinor),
          ...(l.unitPriceMinor !== l.listPriceMinor ? { discount_price: toMajor(l.unitPriceMinor) } : {}),
        },
      };
    }),
  };
}

/** A server-side action whose event the next page tracks (what the `flash` cookie holds). */
export type FlashEntry =
  | { k: 'add_to_cart' | 'remove_from_cart'; p: string; q: number; c: string }
  | { k: 'wishlist_toggle'; p: string; a: 'add' | 'remove' }
  | { k: 'purchase'; o: string }
  | { k: 'sign_up' | 'login'; m: 'email' | 'google' }
  | { k: 'notice'; t: string };

const MAX_FLASH = 8;
const ID = /^[\w-]{1,64}$/;

/** The entries of a `flash` cookie; anything malformed is dropped (a cookie is client input). */
export function parseFlash(cookie: string | undefined): FlashEntry[] {
  if (!cookie) return [];
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cookie, 'base64url').toString('utf8'));
  } catch {
    return [];
  }
  if (!Array.isArray(value)) return [];
  return value.slice(0, MAX_FLASH).filter((e): e is FlashEntry => {
    if (typeof e !== 'object' || e === null) return false;
    switch (e.k) {
      case 'add_to_cart':
      case 'remove_from_cart':
        return ID.test(e.p) && ID.test(e.c) && Number.isInteger(e.q) && e.q >= 1 && e.q <= 999;
      case 'wishlist_toggle':
        return ID.test(e.p) && (e.a === 'add' || e.a === 'remove');
      case 'purchase':
        return ID.test(e.o);
      case 'sign_up':
      case 'login':
        return e.m === 'email' || e.m === 'google';
      case 'notice':
        return typeof e.t === 'string' && e.t.length <= 300;
      default:
        return false;
    }
  });
}

export const serializeFlash = (entries: FlashEntry[]) =>
  Buffer.from(JSON.stringify(entries.slice(-MAX_FLASH))).toString('base64url');
