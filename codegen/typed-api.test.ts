/**
 * The generated tracker API: each function sends its event's newest model, and a wrong or
 * missing property is a compile error. The `@ts-expect-error` lines are checked by
 * `npm run typecheck` (tsc fails if any of them stops being an error).
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createEventApi, type TrackFn, trackedEventModels } from '../generated/tracker/api.ts';

function recorder() {
  const calls: [string, number, unknown][] = [];
  const track: TrackFn = (name, version, properties) => {
    calls.push([name, version, properties]);
  };
  return { calls, api: createEventApi(track) };
}

const product = { id: 'SKU-1', name: 'Sock', category: 'accessories', price: 4 };

describe('generated tracker API', () => {
  it('has one function per event folder, each sending name, newest model and properties', () => {
    const { calls, api } = recorder();
    api.addToCart({ product, quantity: 2 });
    api.logout();
    api.purchase({
      order: { order_id: 'o-1', items: [{ product, quantity: 1 }], total: 4, currency: 'EUR' },
      payment_method: 'card',
    });
    expect(calls).toEqual([
      ['add_to_cart', 1, { product, quantity: 2 }],
      ['logout', 1, {}],
      ['purchase', 1, expect.objectContaining({ payment_method: 'card' })],
    ]);
    expect(Object.keys(api).length).toBe(Object.keys(trackedEventModels).length);
    const folders = readdirSync(path.resolve(import.meta.dirname, '..', 'schemas', 'events'));
    expect(Object.keys(trackedEventModels).sort()).toEqual(folders.sort());
  });

  it('rejects wrong properties at compile time (the run-time call still forwards them: ingest validates)', () => {
    const { calls, api } = recorder();
    // @ts-expect-error quantity is required
    api.addToCart({ product });
    // @ts-expect-error quantity must be a number
    api.addToCart({ product, quantity: '2' });
    // @ts-expect-error unknown property on a closed schema
    api.search({ query: 'boots', results_count: 1, sort: 'asc' });
    // @ts-expect-error enum value outside the schema
    api.wishlistToggle({ product, action: 'toggle' });
    // @ts-expect-error the product shape requires a category
    api.productView({ product: { id: 'a', name: 'b', price: 1 } });
    expect(calls.map(([name]) => name)).toEqual([
      'add_to_cart',
      'add_to_cart',
      'search',
      'wishlist_toggle',
      'product_view',
    ]);
  });
});
