/**
 * The generated ETL mappers turn each valid fixture event into the warehouse row the dashboard
 * expects: the seed's 16 columns filled where the event has the data, null where it has not.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { clickstreamEventsColumns } from '../generated/db/schema.ts';
import { mapperFor } from '../generated/mappers/clickstream_events.ts';

const SCHEMAS = path.resolve(import.meta.dirname, '..', 'schemas');

const enrichment = {
  received_at: '2026-11-20T10:15:31.000Z',
  client_event_timestamp: '2026-11-20T10:15:30.123Z',
  user_id: 'cognito-sub-1',
  user_login_state: 'logged_in',
  identity_source: 'cognito',
};

function fixture(event: string, name: string) {
  const file = path.join(SCHEMAS, 'events', event, 'fixtures', 'valid', `${name}.json`);
  return { ...JSON.parse(readFileSync(file, 'utf8')), ...enrichment };
}

function map(e: { event_name: string; event_version: number }) {
  const mapper = mapperFor(e.event_name, e.event_version);
  if (!mapper) throw new Error(`no mapper for ${e.event_name}`);
  return mapper(e);
}

describe('clickstream_events mappers', () => {
  it('add_to_cart fills the envelope, identity, product context and quantity', () => {
    const e = fixture('add_to_cart', 'one-unit');
    // Every column this event fills, by value; not the whole row, so a column added to the table
    // later (README, "Adding an event type") keeps this test green — the last test checks that
    // every row has exactly the table's columns.
    expect(map(e)).toMatchObject({
      event_id: e.event_id,
      event_timestamp: '2026-11-20T10:15:30.123Z',
      event_name: 'add_to_cart',
      event_version: 1,
      user_id: 'cognito-sub-1',
      user_login_state: 'logged_in',
      identity_source: 'cognito',
      client_id: 'c-4b1e9f',
      session_id: 's-20261120-01',
      is_first_visit: false,
      context_product_id: 'SKU-1001',
      context_product_name: 'Trail Runner 2',
      context_product_category: 'shoes',
      context_product_brand: 'Acme',
      context_product_price: 89.9,
      context_product_discount_price: 74.5,
      context_product_url_path: '/p/trail-runner-2',
      received_at: '2026-11-20T10:15:31.000Z',
      page_url: 'https://shop.example/p/trail-runner-2',
      page_referrer: 'https://www.google.com/',
      order_id: null,
      order_total: null,
      currency: null,
      quantity: 1,
      properties: e.properties,
      is_bot: false,
      device_class: null,
      browser: null,
    });
  });

  it('optional product fields and a missing is_first_visit become null and the column default', () => {
    const e = fixture('product_view', 'minimal-product');
    delete e.is_first_visit;
    delete e.page.referrer;
    const row = map(e);
    expect(row).toMatchObject({
      context_product_id: 'SKU-7',
      context_product_brand: null,
      context_product_discount_price: null,
      context_product_url_path: null,
      is_first_visit: false,
      page_referrer: null,
    });
  });

  it('purchase fills order id, total and currency from the order', () => {
    const row = map(fixture('purchase', 'with-coupon'));
    expect(row).toMatchObject({
      order_id: 'ORD-2026-000123',
      order_total: 183.8,
      currency: 'EUR',
      context_product_id: null,
    });
  });

  it('begin_checkout takes total and currency from its own properties', () => {
    const row = map(fixture('begin_checkout', 'one-item-eur'));
    expect(row).toMatchObject({ order_id: null, order_total: 74.5, currency: 'EUR' });
  });

  it('guest events keep a null user and the guest login state', () => {
    const e = {
      ...fixture('page_view', 'home'),
      user_id: null,
      user_login_state: 'guest',
      identity_source: 'anonymous',
    };
    expect(map(e)).toMatchObject({
      user_id: null,
      user_login_state: 'guest',
      identity_source: 'anonymous',
      is_first_visit: true,
    });
  });

  it('every valid fixture of every event maps to a row with exactly the table columns, none undefined', () => {
    for (const event of readdirSync(path.join(SCHEMAS, 'events'))) {
      for (const f of readdirSync(path.join(SCHEMAS, 'events', event, 'fixtures', 'valid'))) {
        const row = map(fixture(event, f.replace(/\.json$/, ''))) as unknown as Record<string, unknown>;
        expect(Object.keys(row).sort()).toEqual([...clickstreamEventsColumns].sort());
        expect(Object.entries(row).filter(([, v]) => v === undefined)).toEqual([]);
      }
    }
  });

  it('has no mapper for unknown versions or prototype keys', () => {
    expect(mapperFor('add_to_cart', 9)).toBeUndefined();
    expect(mapperFor('__proto__', 1)).toBeUndefined();
  });
});
