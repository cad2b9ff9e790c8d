/**
 * A small, known clickstream for the dashboard's tests: six sessions (one of them a bot's) and one
 * in the previous period, written to a file lake as ingest writes it, plus quarantine lines from
 * ingest and lines the ETL will refuse. Every figure the tests assert follows from the list
 * below by hand (see dashboard.test.ts); nothing is computed from the code under test.
 *
 *   S1  C1 guest  desktop Chrome  2026-11-18 10:00–10:06Z  home → view P1 → cart P1 → checkout → purchase (100)
 *   S2  C2 login  mobile Safari   2026-11-18 11:00–11:31Z  category → cart P2 → view P1 → cart P1
 *   S3  C1 guest  desktop         2026-11-19 09:00Z        home (bounce)
 *   S4  C3 bot    Googlebot       2026-11-19 08:00–08:01Z  home → view P1
 *   S5  C4 guest  desktop         2026-11-19 14:00–15:32Z  view P2 → home → cart P2 (90 min later) → checkout → purchase (50)
 *   S6  C5 guest  desktop         2026-11-18 23:30Z / 2026-11-19 00:30Z   product page → view P3 (around midnight)
 *   S0  C6 guest  desktop         2026-11-10 12:00Z        home (previous period)
 */
import { randomUUID } from 'node:crypto';
import { ulid } from 'ulid';
import { writeSampleLake } from '../etl/sample-lake.ts';
import { describeUserAgent } from '../ingest/user-agent.ts';
import { encodeJsonl } from '../lake/jsonl.ts';
import { objectKey, type RawStore } from '../lake/raw-store.ts';

export const FIXTURE_NOW = new Date('2026-11-20T12:00:00Z');

export const UA = {
  chrome:
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
  iphone:
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
  googlebot: 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
};

export const PRODUCTS = {
  P1: { id: 'P1', name: 'Trail Runner', category: 'shoes', brand: 'Acme', price: 40 },
  P2: { id: 'P2', name: 'City Sneaker', category: 'shoes', brand: 'Bolt', price: 50, discount_price: 45 },
  P3: { id: 'P3', name: 'Day Pack', category: 'bags', brand: 'Acme', price: 30 },
};

interface SessionSpec {
  session: string;
  client: string;
  loggedIn?: boolean;
  ua: string;
  landing: string;
  referrer?: string;
  firstVisit?: boolean;
  events: [at: string, name: string, properties: Record<string, unknown>][];
}

const pv = (page_type: string) => ({ page_type });
const view = (p: keyof typeof PRODUCTS) => ({ product: PRODUCTS[p] });
const cart = (p: keyof typeof PRODUCTS) => ({ product: PRODUCTS[p], quantity: 1 });
const checkout = (total: number) => ({ items: [{ product: PRODUCTS.P1, quantity: 1 }], total, currency: 'USD' });
const purchase = (orderId: string, total: number, items: { product: unknown; quantity: number }[]) => ({
  order: { order_id: orderId, items, total, currency: 'USD' },
  payment_method: 'card',
});

export const SESSIONS: SessionSpec[] = [
  {
    session: 'S1',
    client: 'C1',
    ua: UA.chrome,
    landing: 'https://shop.example/?utm_source=newsletter',
    referrer: 'https://news.example/today',
    firstVisit: true,
    events: [
      ['2026-11-18T10:00:00.000Z', 'page_view', pv('home')],
      ['2026-11-18T10:01:00.000Z', 'product_view', view('P1')],
      ['2026-11-18T10:02:00.000Z', 'add_to_cart', cart('P1')],
      ['2026-11-18T10:05:00.000Z', 'begin_checkout', checkout(100)],
      ['2026-11-18T10:06:00.000Z', 'purchase', purchase('O-1', 100, [{ product: PRODUCTS.P1, quantity: 2 }])],
    ],
  },
  {
    session: 'S2',
    client: 'C2',
    loggedIn: true,
    ua: UA.iphone,
    landing: 'https://shop.example/c/shoes',
    referrer: 'https://www.google.com/',
    firstVisit: true,
    events: [
      ['2026-11-18T11:00:00.000Z', 'page_view', pv('category')],
      ['2026-11-18T11:01:00.000Z', 'add_to_cart', cart('P2')],
      ['2026-11-18T11:30:00.000Z', 'product_view', view('P1')],
      ['2026-11-18T11:31:00.000Z', 'add_to_cart', cart('P1')],
    ],
  },
  {
    session: 'S3',
    client: 'C1',
    ua: UA.chrome,
    landing: 'https://shop.example/',
    events: [['2026-11-19T09:00:00.000Z', 'page_view', pv('home')]],
  },
  {
    session: 'S4',
    client: 'C3',
    ua: UA.googlebot,
    landing: 'https://shop.example/',
    firstVisit: true,
    events: [
      ['2026-11-19T08:00:00.000Z', 'page_view', pv('home')],
      ['2026-11-19T08:01:00.000Z', 'product_view', view('P1')],
    ],
  },
  {
    session: 'S5',
    client: 'C4',
    ua: UA.chrome,
    landing: 'https://shop.example/p/P2',
    firstVisit: true,
    events: [
      ['2026-11-19T14:00:00.000Z', 'product_view', view('P2')],
      ['2026-11-19T14:10:00.000Z', 'page_view', pv('home')],
      ['2026-11-19T15:30:00.000Z', 'add_to_cart', cart('P2')],
      ['2026-11-19T15:31:00.000Z', 'begin_checkout', checkout(50)],
      ['2026-11-19T15:32:00.000Z', 'purchase', purchase('O-2', 50, [{ product: PRODUCTS.P2, quantity: 1 }])],
    ],
  },
  {
    session: 'S6',
    client: 'C5',
    ua: UA.chrome,
    landing: 'https://shop.example/p/P3',
    firstVisit: true,
    events: [
      ['2026-11-18T23:30:00.000Z', 'page_view', pv('product')],
      ['2026-11-19T00:30:00.000Z', 'product_view', view('P3')],
    ],
  },
  {
    session: 'S0',
    client: 'C6',
    ua: UA.chrome,
    landing: 'https://shop.example/',
    firstVisit: true,
    events: [['2026-11-10T12:00:00.000Z', 'page_view', pv('home')]],
  },
];

/** The fixture's sessions as enriched lake lines, in receive order (received 1 s after each event). */
export function fixtureEvents(): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const s of SESSIONS) {
    s.events.forEach(([at, name, properties], i) => {
      const receivedAt = new Date(Date.parse(at) + 1000).toISOString();
      out.push({
        event_name: name,
        event_version: 1,
        event_id: randomUUID(),
        event_timestamp: at,
        client_id: s.client,
        session_id: s.session,
        is_first_visit: i === 0 && s.firstVisit === true,
        page:
          i === 0
            ? { url: s.landing, ...(s.referrer ? { referrer: s.referrer } : {}) }
            : { url: 'https://shop.example/p/P1' },
        properties,
        received_at: receivedAt,
        client_event_timestamp: at,
        user_id: s.loggedIn ? `u-${s.client}` : null,
        user_login_state: s.loggedIn ? 'logged_in' : 'guest',
        identity_source: s.loggedIn ? 'cognito' : 'anonymous',
        user_agent: s.ua,
        ip: '203.0.113.0',
        ...describeUserAgent(s.ua),
      });
    });
  }
  return out.sort((a, b) => (String(a.received_at) < String(b.received_at) ? -1 : 1));
}

/** Writes the fixture: event objects (with two lines the ETL will quarantine) and an ingest quarantine object. */
export async function writeFixtureLake(store: RawStore, extra: Record<string, unknown>[] = []): Promise<void> {
  const events = [...fixtureEvents(), ...extra].sort((a, b) =>
    String(a.received_at) < String(b.received_at) ? -1 : 1,
  );
  await writeSampleLake(store, events, 4);
  const at = new Date('2026-11-19T16:00:00Z');
  const badPageView: Record<string, unknown> = { ...fixtureEvents()[0], event_id: randomUUID(), properties: {} };
  badPageView.received_at = at.toISOString();
  // Lines the ETL refuses: a page_view without page_type, and a line that is not JSON.
  const refused = `${JSON.stringify(badPageView)}\n{not json\n`;
  const { gzipSync } = await import('node:zlib');
  await store.put(objectKey('events', at, ulid(at.getTime())), gzipSync(refused));
  const received = '2026-11-19T12:00:00.000Z';
  const rejected = (raw: Record<string, unknown>, rule: string, path: string) => ({
    raw,
    errors: [{ path, rule, message: `${rule} at ${path}` }],
    received_at: received,
  });
  await store.put(
    objectKey('quarantine', new Date(received), ulid(Date.parse(received))),
    encodeJsonl([
      rejected(
        { event_name: 'add_to_cart', event_version: 1, properties: { product: PRODUCTS.P1 } },
        'required',
        '/properties/quantity',
      ),
      rejected(
        { event_name: 'add_to_cart', event_version: 1, properties: { product: PRODUCTS.P2 } },
        'required',
        '/properties/quantity',
      ),
      rejected({ event_name: 'coupon_apply', event_version: 1, properties: {} }, 'unknown_event', '/event_name'),
    ]),
  );
}
