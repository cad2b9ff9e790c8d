import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createEventApi, trackedEventModels } from '../../generated/tracker/api.ts';
import { createTracker, type QueuedEvent, type TrackerConfig, type TrackerEnv } from './core.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const product = { id: 'SKU-1', name: 'Trail Runner', category: 'shoes', price: 99 };

class MemoryStorage {
  readonly items = new Map<string, string>();
  get length() {
    return this.items.size;
  }
  key = (i: number) => [...this.items.keys()][i] ?? null;
  getItem = (k: string) => this.items.get(k) ?? null;
  setItem = (k: string, v: string): void => void this.items.set(k, v);
  removeItem = (k: string): void => void this.items.delete(k);
}

/**
 * One renderer's view of an origin's localStorage as Chromium keeps it: reads and writes go to the
 * renderer's own copy at once, and reach the other tabs' copies only later (`propagate`), which is
 * how two tabs rewriting one shared key lost each other's updates.
 */
class TabStorage extends MemoryStorage {
  private readonly outbox: [string, string | null][] = [];
  constructor(private readonly peers: TabStorage[]) {
    super();
    peers.push(this);
  }
  override setItem = (k: string, v: string) => {
    this.items.set(k, v);
    this.outbox.push([k, v]);
  };
  override removeItem = (k: string) => {
    this.items.delete(k);
    this.outbox.push([k, null]);
  };
  /** Delivers this view's changes to the others, in order. */
  propagate() {
    for (const [k, v] of this.outbox.splice(0))
      for (const peer of this.peers)
        if (peer !== this) {
          if (v === null) peer.items.delete(k);
          else peer.items.set(k, v);
        }
  }
}

interface SentRequest {
  sent_at: string;
  events: Record<string, unknown>[];
  dropped?: number;
  headers: Record<string, string>;
  at: number;
  /** UTF-8 bytes of the body. */
  bytes: number;
}

/** An answer, or `hold`: no answer ever (the page is gone before it comes). */
type Answer = number | 'network-error' | { status: number; retryAfter: string };
type Reply = Answer | 'hold' | Promise<Answer>;

/**
 * A fake transport (the unit under test is the core's scheduling, not HTTP): it records every
 * request and answers with the scripted replies (a list, or a function of the request), then 200.
 */
function fakeEnv(
  replies: Reply[] | ((req: SentRequest) => Reply) = [],
  storage: MemoryStorage | undefined = new MemoryStorage(),
) {
  const requests: SentRequest[] = [];
  let dead = false;
  /** The page's storage until it is gone (`kill`): then every call throws, as if the page had no storage. */
  const view = storage && {
    get length() {
      return alive().length;
    },
    key: (i: number) => alive().key(i),
    getItem: (k: string) => alive().getItem(k),
    setItem: (k: string, v: string) => alive().setItem(k, v),
    removeItem: (k: string) => alive().removeItem(k),
  };
  const alive = () => {
    if (dead) throw new Error('the page is gone');
    return storage!;
  };
  const env: TrackerEnv = {
    async send(_url, body, headers) {
      if (dead) return new Promise<never>(() => {});
      const req = { ...JSON.parse(body), headers, at: Date.now(), bytes: Buffer.byteLength(body) };
      requests.push(req);
      const reply = (typeof replies === 'function' ? replies(req) : replies.shift()) ?? 200;
      if (reply === 'hold') return new Promise<never>(() => {});
      const answer = await reply;
      if (answer === 'network-error') throw new TypeError('Failed to fetch');
      return typeof answer === 'number' ? { status: answer, retryAfter: null } : answer;
    },
    storage: view,
    page: () => ({ url: 'https://shop.example/p/1', title: 'Trail Runner' }),
  };
  return {
    env,
    storage,
    requests,
    ids: (i: number) => requests[i]!.events.map((e) => e.event_id),
    /** The page is gone: its timers may still fire in the fake clock, but it reaches nothing any more. */
    kill: () => {
      dead = true;
    },
  };
}

/** A reply the test gives later: `answer(…)` settles the request. */
function later() {
  let answer!: (a: Answer) => void;
  const reply = new Promise<Answer>((resolve) => {
    answer = resolve;
  });
  return { reply, answer };
}

const base: TrackerConfig = { endpoint: 'https://ingest.example/clickstream', consent: 'granted' };

type Stored = { d: number; h: Record<string, number>; q: { event_id: string; properties: { query?: string } }[] };
/** Every page's stored queue by key (`clickstream.q.<tab>`). */
const records = (storage: MemoryStorage) =>
  Object.fromEntries(
    [...storage.items].filter(([k]) => k.startsWith('clickstream.q.')).map(([k, v]) => [k, JSON.parse(v) as Stored]),
  );
/** Every event queued by any page of the origin. */
const queued = (storage: MemoryStorage) => Object.values(records(storage)).flatMap((r) => r.q);
const queuedIds = (storage: MemoryStorage) => queued(storage).map((e) => e.event_id);
const sentIds = (f: ReturnType<typeof fakeEnv>) => f.requests.flatMap((r) => r.events.map((e) => e.event_id as string));
/** A later page of the origin on `storage`, answered 200; returns its transport's record. */
function nextPage(storage: MemoryStorage, config: Partial<TrackerConfig> = {}) {
  const f = fakeEnv([], storage);
  createTracker({ ...base, batchSize: 1, ...config }, f.env);
  return f;
}
const search = (t: ReturnType<typeof createTracker>, query: string) =>
  t.track('search', 1, { query, results_count: 0 });

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

  it('splits a large backlog into requests of at most 60 000 bytes, under the 64 KiB keepalive budget', async () => {
    const f = fakeEnv(['network-error']);
    const t = createTracker({ ...base, batchSize: 1000, flushIntervalMs: 10 }, f.env);
    const query = 'x'.repeat(450);
    for (let i = 0; i < 300; i++) t.track('search', 1, { query, results_count: 0 });
    await vi.advanceTimersByTimeAsync(10); // fails: everything stays queued
    f.requests.length = 0;
    // The retry comes 500–1000 ms later (jitter), then one request per flushIntervalMs.
    await vi.advanceTimersByTimeAsync(2000);
    expect(f.requests.length).toBeGreaterThan(1);
    for (const r of f.requests) expect(r.bytes).toBeLessThanOrEqual(60_000);
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

  it.each([400, 403, 415])('never retries a %i, and reports the refused events as dropped', async (status) => {
    const f = fakeEnv([status]);
    const t = createTracker({ ...base, batchSize: 2 }, f.env);
    t.track('search', 1, { query: 'a', results_count: 0 });
    t.track('search', 1, { query: 'b', results_count: 0 });
    await vi.advanceTimersByTimeAsync(120_000);
    expect(f.requests).toHaveLength(1);
    expect(queued(f.storage!)).toEqual([]);
    expect(Object.values(records(f.storage!))[0]!.d).toBe(2);

    t.track('search', 1, { query: 'c', results_count: 0 });
    t.track('search', 1, { query: 'd', results_count: 0 });
    await vi.advanceTimersByTimeAsync(0);
    expect(f.requests[1]!.dropped).toBe(2);
    t.track('search', 1, { query: 'e', results_count: 0 });
    t.track('search', 1, { query: 'f', results_count: 0 });
    await vi.advanceTimersByTimeAsync(0);
    expect(f.requests[2]).not.toHaveProperty('dropped');
  });

  it('reports the count a refused request carried again, with the events it refused', async () => {
    const f = fakeEnv([400, 400]);
    const t = createTracker({ ...base, batchSize: 1 }, f.env);
    search(t, 'refused');
    await vi.advanceTimersByTimeAsync(0);
    search(t, 'refused too, carrying the first count');
    await vi.advanceTimersByTimeAsync(0);
    search(t, 'accepted');
    await vi.advanceTimersByTimeAsync(0);
    expect(f.requests.map((r) => r.dropped)).toEqual([undefined, 1, 2]);
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

  it('reports the dropped count on one request at a time, and keeps it stored until a response acknowledged it', async () => {
    const f = fakeEnv([400, 'hold']);
    const t = createTracker({ ...base, batchSize: 1 }, f.env);
    search(t, 'refused');
    await vi.advanceTimersByTimeAsync(0);
    search(t, 'in flight, never answered');
    await vi.advanceTimersByTimeAsync(0);
    search(t, 'sent at the hide');
    t.flushOnHide();
    await vi.advanceTimersByTimeAsync(0);

    expect(f.requests.map((r) => r.dropped)).toEqual([undefined, 1, undefined]);
    // The request carrying the count got no answer: the count stays, for the next page to report.
    expect(Object.values(records(f.storage!))[0]!.d).toBe(1);
  });

  it('keeps the stored queue under maxQueueBytes', () => {
    const f = fakeEnv(['network-error']);
    const t = createTracker({ ...base, batchSize: 1000, maxQueueBytes: 5000 }, f.env);
    for (let i = 0; i < 40; i++) search(t, `query number ${i}`);
    const [key, stored] = [...f.storage!.items].find(([k]) => k.startsWith('clickstream.q.'))!;
    expect(stored.length).toBeLessThanOrEqual(5000);
    const kept = records(f.storage!)[key]!;
    expect(kept.q.at(-1)!.properties.query).toBe('query number 39');
    expect(kept.d).toBe(40 - kept.q.length);
  });

  it('survives a reload: the next page sends at once what the previous one never handed off', async () => {
    const storage = new MemoryStorage();
    const first = fakeEnv(Array(5).fill('network-error'), storage);
    const page1 = createTracker({ ...base, batchSize: 1, retryBaseMs: 60_000 }, first.env);
    search(page1, 'a');
    search(page1, 'b');
    await vi.advanceTimersByTimeAsync(100);
    const ids = queuedIds(storage);
    expect(ids).toHaveLength(2);
    // Gone while backing off, without a hide (as a crash would): its lease runs out.
    first.kill();
    const second = nextPage(storage);
    await vi.advanceTimersByTimeAsync(0);
    expect(second.requests).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(125_000);
    expect(sentIds(second)).toEqual(ids);
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

  it('treats an unreadable stored queue as empty and removes it, instead of throwing at the site', async () => {
    const storage = new MemoryStorage();
    storage.setItem('clickstream.q', '{not json');
    storage.setItem('clickstream.q.gone', '[1,"x",null,{"no":"id"}]');
    const f = fakeEnv([], storage);
    const t = createTracker({ ...base, batchSize: 1 }, f.env);
    expect(() => search(t, 'a')).not.toThrow();
    await vi.advanceTimersByTimeAsync(0);
    expect(f.requests.flatMap((r) => r.events)).toHaveLength(1);
    expect(storage.getItem('clickstream.q')).toBeNull();
    expect(storage.getItem('clickstream.q.gone')).toBeNull();
  });

  it('drops an event larger than maxEventBytes at track time instead of poisoning a batch, and says so to onOversized', async () => {
    const f = fakeEnv();
    const oversized: [string, number][] = [];
    const onOversized = (e: QueuedEvent, bytes: number) => void oversized.push([e.event_name, bytes]);
    const t = createTracker({ ...base, batchSize: 1, maxEventBytes: 2000, onOversized }, f.env);
    t.track('search', 1, { query: 'é'.repeat(1000), results_count: 0 });
    t.track('search', 1, { query: 'ok', results_count: 0 });
    await vi.advanceTimersByTimeAsync(0);
    expect(f.requests).toHaveLength(1);
    expect(f.requests[0]!.events).toHaveLength(1);
    expect(f.requests[0]!.dropped).toBe(1);
    expect(oversized).toEqual([['search', expect.any(Number)]]);
    expect(oversized[0]![1]).toBeGreaterThan(2000);
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

  it("never reads its own queue back from storage, and never writes another page's keys", async () => {
    const storage = new MemoryStorage();
    storage.setItem('clickstream.q.other', JSON.stringify({ d: 0, h: {}, q: [] }));
    storage.setItem('clickstream.l.other', String(Date.now()));
    const f = fakeEnv(['network-error'], storage);
    const t = createTracker({ ...base, batchSize: 1000, retryBaseMs: 600_000 }, f.env);
    for (let i = 0; i < 200; i++) search(t, `q${i}`);
    const meter = meterJson();
    const writes: string[] = [];
    const { setItem } = storage;
    storage.setItem = (k, v) => {
      writes.push(k);
      setItem(k, v);
    };
    for (let i = 0; i < 100; i++) search(t, `more ${i}`);
    expect(meter.parses).toBe(0);
    expect(queuedIds(storage)).toHaveLength(300);
    expect(new Set(writes.filter((k) => k.includes('other')))).toEqual(new Set());
  });

  it('drops many old events with one serialisation of the queue, not one per dropped event', () => {
    const f = fakeEnv(['network-error']);
    const t = createTracker({ ...base, batchSize: 1000, maxQueueBytes: 100_000 }, f.env);
    for (let i = 0; i < 300; i++) search(t, `query ${i}`);
    const key = Object.keys(records(f.storage!))[0]!;
    const before = f.storage!.getItem(key)!.length;
    const meter = meterJson();
    // Half the queue's size in one event: about half the queue must go.
    t.track('search', 1, { query: 'x'.repeat(30_000), results_count: 0 });
    const after = queued(f.storage!);
    expect(f.storage!.getItem(key)!.length).toBeLessThanOrEqual(100_000);
    expect(300 + 1 - after.length).toBeGreaterThan(100);
    expect(records(f.storage!)[key]!.d).toBe(300 + 1 - after.length);
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

  it('never queues an event too big for one request with its envelope, so the queue never stalls', async () => {
    const f = fakeEnv();
    const t = createTracker({ ...base, batchSize: 10, maxEventBytes: 1_000_000 }, f.env);
    const size = await sizer(f, t);
    // 60 000 bytes of body: 100 for the envelope, 1 for the separator.
    t.track('search', 1, { query: 'x'.repeat(59_900 - size(0)), results_count: 0 });
    t.track('search', 1, { query: 'x'.repeat(59_899 - size(0)), results_count: 0 });
    t.track('search', 1, { query: 'after it', results_count: 0 });
    t.flush();
    await vi.advanceTimersByTimeAsync(5000);
    expect(f.requests.map((r) => r.events.map((e) => Buffer.byteLength(JSON.stringify(e))))).toEqual([
      [59_899],
      [size('after it'.length)],
    ]);
    expect(f.requests[0]!.dropped).toBe(1);
    for (const r of f.requests) expect(r.bytes).toBeLessThanOrEqual(60_000);
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

  it('adopts the shared queue of an older tracker, dropping a stored event too big for any request', async () => {
    // Left by a tracker before per-tab queues (one `clickstream.q` array, drop count in `clickstream.d`).
    const big = {
      event_name: 'search',
      event_version: 1,
      event_id: '00000000-0000-4000-8000-000000000000',
      event_timestamp: '2026-11-26T10:00:00.000Z',
      page: { url: 'https://shop.example/p/1' },
      properties: { query: '', results_count: 0 },
    };
    big.properties.query = 'x'.repeat(60_000 - Buffer.byteLength(JSON.stringify(big)));
    const small = { ...big, event_id: '00000000-0000-4000-8000-000000000001', properties: { query: 'behind it' } };
    const storage = new MemoryStorage();
    storage.setItem('clickstream.q', JSON.stringify([big, small]));
    storage.setItem('clickstream.d', '2');
    const f = fakeEnv([], storage);
    createTracker({ ...base, batchSize: 10 }, f.env);
    await vi.advanceTimersByTimeAsync(5000);
    expect(f.requests.map((r) => r.events.map((e) => e.event_id))).toEqual([[small.event_id]]);
    expect(f.requests[0]!.dropped).toBe(3);
    expect(queued(storage)).toEqual([]);
    expect([...storage.items.keys()].filter((k) => /^clickstream\.[qd]$/.test(k))).toEqual([]);
  });
});

describe('tabs of one origin', () => {
  /** Ids of the events a tracker queued, in order. */
  const recording = () => {
    const ids: string[] = [];
    return { ids, onEvent: (e: { event_id: string }) => void ids.push(e.event_id) };
  };

  it('leaves the queue of a tab that is still open alone while its lease is renewed', async () => {
    const storage = new MemoryStorage();
    const a = fakeEnv(Array(100).fill('network-error'), storage);
    const tabA = createTracker({ ...base, batchSize: 1, retryBaseMs: 1000, retryMaxMs: 8000 }, a.env);
    search(tabA, 'tab A');
    await vi.advanceTimersByTimeAsync(0);
    const b = fakeEnv([], storage);
    const tabB = createTracker({ ...base, batchSize: 1 }, b.env);
    search(tabB, 'tab B');
    await vi.advanceTimersByTimeAsync(130_000);

    expect(b.requests.map((r) => r.events.map((e) => (e.properties as { query: string }).query))).toEqual([['tab B']]);
    expect(queued(storage).map((e) => e.properties.query)).toEqual(['tab A']);
  });

  it('adopts the queue of a tab closed meanwhile at its next heartbeat; events it handed off after the grace period', async () => {
    const storage = new MemoryStorage();
    const b = nextPage(storage, { batchSize: 10, flushIntervalMs: 1000, handOffGraceMs: 30_000 });
    const a = fakeEnv(['hold'], storage);
    const tabA = createTracker({ ...base, batchSize: 10, maxEventBytes: 20_000 }, a.env);
    search(tabA, 'handed off');
    // Sent at the hide, with no room left for the second: it stays queued, never handed off.
    tabA.track('search', 1, { query: 'x'.repeat(19_000), results_count: 0 });
    tabA.track('search', 1, { query: 'y'.repeat(19_000), results_count: 0 });
    tabA.track('search', 1, { query: 'z'.repeat(19_000), results_count: 0 });
    tabA.track('search', 1, { query: 'w'.repeat(19_000), results_count: 0 });
    const ids = queuedIds(storage);
    tabA.flushOnHide(true);
    a.kill();
    const handedOff = a.requests.flatMap((r) => r.events.map((e) => e.event_id as string));
    expect(handedOff).toEqual(ids.slice(0, 4));

    // Adopted at B's next heartbeat (≤ 5 s), then sent as B's own within flushIntervalMs.
    await vi.advanceTimersByTimeAsync(6000);
    expect(sentIds(b)).toEqual(ids.slice(4));
    await vi.advanceTimersByTimeAsync(23_000);
    expect(sentIds(b)).toEqual(ids.slice(4));
    await vi.advanceTimersByTimeAsync(2000);
    expect(sentIds(b).sort()).toEqual([...ids].sort());
    expect(Object.keys(records(storage))).toHaveLength(1);
    expect(queued(storage)).toEqual([]);
  });

  it("loses no event when each tab sees the other tab's writes late, and sends none twice", async () => {
    const views: TabStorage[] = [];
    const [viewA, viewB] = [new TabStorage(views), new TabStorage(views)];
    const [recA, recB] = [recording(), recording()];
    const a = fakeEnv([], viewA);
    const b = fakeEnv([], viewB);
    const tabA = createTracker({ ...base, batchSize: 3, onEvent: recA.onEvent }, a.env);
    const tabB = createTracker({ ...base, batchSize: 3, onEvent: recB.onEvent }, b.env);
    for (let i = 0; i < 60; i++) {
      search(i % 2 ? tabA : tabB, `event ${i}`);
      // Writes cross between the renderers only now and then, as IPC does under load.
      if (i % 7 === 0) viewA.propagate();
      if (i % 5 === 0) viewB.propagate();
      await vi.advanceTimersByTimeAsync(20);
    }
    await vi.advanceTimersByTimeAsync(10_000);
    viewA.propagate();
    viewB.propagate();
    await vi.advanceTimersByTimeAsync(10_000);

    const sent = [...sentIds(a), ...sentIds(b)];
    expect([...sent].sort()).toEqual([...recA.ids, ...recB.ids].sort());
    expect(new Set(sent).size).toBe(60);
  });

  it('two tabs adopting one closed tab at the same moment both send its events: a copy per adopter, none lost', async () => {
    const views: TabStorage[] = [];
    const [viewA, viewB, viewC] = [new TabStorage(views), new TabStorage(views), new TabStorage(views)];
    const a = fakeEnv(['hold'], viewA);
    const tabA = createTracker({ ...base, batchSize: 10 }, a.env);
    for (let i = 0; i < 3; i++) search(tabA, `from the closed tab ${i}`);
    tabA.flushOnHide(true);
    a.kill();
    await vi.advanceTimersByTimeAsync(0);
    viewA.propagate();
    const ids = queuedIds(viewB);
    expect(ids).toHaveLength(3);
    const b = nextPage(viewB, { batchSize: 10 });
    const c = nextPage(viewC, { batchSize: 10 });
    await vi.advanceTimersByTimeAsync(20_000);

    expect(sentIds(b)).toEqual(ids);
    expect(sentIds(c)).toEqual(ids);
  });

  it('a tab whose queue was taken while it was frozen stores it again: the events are sent twice, never lost', async () => {
    const storage = new MemoryStorage();
    const a = fakeEnv(Array(3).fill('network-error'), storage);
    const tabA = createTracker({ ...base, batchSize: 1, retryBaseMs: 30_000, retryMaxMs: 30_000 }, a.env);
    search(tabA, 'queued in tab A');
    await vi.advanceTimersByTimeAsync(0);
    const [lease] = [...storage.items.keys()].filter((k) => k.startsWith('clickstream.l.'));
    // Frozen in the background: its lease ran out, and a new tab takes its queue.
    storage.setItem(lease!, String(Date.now() - 121_000));
    const b = nextPage(storage);
    await vi.advanceTimersByTimeAsync(0);
    expect(b.requests).toHaveLength(1);
    expect(queued(storage)).toEqual([]);

    // Tab A runs again: its next heartbeat finds its queue gone and stores it again.
    await vi.advanceTimersByTimeAsync(5000);
    expect(queued(storage).map((e) => e.properties.query)).toEqual(['queued in tab A']);
    await vi.advanceTimersByTimeAsync(120_000);
    expect(sentIds(a).at(-1)).toBe(sentIds(b)[0]);
    expect(queued(storage)).toEqual([]);
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

  it('revoked in one tab, stops tracking in the others at their next heartbeat', async () => {
    const storage = new MemoryStorage();
    const a = fakeEnv(['network-error'], storage);
    const b = fakeEnv(['network-error'], storage);
    const tabA = createTracker({ ...base, batchSize: 1, retryBaseMs: 600_000 }, a.env);
    const tabB = createTracker({ ...base, batchSize: 1, retryBaseMs: 600_000 }, b.env);
    search(tabA, 'a');
    search(tabB, 'b');
    await vi.advanceTimersByTimeAsync(0);
    tabA.consent(false);
    await vi.advanceTimersByTimeAsync(5000);
    search(tabB, 'after the revocation');
    await vi.advanceTimersByTimeAsync(0);
    expect([...storage.items.keys()]).toEqual(['clickstream.c']);
    expect(b.requests).toHaveLength(1);
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
  const marks = (storage: MemoryStorage) => Object.values(records(storage))[0]!.h;

  it('hands waiting events to a keepalive request before returning, and keeps them stored until the answer', async () => {
    const answer = later();
    const f = fakeEnv([answer.reply]);
    const t = createTracker({ ...base, batchSize: 10 }, f.env);
    search(t, 'a');
    search(t, 'b');
    t.flushOnHide();
    // Started before flushOnHide returned: the page may be gone after that.
    expect(f.requests).toHaveLength(1);
    expect(queuedIds(f.storage!)).toEqual(f.ids(0));
    expect(marks(f.storage!)).toEqual(Object.fromEntries(f.ids(0).map((id) => [id, Date.now()])));

    // A tab switch: the page lives on, the answer comes, the events leave the queue.
    answer.answer(200);
    await vi.advanceTimersByTimeAsync(0);
    expect(queued(f.storage!)).toEqual([]);
    expect(marks(f.storage!)).toEqual({});
    await vi.advanceTimersByTimeAsync(60_000);
    expect(f.requests).toHaveLength(1);
  });

  it('events handed off at an unload that got no answer are sent again by the next page after the grace period, not before', async () => {
    // The server is down and the events wait for the batch timer when the page reloads.
    const storage = new MemoryStorage();
    const page1 = fakeEnv(['hold'], storage);
    const t1 = createTracker({ ...base, batchSize: 10 }, page1.env);
    for (const q of ['a', 'b', 'c']) search(t1, q);
    t1.flushOnHide(true);
    page1.kill();
    const ids = page1.ids(0);
    expect(ids).toHaveLength(3);

    const page2 = nextPage(storage, { batchSize: 10, handOffGraceMs: 10_000, flushIntervalMs: 1000 });
    await vi.advanceTimersByTimeAsync(9000);
    expect(page2.requests).toHaveLength(0);
    expect(queuedIds(storage)).toEqual(ids);
    await vi.advanceTimersByTimeAsync(2000);
    expect(sentIds(page2)).toEqual(ids);
    expect(queued(storage)).toEqual([]);
  });

  it('events in flight at an unload whose request then fails are sent again by the next page after the grace period', async () => {
    const storage = new MemoryStorage();
    const page1 = fakeEnv(['hold'], storage);
    const t1 = createTracker({ ...base, batchSize: 1 }, page1.env);
    search(t1, 'in flight');
    await vi.advanceTimersByTimeAsync(0);
    expect(page1.requests).toHaveLength(1);
    t1.flushOnHide(true);
    // The hide had nothing else to send; the request in flight fails after the page is gone.
    expect(page1.requests).toHaveLength(1);
    page1.kill();

    const page2 = nextPage(storage);
    await vi.advanceTimersByTimeAsync(9000);
    expect(page2.requests).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(6000);
    expect(sentIds(page2)).toEqual(page1.ids(0));
  });

  it('events in flight at a hide whose request fails are sent again once the grace period is over, not at the next retry', async () => {
    // Chromium also fails the promise of a keepalive request it goes on delivering when the page unloads.
    const answer = later();
    const f = fakeEnv([answer.reply]);
    const t = createTracker({ ...base, batchSize: 1, retryBaseMs: 1000, handOffGraceMs: 10_000 }, f.env);
    search(t, 'in flight');
    await vi.advanceTimersByTimeAsync(0);
    t.flushOnHide(true);
    expect(Object.keys(marks(f.storage!))).toEqual(f.ids(0));
    answer.answer('network-error');
    await vi.advanceTimersByTimeAsync(0);
    t.flushOnHide(); // visibilitychange after pagehide, after the promise failed: nothing is sent again
    await vi.advanceTimersByTimeAsync(9000);
    expect(f.requests).toHaveLength(1);
    expect(Object.keys(marks(f.storage!))).toEqual(f.ids(0));
    await vi.advanceTimersByTimeAsync(1000);
    expect(f.requests.map((r) => r.events[0]!.event_id)).toEqual([f.ids(0)[0], f.ids(0)[0]]);
    expect(queued(f.storage!)).toEqual([]);
    expect(marks(f.storage!)).toEqual({});
  });

  it('sends at a hide only what fits the keepalive budget left by requests in flight, oldest first; the rest stays for the next page at once', async () => {
    const storage = new MemoryStorage();
    const page1 = fakeEnv(['network-error', 'hold', 'hold', 'hold'], storage);
    const t1 = createTracker({ ...base, batchSize: 1, retryBaseMs: 600_000, maxEventBytes: 20_000 }, page1.env);
    for (let i = 0; i < 6; i++) t1.track('search', 1, { query: `${i}`.repeat(19_000), results_count: 0 });
    await vi.advanceTimersByTimeAsync(0); // the first request failed: a backlog of 6 × 19 KB
    t1.flush(); // back online: 3 events (57 KB) in flight
    const ids = queuedIds(storage);
    // Before that request even started (it waits for the auth hook's answer), its size is counted.
    t1.flushOnHide(true);
    t1.flushOnHide(); // visibilitychange after pagehide: nothing more
    await vi.advanceTimersByTimeAsync(0);
    page1.kill();

    const inFlight = page1.requests.slice(1);
    expect(inFlight.map((r) => r.events.length)).toEqual([3]);
    expect(inFlight.reduce((n, r) => n + r.bytes, 0)).toBeLessThanOrEqual(65_536);
    expect(Object.keys(marks(storage))).toEqual(ids.slice(0, 3));

    const page2 = nextPage(storage);
    await vi.advanceTimersByTimeAsync(0);
    expect(sentIds(page2)).toEqual(ids.slice(3));
    await vi.advanceTimersByTimeAsync(15_000);
    expect(sentIds(page2)).toEqual([...ids.slice(3), ...ids.slice(0, 3)]);
  });

  it('splits a large queue at a hide into several requests that together fit the keepalive budget', () => {
    const f = fakeEnv(['hold', 'hold', 'hold', 'hold']);
    const t = createTracker({ ...base, batchSize: 1000, maxEventBytes: 20_000 }, f.env);
    for (let i = 0; i < 5; i++) t.track('search', 1, { query: `${i}`.repeat(15_000), results_count: 0 });
    const ids = queuedIds(f.storage!);
    t.flushOnHide(true);
    // 60 000 bytes at most per request; 64 KiB in all; oldest first.
    expect(f.requests.map((r) => r.events.length)).toEqual([3, 1]);
    expect(f.requests.reduce((n, r) => n + r.bytes, 0)).toBeLessThanOrEqual(65_536);
    expect(sentIds(f)).toEqual(ids.slice(0, 4));
    expect(Object.keys(marks(f.storage!))).toEqual(ids.slice(0, 4));
  });

  it('hands nothing off twice when both hide events fire, and sends what was tracked between them', () => {
    const f = fakeEnv(['hold', 'hold']);
    const t = createTracker({ ...base, batchSize: 10 }, f.env);
    search(t, 'a');
    search(t, 'b');
    t.flushOnHide(true);
    t.flushOnHide();
    expect(f.requests).toHaveLength(1);
    search(t, 'tracked by the site on visibilitychange');
    t.flushOnHide();
    t.flushOnHide(true);
    expect(f.requests.map((r) => r.events.length)).toEqual([2, 1]);
  });

  it('does not trust a request the browser refused (over its budget): the events stay queued and are sent again', async () => {
    const f = fakeEnv(['network-error']);
    const t = createTracker({ ...base, batchSize: 10, retryBaseMs: 1000, handOffGraceMs: 10_000 }, f.env);
    search(t, 'a');
    t.flushOnHide();
    await vi.advanceTimersByTimeAsync(0);
    expect(queuedIds(f.storage!)).toEqual(f.ids(0));
    await vi.advanceTimersByTimeAsync(10_000);
    expect(f.requests).toHaveLength(2);
    expect(queued(f.storage!)).toEqual([]);
  });
});

describe('a 413 for a batch', () => {
  it('retries the batch in halves, so only the event the server refuses is dropped', async () => {
    // An ingest from before the per-event size rule: any request holding an event it finds too big is refused.
    const f = fakeEnv((req) =>
      req.events.some((e) => (e.properties as { query: string }).query.length > 100) ? 413 : 200,
    );
    const t = createTracker({ ...base, batchSize: 4 }, f.env);
    search(t, 'a');
    t.track('search', 1, { query: 'x'.repeat(200), results_count: 0 });
    search(t, 'c');
    search(t, 'd');
    const ids = queuedIds(f.storage!);
    await vi.advanceTimersByTimeAsync(20_000);

    // The number of events per request stays halved for the rest of the page.
    expect(f.requests.map((r) => r.events.length)).toEqual([4, 2, 1, 1, 1, 1]);
    expect(f.requests.slice(2).map((r) => r.events[0]!.event_id)).toEqual(ids);
    expect(f.requests.map((r) => r.dropped ?? 0)).toEqual([0, 0, 0, 0, 1, 0]);
    expect(queued(f.storage!)).toEqual([]);
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
  it('sends with the Authorization of a synchronous hook, and sends again as the user if it fails while the page lives', async () => {
    const f = fakeEnv([503]);
    const t = createTracker({ ...base, batchSize: 10, auth: () => 'TOKEN', handOffGraceMs: 10_000 }, f.env);
    t.track('add_to_cart', 1, { product, quantity: 1 });
    t.flushOnHide();
    expect(f.requests).toHaveLength(1);
    expect(f.requests[0]!.headers.authorization).toBe('Bearer TOKEN');
    // Handed off at the hide: sent again once the grace period is over.
    await vi.advanceTimersByTimeAsync(10_000);
    expect(f.requests.map((r) => [r.events[0]!.event_id, r.headers.authorization])).toEqual([
      [f.ids(0)[0], 'Bearer TOKEN'],
      [f.ids(0)[0], 'Bearer TOKEN'],
    ]);
    expect(queued(f.storage!)).toEqual([]);
  });

  it('uses the last token of an asynchronous hook, and none once the shopper signed out', async () => {
    let token: string | undefined = 'eyJ.id.token';
    const f = fakeEnv();
    const t = createTracker({ ...base, batchSize: 10, auth: async () => token }, f.env);
    t.track('login', 1, { method: 'email' });
    t.flush();
    await vi.advanceTimersByTimeAsync(0);
    search(t, 'a');
    t.flushOnHide();
    expect(f.requests).toHaveLength(2);
    expect(f.requests[1]!.headers.authorization).toBe('Bearer eyJ.id.token');
    await vi.advanceTimersByTimeAsync(0);

    token = undefined;
    t.track('logout', 1, {});
    t.flush();
    await vi.advanceTimersByTimeAsync(0);
    search(t, 'b');
    t.flushOnHide();
    expect(f.requests).toHaveLength(4);
    expect(f.requests[3]!.headers).toEqual({ 'content-type': 'text/plain' });
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
