/**
 * Valid wire events of every model, for tests and benchmarks. Typed against the generated
 * EventPropertiesMap, so a schema change that breaks a sample fails the typecheck.
 */
import { randomUUID } from 'node:crypto';
import type { EventName, EventPropertiesMap, Product } from '../../generated/types/events.ts';

const product: Product = {
  id: 'SKU-10442',
  name: 'Trail Runner 2 — waterproof',
  category: 'shoes',
  brand: 'Northpeak',
  price: 129.9,
  discount_price: 99.9,
  url_path: '/products/sku-10442-trail-runner-2',
};

export const SAMPLE_PROPERTIES: { [N in EventName]: EventPropertiesMap[N][1] } = {
  add_to_cart: { product, quantity: 2, cart_id: 'cart-77' },
  begin_checkout: { items: [{ product, quantity: 2 }], total: 199.8, currency: 'EUR' },
  click: { element_id: 'hero-cta', element_text: 'Shop now', target_url: 'https://shop.example/sale' },
  login: { method: 'email' },
  logout: { reason: 'user' },
  page_view: { page_type: 'product', load_time_ms: 412 },
  product_list_view: { list_id: 'cat-shoes', list_name: 'Shoes', products: [product], page_number: 1 },
  product_view: { product, list_id: 'cat-shoes' },
  purchase: {
    order: { order_id: 'ORD-2026-000123', items: [{ product, quantity: 2 }], total: 199.8, currency: 'EUR' },
    payment_method: 'card',
  },
  remove_from_cart: { product, quantity: 1 },
  search: { query: 'trail shoes', results_count: 42 },
  share_click: { product, channel: 'copy_link' },
  sign_up: { method: 'google' },
  wishlist_toggle: { product, action: 'add' },
};

export const EVENT_NAMES = Object.keys(SAMPLE_PROPERTIES) as EventName[];

/** One valid wire event (a fresh event_id each call) with `overrides` merged over the top level. */
export function sampleEvent(
  name: EventName = 'product_view',
  overrides: Record<string, unknown> = {},
  at: Date = new Date(),
): Record<string, unknown> {
  return {
    event_name: name,
    event_version: 1,
    event_id: randomUUID(),
    event_timestamp: at.toISOString(),
    client_id: 'c-5f0e2a9c-8d7b-4c1e-9a55-1b2c3d4e5f60',
    session_id: 's-1732590000000-k3j9',
    is_first_visit: false,
    page: {
      url: 'https://shop.example/products/sku-10442-trail-runner-2?utm_source=newsletter',
      referrer: 'https://shop.example/c/shoes',
      title: 'Trail Runner 2 — Northpeak',
    },
    properties: structuredClone(SAMPLE_PROPERTIES[name]),
    ...overrides,
  };
}

/** `{ sent_at, events }` with `count` events cycling through every model. */
export function sampleBatch(count = 25, at: Date = new Date()): { sent_at: string; events: Record<string, unknown>[] } {
  return {
    sent_at: at.toISOString(),
    events: Array.from({ length: count }, (_, i) => sampleEvent(EVENT_NAMES[i % EVENT_NAMES.length], {}, at)),
  };
}
