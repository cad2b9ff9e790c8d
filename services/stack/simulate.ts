/**
 * Synthetic shoppers sent through the real ingest API (`clickstream simulate`): the tracker's wire
 * format (`POST /clickstream` `{ sent_at, events }`, `Authorization: Bearer <ID token>` once signed
 * in), the shop's catalogue (services/storefront/seed.ts) with a Zipf-like popularity skew, funnel
 * drop-offs (page_view → product_view → add_to_cart → begin_checkout → purchase), guests and
 * signed-in users, repeat visitors, and sessions spread over the last D days. Backdated events are
 * sent as a tracker's offline queue sends them: `sent_at` is the time of sending, the events are
 * older (ingest keeps each event's offset from `sent_at`, and refuses events older than 30 days).
 *
 * Deterministic: the plan (clients, sessions, events, event_ids, order ids) follows from `seed`
 * and the injected clock only. The same seed sends the same event_ids: a second run with it is a
 * re-delivery the warehouse deduplicates — use another seed for more traffic.
 */

import { readFile } from 'node:fs/promises';
import { trackedEventModels } from '../../generated/tracker/api.ts';
import type { EventName } from '../../generated/types/events.ts';
import type { Config } from '../config.ts';
import { createTokenIssuer, identityKeyFiles, signingKeyFromPem, type TokenIssuer } from '../identity/tokens.ts';
import { prng } from '../random.ts';
import { SEED_BRANDS, seedProducts } from '../storefront/seed.ts';
import { localIssuerOf } from '../storefront/server.ts';

/**
 * The local identity provider's signer (the key in <DATA_DIR>/identity that `clickstream start`
 * made), or undefined with Cognito or without a key — it never creates a key the ingest does not know.
 */
export async function localTokenIssuer(
  config: Pick<Config, 'DATA_DIR' | 'COGNITO_USER_POOL_ID' | 'COGNITO_CLIENT_ID' | 'JWT_ISSUER' | 'STOREFRONT_PORT'>,
  now: () => Date,
): Promise<TokenIssuer | undefined> {
  if (config.COGNITO_USER_POOL_ID && config.COGNITO_CLIENT_ID) return undefined;
  const pem = await readFile(identityKeyFiles(config.DATA_DIR).privateKeyFile, 'utf8').catch(() => undefined);
  if (pem === undefined) return undefined;
  return createTokenIssuer({ key: signingKeyFromPem(pem), ...localIssuerOf(config), now });
}

export interface SimulateOptions {
  /** The ingest endpoint, e.g. http://127.0.0.1:8080/clickstream. */
  target: string;
  sessions: number;
  /** Sessions start over the last `days` days (1–29). */
  days: number;
  /** Sessions started per second at most; 0 = as fast as the ingest answers. */
  rate: number;
  seed: number;
  /** The clock: `sent_at` and the end of the simulated period. */
  now: () => Date;
  /** Signs the ID tokens of signed-in users (the local identity provider's issuer); none → all guests. */
  issueToken?: TokenIssuer;
  /** Origin of the pages the events say they were on (the shop). */
  shopOrigin: string;
  /** Sessions in flight at once. */
  concurrency?: number;
  onProgress?: (done: number, total: number, accepted: number) => void;
  /** Waits (the 429 Retry-After; tests may shorten it). */
  sleep?: (ms: number) => Promise<void>;
}

export interface SimulateSummary {
  target: string;
  seed: number;
  days: number;
  sessions: number;
  /** Distinct client_ids; `repeat_clients` of them came back for more than one session. */
  clients: number;
  repeat_clients: number;
  signed_in_sessions: number;
  users: number;
  requests: number;
  events_sent: number;
  accepted: number;
  rejected: number;
  events_by_name: Record<string, number>;
  purchases: number;
  revenue: number;
  /** The event-time range the sessions cover. */
  first_event_at: string;
  last_event_at: string;
  duration_ms: number;
  events_per_second: number;
}

/** A UUID v4 from the PRNG (what the tracker's crypto.randomUUID gives, reproducibly). */
function uuid(rand: () => number): string {
  const hex = Array.from({ length: 32 }, () => Math.floor(rand() * 16).toString(16));
  hex[12] = '4';
  hex[16] = ((Number.parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  const h = hex.join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

const USER_AGENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36',
  'Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0',
];
const REFERRERS = ['https://www.google.com/', 'https://duckduckgo.com/', 'https://www.instagram.com/', ''];
const PAYMENT_METHODS = ['card', 'card', 'card', 'paypal', 'wallet'] as const;

const MAX_DAYS = 29;
const MAX_EVENTS_PER_REQUEST = 20;

interface Client {
  id: string;
  ua: string;
  /** Set for a registered user. */
  user?: { sub: string; email: string };
  sessions: number;
}

interface WireEvent {
  event_name: EventName;
  event_version: number;
  event_id: string;
  event_timestamp: string;
  client_id: string;
  session_id: string;
  is_first_visit: boolean;
  page: { url: string; referrer?: string };
  properties: Record<string, unknown>;
}

interface PlannedSession {
  client: Client;
  /** Events before the login (guest) and from it on (signed in). */
  guest: WireEvent[];
  signedIn: WireEvent[];
  revenue: number;
  purchased: boolean;
}

type SeedProduct = ReturnType<typeof seedProducts>[number];

const BRAND_NAMES = new Map<string, string>(SEED_BRANDS.map((b) => [b.slug, b.name]));
const major = (minor: number) => Math.round(minor) / 100;

function eventProduct(p: SeedProduct) {
  return {
    id: p.id,
    name: p.name,
    category: p.category,
    brand: BRAND_NAMES.get(p.brand) ?? p.brand,
    price: major(p.priceMinor),
    ...(p.discountPriceMinor !== null ? { discount_price: major(p.discountPriceMinor) } : {}),
    url_path: `/p/${p.slug}`,
  };
}

/** The whole run, planned up front from the seed (sending does not change it). */
export function planSessions(opts: Pick<SimulateOptions, 'sessions' | 'days' | 'seed' | 'shopOrigin'>, end: Date) {
  const rand = prng(opts.seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  // Popularity: a seeded ranking of the catalogue, weights 1/rank (a Zipf-like long tail).
  const products = seedProducts()
    .map((p) => ({ p, key: rand() }))
    .sort((a, b) => a.key - b.key)
    .map((x) => x.p);
  const weights = products.map((_, i) => 1 / (i + 1));
  const totalWeight = weights.reduce((a, b) => a + b, 0);
  const popular = (): SeedProduct => {
    let r = rand() * totalWeight;
    for (let i = 0; i < products.length; i++) {
      r -= weights[i]!;
      if (r <= 0) return products[i]!;
    }
    return products[products.length - 1]!;
  };
  const categories = [...new Set(products.map((p) => p.category))].sort();

  const days = Math.min(Math.max(opts.days, 1), MAX_DAYS);
  const endMs = end.getTime();
  // Sessions start in [end - days, end - 1 h): each ends (≤ ~40 min) before `end`, never after sent_at.
  const startMs = endMs - days * 86_400_000;
  const starts = Array.from({ length: opts.sessions }, () => startMs + rand() * (days * 86_400_000 - 3_600_000)).sort(
    (a, b) => a - b,
  );
  const clients: Client[] = [];
  const planned: PlannedSession[] = [];
  let orderNo = 0;
  for (const start of starts) {
    // Repeat visitors: about a third of sessions come from a client seen before.
    const client: Client =
      clients.length > 0 && rand() < 0.35
        ? pick(clients)
        : (() => {
            const id = uuid(rand);
            const c: Client = {
              id,
              ua: pick(USER_AGENTS),
              ...(rand() < 0.4
                ? { user: { sub: uuid(rand), email: `shopper-${clients.length + 1}@example.com` } }
                : {}),
              sessions: 0,
            };
            clients.push(c);
            return c;
          })();
    const firstVisit = client.sessions === 0;
    client.sessions++;
    const sessionId = uuid(rand);
    const referrer = pick(REFERRERS);
    let t = start;
    let n = 0;
    let signedIn = false;
    const guest: WireEvent[] = [];
    const after: WireEvent[] = [];
    const emit = (name: EventName, path: string, properties: Record<string, unknown>) => {
      const e: WireEvent = {
        event_name: name,
        event_version: trackedEventModels[name],
        event_id: uuid(rand),
        event_timestamp: new Date(Math.round(t)).toISOString(),
        client_id: client.id,
        session_id: sessionId,
        is_first_visit: firstVisit && n === 0,
        page: { url: `${opts.shopOrigin}${path}`, ...(n === 0 && referrer ? { referrer } : {}) },
        properties,
      };
      n++;
      (signedIn ? after : guest).push(e);
      t += 200 + rand() * 400;
    };
    const think = () => {
      t += 5_000 + rand() * 85_000;
    };

    // Landing: home, a category, or straight on a product from a search engine.
    const landing = rand();
    const viewed: SeedProduct[] = [];
    if (landing < 0.5) {
      emit('page_view', '/', { page_type: 'home' });
      emit('product_list_view', '/', {
        list_id: 'home:featured',
        products: products.slice(0, 6).map(eventProduct),
      });
    } else if (landing < 0.8) {
      const category = pick(categories);
      emit('page_view', `/c/${category}`, { page_type: 'category' });
      emit('product_list_view', `/c/${category}`, {
        list_id: `category:${category}`,
        products: products.filter((p) => p.category === category).map(eventProduct),
      });
    } else {
      const p = popular();
      emit('page_view', `/p/${p.slug}`, { page_type: 'product' });
      emit('product_view', `/p/${p.slug}`, { product: eventProduct(p) });
      viewed.push(p);
    }
    // A registered user signs in in most of their sessions.
    if (client.user && rand() < 0.75) {
      think();
      emit('page_view', '/login', { page_type: 'account' });
      signedIn = true;
      emit('login', '/', { method: 'email' });
    }
    // Browsing: a few product pages (geometric, mean ≈ 2); a third of sessions bounce here.
    if (rand() > 0.3 || viewed.length) {
      while (viewed.length < 8 && rand() < 0.6) {
        think();
        const p = popular();
        emit('page_view', `/p/${p.slug}`, { page_type: 'product' });
        emit('product_view', `/p/${p.slug}`, { product: eventProduct(p) });
        viewed.push(p);
      }
    }
    // Funnel: cart → checkout → purchase, with drop-offs at each step.
    const cart: { p: SeedProduct; quantity: number }[] = [];
    for (const p of viewed) {
      if (rand() < 0.3 && !cart.some((l) => l.p.id === p.id)) {
        think();
        const quantity = rand() < 0.85 ? 1 : 2;
        emit('page_view', '/cart', { page_type: 'cart' });
        emit('add_to_cart', '/cart', { product: eventProduct(p), quantity });
        cart.push({ p, quantity });
      }
    }
    let revenue = 0;
    let purchased = false;
    if (cart.length && rand() < 0.55) {
      think();
      const items = cart.map((l) => ({ product: eventProduct(l.p), quantity: l.quantity }));
      const total = major(cart.reduce((s, l) => s + (l.p.discountPriceMinor ?? l.p.priceMinor) * l.quantity, 0));
      emit('page_view', '/checkout', { page_type: 'checkout' });
      emit('begin_checkout', '/checkout', { items, total, currency: 'USD' });
      if (rand() < 0.65) {
        think();
        orderNo++;
        emit('page_view', '/checkout', { page_type: 'checkout' });
        emit('purchase', '/checkout', {
          order: { order_id: `SIM-${opts.seed}-${String(orderNo).padStart(5, '0')}`, items, total, currency: 'USD' },
          payment_method: pick(PAYMENT_METHODS),
        });
        revenue = total;
        purchased = true;
      }
    }
    planned.push({ client, guest, signedIn: after, revenue, purchased });
  }
  return { planned, clients };
}

/** Runs the simulation and says what it sent and what the ingest accepted. */
export async function simulate(opts: SimulateOptions): Promise<SimulateSummary> {
  const began = performance.now();
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const { planned, clients } = planSessions(opts, opts.now());
  const byName: Record<string, number> = {};
  let requests = 0;
  let sent = 0;
  let accepted = 0;
  let rejected = 0;
  let done = 0;

  const post = async (events: WireEvent[], ua: string, token?: string): Promise<void> => {
    for (let i = 0; i < events.length; i += MAX_EVENTS_PER_REQUEST) {
      const batch = events.slice(i, i + MAX_EVENTS_PER_REQUEST);
      const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': ua };
      if (token) headers.authorization = `Bearer ${token}`;
      // The tracker's retry: the same events (same event_ids) until the ingest stores them.
      for (let attempt = 0; ; attempt++) {
        const body = JSON.stringify({ sent_at: opts.now().toISOString(), events: batch });
        let res: Response | undefined;
        try {
          res = await fetch(opts.target, { method: 'POST', headers, body });
        } catch (err) {
          if (attempt >= 5) {
            const cause = (err as Error & { cause?: { code?: string } }).cause?.code;
            const why =
              cause === 'ECONNREFUSED'
                ? 'connection refused — is `npm start` (or `ingest serve`) running?'
                : (err as Error).message;
            throw new Error(`${opts.target}: ${why} (${accepted} events accepted before this)`);
          }
        }
        requests++;
        if (res?.ok) {
          const answer = (await res.json()) as { accepted: number; rejected: unknown[]; rejected_count?: number };
          sent += batch.length;
          accepted += answer.accepted;
          rejected += answer.rejected_count ?? answer.rejected.length;
          for (const e of batch) byName[e.event_name] = (byName[e.event_name] ?? 0) + 1;
          break;
        }
        const status = res?.status ?? 0;
        const retryable = status === 0 || status === 429 || status >= 500;
        if (!retryable || attempt >= 5) {
          const text = res ? (await res.text()).slice(0, 300) : 'no answer';
          throw new Error(`${opts.target} answered ${status}: ${text}`);
        }
        const retryAfter = Number(res?.headers.get('retry-after') ?? '');
        await res?.body?.cancel();
        await sleep(Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : 250 * 2 ** attempt);
      }
    }
  };

  const runSession = async (s: PlannedSession) => {
    await post(s.guest, s.client.ua);
    if (s.signedIn.length) {
      const user = s.client.user!;
      const token = opts.issueToken?.({ sub: user.sub, username: user.sub, email: user.email }).token;
      await post(s.signedIn, s.client.ua, token);
    }
    done++;
    opts.onProgress?.(done, planned.length, accepted);
  };

  const concurrency = Math.max(1, opts.concurrency ?? 8);
  let next = 0;
  const startedAt = performance.now();
  const worker = async () => {
    while (next < planned.length) {
      const i = next++;
      if (opts.rate > 0) {
        const due = startedAt + (i / opts.rate) * 1000;
        const wait = due - performance.now();
        if (wait > 0) await sleep(wait);
      }
      await runSession(planned[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, planned.length) }, worker));

  const all = planned.flatMap((s) => [...s.guest, ...s.signedIn]);
  const times = all.map((e) => e.event_timestamp).sort();
  const durationMs = Math.round(performance.now() - began);
  const round2 = (n: number) => Math.round(n * 100) / 100;
  return {
    target: opts.target,
    seed: opts.seed,
    days: Math.min(Math.max(opts.days, 1), MAX_DAYS),
    sessions: planned.length,
    clients: clients.length,
    repeat_clients: clients.filter((c) => c.sessions > 1).length,
    signed_in_sessions: planned.filter((s) => s.signedIn.length > 0).length,
    users: new Set(planned.filter((s) => s.signedIn.length > 0).map((s) => s.client.user!.sub)).size,
    requests,
    events_sent: sent,
    accepted,
    rejected,
    events_by_name: Object.fromEntries(Object.entries(byName).sort(([a], [b]) => a.localeCompare(b))),
    purchases: planned.filter((s) => s.purchased).length,
    revenue: round2(planned.reduce((sum, s) => sum + s.revenue, 0)),
    first_event_at: times[0] ?? '',
    last_event_at: times[times.length - 1] ?? '',
    duration_ms: durationMs,
    events_per_second: durationMs ? Math.round((sent / durationMs) * 1000) : sent,
  };
}
