import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createEventApi, trackedEventModels } from '../../generated/tracker/api.ts';
import { createTracker, type TrackerConfig, type TrackerEnv } from './core.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const product = { id: 'SKU-1', name: 'Trail Runner', category: 'shoes', price: 99 };

class MemoryStorage {
  readonly items = new Map<string, string>();
  getItem = (k: string) => this.items.get(k) ?? null;
  setItem = (k: string, v: string) => void this.items.set(k, v);
  removeItem = (k: string) => void this.items.delete(k);
}

interface SentRequest {
  sent_at: string;
  events: Record<string, unknown>[];
  dropped?: number;
  headers: Record<string, string>;
  at: number;
}

type Reply = number | 'network-error' | { status: number; retryAfter: string };

/**
 * A fake transport (the unit under test is the core's scheduling, not HTTP): it records every
 * request and answers with the scripted replies, then 200 once the script is used up.
 */
function fakeEnv(replies: Reply[] = [], storage: MemoryStorage | undefined = new MemoryStorage()) {
  const requests: SentRequest[] = [];
  const beacons: { body: { events: { event_id: string }[] } }[] = [];
  let beaconAccepts = true;
  const env: TrackerEnv = {
    async send(_url, body, headers) {
      requests.push({ ...JSON.parse(body), headers, at: Date.now() });
      const reply = replies.shift() ?? 200;
      if (reply === 'network-error') throw new TypeError('Failed to fetch');
      return typeof reply === 'number' ? { status: reply, retryAfter: null } : reply;
    },
    beacon(_url, body) {
      if (beaconAccepts) beacons.push({ body: JSON.parse(body) });
      return beaconAccepts;
    },
    storage,
    page: () => ({ url: 'https://shop.example/p/1', title: 'Trail Runner' }),
  };
  return {
    env,
    storage,
    requests,
    beacons,
    refuseBeacons: () => {
      beaconAccepts = false;
    },
    ids: (i: number) => requests[i]!.events.map((e) => e.event_id),
  };
}

const base: TrackerConfig = { endpoint: 'https://ingest.example/clickstream', consent: 'granted' };
const queued = (storage: MemoryStorage) => JSON.parse(storage.getItem('clickstream.q') ?? '[]') as unknown[];

beforeEach(() => {
  vi.useFakeTimers({ now: new Date('2026-11-26T10:00:00Z') });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('batching', () => {
  it('sends one request as soon as batchSize events wait, each event with its own id and time', async () => {
    const f = fakeEnv();
    const t = createTracker({ ...base, batchSize: 3 }, f.env);
    t.track('add_to_cart', 1, { product, quantity: 1 });
    await vi.advanceTimersByTimeAsync(10);
    t.track('add_to_cart', 1, { product, quantity: 2 });
    await vi.advanceTimersByTimeAsync(10);
    expect(f.requests).toHaveLength(0);
    t.track('search', 1, { query: 'boots', results_count: 0 });
    await vi.advanceTimersByTimeAsync(0);

    expect(f.requests).toHaveLength(1);
    const [req] = f.requests;
    expect(req!.sent_at).toBe('2026-11-26T10:00:00.020Z');
    expect(req!.headers).toEqual({ 'content-type': 'text/plain' });
    expect(req!.events.map((e) => e.event_name)).toEqual(['add_to_cart', 'add_to_cart', 'search']);
    expect(req!.events.map((e) => e.event_timestamp)).toEqual([
      '2026-11-26T10:00:00.000Z',
      '2026-11-26T10:00:00.010Z',
      '2026-11-26T10:00:00.020Z',
    ]);
    expect(new Set(f.ids(0)).size).toBe(3);
    for (const id of f.ids(0)) expect(id).toMatch(UUID);
    expect(req!.events[1]).toMatchObject({
      event_version: 1,
      page: { url: 'https://shop.example/p/1', title: 'Trail Runner' },
      properties: { product, quantity: 2 },
    });
    expect(queued(f.storage!)).toEqual([]);
  });

  it('sends fewer than batchSize events once flushIntervalMs has passed since the first', async () => {
    const f = fakeEnv();
    const t = createTracker({ ...base, batchSize: 10, flushIntervalMs: 2000 }, f.env);
    t.track('search', 1, { query: 'a', results_count: 0 });
    await vi.advanceTimersByTimeAsync(1000);
    t.track('search', 1, { query: 'b', results_count: 0 });
    await vi.advanceTimersByTimeAsync(999);
    expect(f.requests).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(f.requests).toHaveLength(1);
    expect(f.requests[0]!.events).toHaveLength(2);
  });

  it('splits a large backlog into requests under the 64 KiB beacon budget', async () => {
    const f = fakeEnv(['network-error']);
    const t = createTracker({ ...base, batchSize: 1000, flushIntervalMs: 10 }, f.env);
    const query = 'x'.repeat(450);
    for (let i = 0; i < 300; i++) t.track('search', 1, { query, results_count: 0 });
    await vi.advanceTimersByTimeAsync(10); // fails: everything stays queued
    f.requests.length = 0;
    // The retry comes 500–1000 ms later (jitter), then one request per flushIntervalMs.
    await vi.advanceTimersByTimeAsync(2000);
    expect(f.requests.length).toBeGreaterThan(1);
    const sizes = f.requests.map((r) => Buffer.byteLength(JSON.stringify({ sent_at: r.sent_at, events: r.events })));
    for (const size of sizes) expect(size).toBeLessThanOrEqual(64 * 1024);
    expect(f.requests.flatMap((r) => r.events)).toHaveLength(300);
  });
});

describe('retry', () => {
  it('retries 5xx and network errors with exponential backoff and jitter, resending the same event_ids', async () => {
    const f = fakeEnv([503, 'network-error', 500]);
    const t = createTracker({ ...base, batchSize: 1, retryBaseMs: 1000, retryMaxMs: 60_000 }, f.env);
    t.track('search', 1, { query: 'boots', results_count: 0 });
    await vi.advanceTimersByTimeAsync(0);
    await vi.advanceTimersByTimeAsync(10_000);

    expect(f.requests).toHaveLength(4);
    const gaps = f.requests.slice(1).map((r, i) => r.at - f.requests[i]!.at);
    // Attempt n waits between half and all of base·2^(n-1).
    expect(gaps[0]).toBeGreaterThanOrEqual(500);
    expect(gaps[0]).toBeLessThanOrEqual(1000);
    expect(gaps[1]).toBeGreaterThanOrEqual(1000);
    expect(gaps[1]).toBeLessThanOrEqual(2000);
    expect(gaps[2]).toBeGreaterThanOrEqual(2000);
    expect(gaps[2]).toBeLessThanOrEqual(4000);
    for (let i = 1; i < 4; i++) expect(f.ids(i)).toEqual(f.ids(0));
    expect(queued(f.storage!)).toEqual([]);
  });

  it('caps the backoff at retryMaxMs', async () => {
    const f = fakeEnv(Array(12).fill(503));
    const t = createTracker({ ...base, batchSize: 1, retryBaseMs: 1000, retryMaxMs: 8000 }, f.env);
    t.track('search', 1, { query: 'boots', results_count: 0 });
    await vi.advanceTimersByTimeAsync(120_000);
    const gaps = f.requests.slice(1).map((r, i) => r.at - f.requests[i]!.at);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(8000);
    expect(gaps.slice(4).every((g) => g >= 4000)).toBe(true);
  });

  it('honours Retry-After of a 429, in seconds or as an HTTP date', async () => {
    const retryAt = new Date('2026-11-26T10:00:30Z').toUTCString();
    const f = fakeEnv([
      { status: 429, retryAfter: '7' },
      { status: 503, retryAfter: retryAt },
    ]);
    const t = createTracker({ ...base, batchSize: 1, retryBaseMs: 100 }, f.env);
    t.track('search', 1, { query: 'boots', results_count: 0 });
    await vi.advanceTimersByTimeAsync(6999);
    expect(f.requests).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(f.requests).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(f.requests).toHaveLength(3);
    expect(f.requests[2]!.at).toBe(Date.parse('2026-11-26T10:00:30Z'));
  });

  it.each([400, 413, 415])('never retries a %i, and reports the refused events as dropped', async (status) => {
    const f = fakeEnv([status]);
    const t = createTracker({ ...base, batchSize: 2 }, f.env);
    t.track('search', 1, { query: 'a', results_count: 0 });
    t.track('search', 1, { query: 'b', results_count: 0 });
    await vi.advanceTimersByTimeAsync(120_000);
    expect(f.requests).toHaveLength(1);
    expect(queued(f.storage!)).toEqual([]);

    t.track('search', 1, { query: 'c', results_count: 0 });
    t.track('search', 1, { query: 'd', results_count: 0 });
    await vi.advanceTimersByTimeAsync(0);
    expect(f.requests[1]!.dropped).toBe(2);
    t.track('search', 1, { query: 'e', results_count: 0 });
    t.track('search', 1, { query: 'f', results_count: 0 });
    await vi.advanceTimersByTimeAsync(0);
    expect(f.requests[2]).not.toHaveProperty('dropped');
  });

  it('sends right away when the browser comes back online (flush), even while backing off', async () => {
    const f = fakeEnv(['network-error']);
    const t = createTracker({ ...base, batchSize: 1, retryBaseMs: 60_000 }, f.env);
    t.track('search', 1, { query: 'a', results_count: 0 });
    await vi.advanceTimersByTimeAsync(1000);
    expect(f.requests).toHaveLength(1);
    t.flush();
    await vi.advanceTimersByTimeAsync(0);
    expect(f.requests).toHaveLength(2);
    expect(f.ids(1)).toEqual(f.ids(0));
  });
});

describe('offline queue', () => {
  it('keeps at most maxQueueEvents, dropping the oldest, and reports how many were dropped', async () => {
    const f = fakeEnv(Array(3).fill('network-error'));
    const t = createTracker({ ...base, batchSize: 1, maxQueueEvents: 5, retryBaseMs: 1000 }, f.env);
    for (let i = 0; i < 8; i++) t.track('search', 1, { query: `q${i}`, results_count: 0 });
    expect(queued(f.storage!)).toHaveLength(5);
    await vi.advanceTimersByTimeAsync(30_000);

    const delivered = f.requests.at(-1)!;
    expect(delivered.events.map((e) => (e.properties as { query: string }).query)).toEqual([
      'q3',
      'q4',
      'q5',
      'q6',
      'q7',
    ]);
    expect(delivered.dropped).toBe(3);
    expect(queued(f.storage!)).toEqual([]);
    t.track('search', 1, { query: 'later', results_count: 0 });
    await vi.advanceTimersByTimeAsync(0);
    expect(f.requests.at(-1)).not.toHaveProperty('dropped');
  });

  it('reports the dropped count on one request at a time, never on a beacon sent meanwhile', async () => {
    const f = fakeEnv([400]);
    const t = createTracker({ ...base, batchSize: 1 }, f.env);
    t.track('search', 1, { query: 'refused', results_count: 0 });
    await vi.advanceTimersByTimeAsync(0);
    t.track('search', 1, { query: 'in flight', results_count: 0 });
    t.track('search', 1, { query: 'beaconed', results_count: 0 });
    t.flushOnHide();
    await vi.advanceTimersByTimeAsync(0);

    expect(f.requests[1]!.dropped).toBe(1);
    expect(f.beacons).toHaveLength(1);
    expect(f.beacons[0]!.body).not.toHaveProperty('dropped');
    expect(f.storage!.getItem('clickstream.d')).toBe('0');
  });

  it('keeps the stored queue under maxQueueBytes', () => {
    const f = fakeEnv(['network-error']);
    const t = createTracker({ ...base, batchSize: 1000, maxQueueBytes: 5000 }, f.env);
    for (let i = 0; i < 40; i++) t.track('search', 1, { query: `query number ${i}`, results_count: 0 });
    const stored = f.storage!.getItem('clickstream.q')!;
    expect(stored.length).toBeLessThanOrEqual(5000);
    const kept = JSON.parse(stored) as { properties: { query: string } }[];
    expect(kept.at(-1)!.properties.query).toBe('query number 39');
    expect(Number(f.storage!.getItem('clickstream.d'))).toBe(40 - kept.length);
  });

  it('survives a reload: the next page sends what the previous one could not', async () => {
    const storage = new MemoryStorage();
    const first = fakeEnv(Array(5).fill('network-error'), storage);
    const page1 = createTracker({ ...base, batchSize: 1 }, first.env);
    page1.track('search', 1, { query: 'a', results_count: 0 });
    page1.track('search', 1, { query: 'b', results_count: 0 });
    await vi.advanceTimersByTimeAsync(100);
    const ids = (queued(storage) as { event_id: string }[]).map((e) => e.event_id);
    expect(ids).toHaveLength(2);

    const second = fakeEnv([], storage);
    createTracker({ ...base, batchSize: 1 }, second.env);
    await vi.advanceTimersByTimeAsync(0);
    expect(second.requests.flatMap((r) => r.events.map((e) => e.event_id))).toEqual(ids);
    expect(queued(storage)).toEqual([]);
  });

  it('works from memory when localStorage throws', async () => {
    const broken = new MemoryStorage();
    broken.setItem = () => {
      throw new DOMException('quota', 'QuotaExceededError');
    };
    const f = fakeEnv([], broken);
    const t = createTracker({ ...base, batchSize: 2 }, f.env);
    t.track('search', 1, { query: 'a', results_count: 0 });
    t.track('search', 1, { query: 'b', results_count: 0 });
    t.track('search', 1, { query: 'c', results_count: 0 });
    t.track('search', 1, { query: 'd', results_count: 0 });
    await vi.advanceTimersByTimeAsync(0);
    expect(f.requests.flatMap((r) => r.events)).toHaveLength(4);
    const clientIds = new Set(f.requests.flatMap((r) => r.events.map((e) => e.client_id)));
    expect(clientIds.size).toBe(1);
  });

  it('treats an unreadable stored queue as empty instead of throwing at the site', async () => {
    const storage = new MemoryStorage();
    storage.setItem('clickstream.q', '{not json');
    const f = fakeEnv([], storage);
    const t = createTracker({ ...base, batchSize: 1 }, f.env);
    expect(() => t.track('search', 1, { query: 'a', results_count: 0 })).not.toThrow();
    await vi.advanceTimersByTimeAsync(0);
    expect(f.requests.flatMap((r) => r.events)).toHaveLength(1);
  });

  it('drops an event larger than maxEventBytes at track time instead of poisoning a batch', async () => {
    const f = fakeEnv();
    const t = createTracker({ ...base, batchSize: 1, maxEventBytes: 2000 }, f.env);
    t.track('search', 1, { query: 'é'.repeat(1000), results_count: 0 });
    t.track('search', 1, { query: 'ok', results_count: 0 });
    await vi.advanceTimersByTimeAsync(0);
    expect(f.requests).toHaveLength(1);
    expect(f.requests[0]!.events).toHaveLength(1);
    expect(f.requests[0]!.dropped).toBe(1);
  });

  it('never queues an event too big for any request, whatever maxEventBytes says', async () => {
    const f = fakeEnv();
    const t = createTracker({ ...base, batchSize: 1, maxEventBytes: 1_000_000 }, f.env);
    t.track('search', 1, { query: 'x'.repeat(70_000), results_count: 0 });
    t.track('search', 1, { query: 'after it', results_count: 0 });
    await vi.advanceTimersByTimeAsync(0);
    expect(f.requests.map((r) => r.events.length)).toEqual([1]);
    expect(f.requests[0]!.dropped).toBe(1);
  });
});

describe('cost of track() with a long offline queue', () => {
  /** Counts parses and characters serialised, calling through to the real JSON. */
  function meterJson() {
    const meter = { parses: 0, stringified: 0 };
    const { parse, stringify } = JSON;
    vi.spyOn(JSON, 'parse').mockImplementation((text, reviver) => {
      meter.parses++;
      return parse(text, reviver);
    });
    vi.spyOn(JSON, 'stringify').mockImplementation((...args: Parameters<typeof stringify>) => {
      const out = stringify(...args);
      meter.stringified += out?.length ?? 0;
      return out;
    });
    return meter;
  }
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('does not parse the stored queue again while no other tab changed it, and still sees other tabs', async () => {
    const f = fakeEnv(['network-error']);
    const t = createTracker({ ...base, batchSize: 1000, retryBaseMs: 600_000 }, f.env);
    for (let i = 0; i < 200; i++) t.track('search', 1, { query: `q${i}`, results_count: 0 });
    const meter = meterJson();
    for (let i = 0; i < 100; i++) t.track('search', 1, { query: `more ${i}`, results_count: 0 });
    expect(meter.parses).toBe(0);

    // Another tab queued an event: the next write keeps it.
    const other = { ...(queued(f.storage!)[0] as object), event_id: '00000000-0000-4000-8000-0000000000aa' };
    f.storage!.setItem('clickstream.q', JSON.stringify([...queued(f.storage!), other]));
    t.track('search', 1, { query: 'after the other tab', results_count: 0 });
    const ids = (queued(f.storage!) as { event_id: string }[]).map((e) => e.event_id);
    expect(ids).toHaveLength(302);
    expect(ids.at(-2)).toBe(other.event_id);
  });

  it('drops many old events with one serialisation of the queue, not one per dropped event', () => {
    const f = fakeEnv(['network-error']);
    const t = createTracker({ ...base, batchSize: 1000, maxQueueBytes: 100_000 }, f.env);
    for (let i = 0; i < 300; i++) t.track('search', 1, { query: `query ${i}`, results_count: 0 });
    const before = f.storage!.getItem('clickstream.q')!.length;
    const meter = meterJson();
    // Half the queue's size in one event: about half the queue must go.
    t.track('search', 1, { query: 'x'.repeat(30_000), results_count: 0 });
    const after = queued(f.storage!);
    expect(f.storage!.getItem('clickstream.q')!.length).toBeLessThanOrEqual(100_000);
    expect(300 + 1 - after.length).toBeGreaterThan(100);
    expect(Number(f.storage!.getItem('clickstream.d'))).toBe(300 + 1 - after.length);
    // The event itself for the size check and once for the queue, and the reads of this test.
    expect(meter.stringified).toBeLessThan(before + 3 * 30_100);
  });
});

describe('event size at the boundary', () => {
  /** Bytes of a sent event's JSON with a query of length n, learned from a probe the tracker sent. */
  async function sizer(f: ReturnType<typeof fakeEnv>, t: ReturnType<typeof createTracker>) {
    t.track('search', 1, { query: '', results_count: 0 }); // the first visit; later events say false
    t.track('search', 1, { query: '', results_count: 0 });
    t.flush();
    await vi.advanceTimersByTimeAsync(0);
    const probe = Buffer.byteLength(JSON.stringify(f.requests.at(-1)!.events.at(-1)));
    f.requests.length = 0;
    return (n: number) => probe + n;
  }

  it('keeps an event of maxEventBytes as sent (identity included) and drops one byte more', async () => {
    const f = fakeEnv();
    const t = createTracker({ ...base, batchSize: 10, maxEventBytes: 2000 }, f.env);
    const size = await sizer(f, t);
    const query = (total: number) => 'x'.repeat(total - size(0));
    t.track('search', 1, { query: query(2000), results_count: 0 });
    t.track('search', 1, { query: query(2001), results_count: 0 });
    t.flush();
    await vi.advanceTimersByTimeAsync(0);
    expect(f.requests.map((r) => r.events.map((e) => Buffer.byteLength(JSON.stringify(e))))).toEqual([[2000]]);
    expect(f.requests[0]!.dropped).toBe(1);
  });

  it('never queues an event that with its separator exceeds one request, so the queue never stalls', async () => {
    const f = fakeEnv();
    const t = createTracker({ ...base, batchSize: 10, maxEventBytes: 1_000_000 }, f.env);
    const size = await sizer(f, t);
    t.track('search', 1, { query: 'x'.repeat(60_000 - size(0)), results_count: 0 });
    t.track('search', 1, { query: 'after it', results_count: 0 });
    t.flush();
    await vi.advanceTimersByTimeAsync(0);
    expect(f.requests.map((r) => r.events.map((e) => (e.properties as { query: string }).query))).toEqual([
      ['after it'],
    ]);
    expect(f.requests[0]!.dropped).toBe(1);
  });

  it('drops an event that grew past the limit when consent stamped its identity', async () => {
    const f = fakeEnv();
    const t = createTracker({ endpoint: base.endpoint, batchSize: 10, maxEventBytes: 2000 }, f.env);
    // Unstamped it is 1990 bytes and passes the check at track time; its identity adds ~120.
    const unstamped = {
      event_name: 'search',
      event_version: 1,
      event_id: '00000000-0000-4000-8000-000000000000',
      event_timestamp: '2026-11-26T10:00:00.000Z',
      page: { url: 'https://shop.example/p/1', title: 'Trail Runner' },
      properties: { query: '', results_count: 0 },
    };
    t.track('search', 1, { query: 'x'.repeat(1990 - JSON.stringify(unstamped).length), results_count: 0 });
    t.track('search', 1, { query: 'small', results_count: 0 });
    t.consent(true);
    t.flush();
    await vi.advanceTimersByTimeAsync(0);
    expect(f.requests).toHaveLength(1);
    expect(f.requests[0]!.events.map((e) => (e.properties as { query: string }).query)).toEqual(['small']);
    expect(f.requests[0]!.dropped).toBe(1);
  });

  it('drops a stored event too big for any request instead of stalling everything behind it', async () => {
    // Left by an older tracker: exactly one request's budget, one byte too many with its separator.
    const big = {
      event_name: 'search',
      event_version: 1,
      event_id: '00000000-0000-4000-8000-000000000000',
      event_timestamp: '2026-11-26T10:00:00.000Z',
      page: { url: 'https://shop.example/p/1' },
      properties: { query: '', results_count: 0 },
    };
    big.properties.query = 'x'.repeat(60_000 - Buffer.byteLength(JSON.stringify(big)));
    expect(Buffer.byteLength(JSON.stringify(big))).toBe(60_000);
    const small = { ...big, event_id: '00000000-0000-4000-8000-000000000001', properties: { query: 'behind it' } };
    const storage = new MemoryStorage();
    storage.setItem('clickstream.q', JSON.stringify([big, small]));
    const f = fakeEnv([], storage);
    const t = createTracker({ ...base, batchSize: 10 }, f.env);
    t.flush();
    await vi.advanceTimersByTimeAsync(0);
    expect(f.requests.map((r) => r.events.map((e) => e.event_id))).toEqual([[small.event_id]]);
    expect(f.requests[0]!.dropped).toBe(1);
    expect(queued(storage)).toEqual([]);
  });
});

describe('tabs sharing one queue', () => {
  it('a new tab also sends what an open tab queued, with the same event_ids, and nobody resends an acknowledged event', async () => {
    const storage = new MemoryStorage();
    const a = fakeEnv(['network-error'], storage);
    const tabA = createTracker({ ...base, batchSize: 1, retryBaseMs: 10_000 }, a.env);
    tabA.track('search', 1, { query: 'tab A', results_count: 0 });
    await vi.advanceTimersByTimeAsync(0); // A's request failed: the event waits for A's retry

    const b = fakeEnv([], storage);
    createTracker({ ...base, batchSize: 1 }, b.env);
    await vi.advanceTimersByTimeAsync(0);
    expect(b.requests.flatMap((r) => r.events.map((e) => e.event_id))).toEqual(a.ids(0));
    expect(queued(storage)).toEqual([]);

    // A's retry finds the event acknowledged and gone: it is not sent a third time.
    await vi.advanceTimersByTimeAsync(60_000);
    expect(a.requests).toHaveLength(1);
  });
});

describe('identity and session', () => {
  it('keeps client_id, marks only the first event of a new browser as first visit', async () => {
    const storage = new MemoryStorage();
    const f = fakeEnv([], storage);
    const t = createTracker({ ...base, batchSize: 2 }, f.env);
    t.track('search', 1, { query: 'a', results_count: 0 });
    t.track('search', 1, { query: 'b', results_count: 0 });
    await vi.advanceTimersByTimeAsync(0);
    const g = fakeEnv([], storage);
    const t2 = createTracker({ ...base, batchSize: 1 }, g.env);
    t2.track('search', 1, { query: 'c', results_count: 0 });
    await vi.advanceTimersByTimeAsync(0);

    const events = [...f.requests[0]!.events, ...g.requests[0]!.events];
    expect(events.map((e) => e.is_first_visit)).toEqual([true, false, false]);
    expect(new Set(events.map((e) => e.client_id)).size).toBe(1);
    expect(events[0]!.client_id).toMatch(UUID);
  });

  it('renews session_id after 30 minutes without events, not before', async () => {
    const f = fakeEnv();
    const t = createTracker({ ...base, batchSize: 1 }, f.env);
    t.track('search', 1, { query: 'a', results_count: 0 });
    await vi.advanceTimersByTimeAsync(29 * 60_000);
    t.track('search', 1, { query: 'b', results_count: 0 }); // 29 min idle: same session, and activity resets the clock
    await vi.advanceTimersByTimeAsync(29 * 60_000);
    t.track('search', 1, { query: 'c', results_count: 0 });
    await vi.advanceTimersByTimeAsync(30 * 60_000 + 1);
    t.track('search', 1, { query: 'd', results_count: 0 });
    await vi.advanceTimersByTimeAsync(0);

    const sessions = f.requests.map((r) => r.events[0]!.session_id);
    expect(sessions[0]).toMatch(UUID);
    expect(sessions[1]).toBe(sessions[0]);
    expect(sessions[2]).toBe(sessions[0]);
    expect(sessions[3]).not.toBe(sessions[0]);
    expect(new Set(f.requests.map((r) => r.events[0]!.client_id)).size).toBe(1);
  });
});

describe('consent', () => {
  it('stores and sends nothing until granted, then sends the earlier events with identity', async () => {
    const f = fakeEnv();
    const t = createTracker({ endpoint: base.endpoint, batchSize: 1 }, f.env);
    t.track('search', 1, { query: 'before consent', results_count: 0 });
    await vi.advanceTimersByTimeAsync(60_000);
    t.flush();
    await vi.advanceTimersByTimeAsync(0);
    expect(f.requests).toHaveLength(0);
    expect(f.storage!.items.size).toBe(0);

    t.consent(true);
    await vi.advanceTimersByTimeAsync(0);
    expect(f.requests).toHaveLength(1);
    expect(f.requests[0]!.events[0]).toMatchObject({
      properties: { query: 'before consent' },
      is_first_visit: true,
      client_id: expect.stringMatching(UUID),
      session_id: expect.stringMatching(UUID),
    });
    expect(f.storage!.getItem('clickstream.cid')).toBe(f.requests[0]!.events[0]!.client_id);
  });

  it('sends an event tracked before consent once, also without storage', async () => {
    const f = fakeEnv();
    const t = createTracker({ endpoint: base.endpoint, batchSize: 10 }, { ...f.env, storage: undefined });
    t.track('search', 1, { query: 'before consent', results_count: 0 });
    t.consent(true);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(f.requests.flatMap((r) => r.events.map((e) => (e.properties as { query: string }).query))).toEqual([
      'before consent',
    ]);
  });

  it('revocation clears identifiers and the queue, and keeps the next page from tracking', async () => {
    const storage = new MemoryStorage();
    const f = fakeEnv(['network-error'], storage);
    const t = createTracker({ endpoint: base.endpoint, batchSize: 1, retryBaseMs: 10_000 }, f.env);
    t.consent(true);
    t.track('search', 1, { query: 'queued', results_count: 0 });
    await vi.advanceTimersByTimeAsync(0);
    const clientId = f.requests[0]!.events[0]!.client_id;
    expect(storage.getItem('clickstream.cid')).toBe(clientId);

    t.consent(false);
    expect([...storage.items.keys()]).toEqual(['clickstream.c']);
    t.track('search', 1, { query: 'after revocation', results_count: 0 });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(f.requests).toHaveLength(1);

    const next = fakeEnv([], storage);
    const page2 = createTracker({ ...base, batchSize: 1 }, next.env); // even with consent granted by default
    page2.track('search', 1, { query: 'next page', results_count: 0 });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(next.requests).toHaveLength(0);

    page2.consent(true);
    page2.track('search', 1, { query: 'granted again', results_count: 0 });
    await vi.advanceTimersByTimeAsync(0);
    expect(next.requests).toHaveLength(1);
    expect(next.requests[0]!.events[0]!.client_id).not.toBe(clientId);
  });

  it('with consent granted by default, tracks from the start', async () => {
    const f = fakeEnv();
    const t = createTracker({ ...base, batchSize: 1 }, f.env);
    t.track('search', 1, { query: 'a', results_count: 0 });
    await vi.advanceTimersByTimeAsync(0);
    expect(f.requests).toHaveLength(1);
  });
});

describe('page hide', () => {
  it('hands waiting events to sendBeacon and forgets them', async () => {
    const f = fakeEnv();
    const t = createTracker({ ...base, batchSize: 10 }, f.env);
    t.track('search', 1, { query: 'a', results_count: 0 });
    t.track('search', 1, { query: 'b', results_count: 0 });
    t.flushOnHide();
    expect(f.beacons).toHaveLength(1);
    expect(f.beacons[0]!.body.events).toHaveLength(2);
    expect(queued(f.storage!)).toEqual([]);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(f.requests).toHaveLength(0);
  });

  it('falls back to a request when the beacon is refused, keeping the events until acknowledged', async () => {
    const f = fakeEnv(['network-error']);
    f.refuseBeacons();
    const t = createTracker({ ...base, batchSize: 10, retryBaseMs: 1000 }, f.env);
    t.track('search', 1, { query: 'a', results_count: 0 });
    t.flushOnHide();
    await vi.advanceTimersByTimeAsync(0);
    expect(f.requests).toHaveLength(1);
    expect(queued(f.storage!)).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1000);
    expect(f.requests).toHaveLength(2);
    expect(queued(f.storage!)).toEqual([]);
  });

  it('leaves events in flight to their request, and queues them again if it fails while the page lives', async () => {
    const f = fakeEnv([503]);
    const t = createTracker({ ...base, batchSize: 1, retryBaseMs: 1000 }, f.env);
    t.track('search', 1, { query: 'in flight', results_count: 0 });
    t.flushOnHide();
    expect(f.beacons).toHaveLength(0);
    expect(queued(f.storage!)).toEqual([]);
    await vi.advanceTimersByTimeAsync(0);
    expect(queued(f.storage!)).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1000);
    expect(f.requests.map((r) => r.events[0]!.event_id)).toEqual([f.ids(0)[0], f.ids(0)[0]]);
    expect(queued(f.storage!)).toEqual([]);
  });

  it('does not trust a beacon while the server is failing: the events stay queued', async () => {
    const f = fakeEnv(['network-error', 'network-error']);
    const t = createTracker({ ...base, batchSize: 1, retryBaseMs: 10_000 }, f.env);
    t.track('search', 1, { query: 'a', results_count: 0 });
    await vi.advanceTimersByTimeAsync(0);
    t.track('search', 1, { query: 'b', results_count: 0 });
    t.flushOnHide();
    await vi.advanceTimersByTimeAsync(0);
    expect(f.beacons).toHaveLength(0);
    expect(queued(f.storage!)).toHaveLength(2);
  });
});

describe('auth hook', () => {
  it('sends the token it supplies as a Bearer Authorization header, and nothing for guests', async () => {
    let token: string | undefined = 'eyJ.id.token';
    const f = fakeEnv();
    const t = createTracker({ ...base, batchSize: 1, auth: async () => token }, f.env);
    t.track('login', 1, { method: 'email' });
    await vi.advanceTimersByTimeAsync(0);
    token = undefined;
    t.track('logout', 1, {});
    await vi.advanceTimersByTimeAsync(0);
    expect(f.requests[0]!.headers.authorization).toBe('Bearer eyJ.id.token');
    expect(f.requests[1]!.headers).not.toHaveProperty('authorization');
  });
});

describe('page hide of a signed-in shopper', () => {
  it('sends by keepalive request with the Authorization a beacon cannot carry', async () => {
    const f = fakeEnv([503]);
    const t = createTracker({ ...base, batchSize: 10, retryBaseMs: 1000, auth: () => 'TOKEN' }, f.env);
    t.track('add_to_cart', 1, { product, quantity: 1 });
    t.flushOnHide();
    // Started before flushOnHide returned: the page may be gone after that.
    expect(f.requests).toHaveLength(1);
    expect(f.beacons).toHaveLength(0);
    expect(f.requests[0]!.headers.authorization).toBe('Bearer TOKEN');
    expect(queued(f.storage!)).toEqual([]);
    // The page lived on and the request failed: queued again and retried, still as the user.
    await vi.advanceTimersByTimeAsync(0);
    expect(queued(f.storage!)).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1000);
    expect(f.requests.map((r) => [r.events[0]!.event_id, r.headers.authorization])).toEqual([
      [f.ids(0)[0], 'Bearer TOKEN'],
      [f.ids(0)[0], 'Bearer TOKEN'],
    ]);
    expect(f.beacons).toHaveLength(0);
    expect(queued(f.storage!)).toEqual([]);
  });

  it('uses the last token of an asynchronous hook, and the beacon once the shopper signed out', async () => {
    let token: string | undefined = 'eyJ.id.token';
    const f = fakeEnv();
    const t = createTracker({ ...base, batchSize: 10, auth: async () => token }, f.env);
    t.track('login', 1, { method: 'email' });
    t.flush();
    await vi.advanceTimersByTimeAsync(0);
    t.track('search', 1, { query: 'a', results_count: 0 });
    t.flushOnHide();
    expect(f.requests).toHaveLength(2);
    expect(f.requests[1]!.headers.authorization).toBe('Bearer eyJ.id.token');
    expect(f.beacons).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(0);

    token = undefined;
    t.track('logout', 1, {});
    t.flush();
    await vi.advanceTimersByTimeAsync(0);
    t.track('search', 1, { query: 'b', results_count: 0 });
    t.flushOnHide();
    expect(f.beacons).toHaveLength(1);
    expect(f.requests).toHaveLength(3);
  });
});

describe('typed API over the core', () => {
  it('sends each generated function as its event model, and rejects missing properties at compile time', async () => {
    const f = fakeEnv();
    const tracker = createTracker({ ...base, batchSize: 2 }, f.env);
    const api = createEventApi(tracker.track);
    api.addToCart({ product, quantity: 3 });
    // @ts-expect-error quantity is required by schemas/events/add_to_cart/1.json
    api.addToCart({ product });
    await vi.advanceTimersByTimeAsync(0);
    expect(f.requests[0]!.events.map((e) => [e.event_name, e.event_version, e.properties])).toEqual([
      ['add_to_cart', trackedEventModels.add_to_cart, { product, quantity: 3 }],
      ['add_to_cart', trackedEventModels.add_to_cart, { product }],
    ]);
  });
});
