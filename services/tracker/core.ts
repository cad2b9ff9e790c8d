/**
 * The tracker core: queue, batching, retry, identity, session and consent. It knows nothing of the
 * DOM; the browser adapter (browser.ts) gives it a transport, storage and the page context, and unit
 * tests give it fakes. Every byte here ships to every shopper, so the code is deliberately terse.
 *
 * Delivery is at-least-once: an event leaves the stored queue only when a response answered the
 * request that carried it (2xx, or a final 4xx refusal, counted as dropped). What a page hide
 * hands to keepalive requests, and what is in flight then, stays stored marked with the hand-off
 * time; unless an answer acknowledges it, it is sent again once `handOffGraceMs` is over, by this
 * page if it lives on or by the next one. Copies share an event_id, which the warehouse load
 * deduplicates.
 *
 * Tabs: each page keeps its own queue (`clickstream.q.<tab>`, only ever written by that page, so
 * no tab overwrites another's update) and renews a lease (`clickstream.l.<tab>`). A page adopts
 * the queue of a page whose lease was released (it was hidden for good: reload, navigation, tab
 * closed) or ran out (crashed, or frozen in the background): it copies the events into its own
 * queue, stores that, then removes the other's keys.
 */
import type { TrackFn } from '../../generated/tracker/api.ts';
import type { EventEnvelope, PageContext } from '../../generated/types/events.ts';

/** An event as queued: identity is stamped once consent is granted, so before that it may lack it. */
export type QueuedEvent = Omit<EventEnvelope, 'client_id' | 'session_id'> &
  Partial<Pick<EventEnvelope, 'client_id' | 'session_id'>>;

/** A token for the `Authorization: Bearer` header (the Cognito ID token), or nothing for guests. */
export type AuthHook = () => string | null | undefined | Promise<string | null | undefined>;

export interface TrackerConfig {
  /** URL of the ingest API, e.g. `https://ingest.example.com/clickstream`. */
  endpoint: string;
  /** Send as soon as this many events wait. Default 10. */
  batchSize?: number;
  /** Send waiting events at the latest this long after the first was tracked. Default 5000 ms. */
  flushIntervalMs?: number;
  /** Most events a page keeps while the server is unreachable; the oldest are dropped first. Default 1000. */
  maxQueueEvents?: number;
  /** Most characters of a page's stored queue (what localStorage quotas count). Default 500 000. */
  maxQueueBytes?: number;
  /** Events larger than this (UTF-8 JSON as sent, at most 59 899) are dropped and counted, never sent. Default 32 768. */
  maxEventBytes?: number;
  /** First retry delay; doubles per failure, with jitter, up to retryMaxMs. Default 1000 ms. */
  retryBaseMs?: number;
  /** Longest retry delay (a longer Retry-After is still honoured). Default 60 000 ms. */
  retryMaxMs?: number;
  /** Inactivity after which the next event starts a new session. Default 30 minutes. */
  sessionTimeoutMs?: number;
  /** How long events handed off at a page hide wait before a later page sends them again. Default 10 000 ms. */
  handOffGraceMs?: number;
  /** Consent before the shopper decided: `pending` keeps events in memory only and sends nothing. Default `pending`. */
  consent?: 'granted' | 'pending';
  /** Supplies the Cognito ID token sent as `Authorization: Bearer …`; should answer quickly (cached token). */
  auth?: AuthHook;
  /** Sees every complete wire event before it is queued; the debug build validates here. */
  onEvent?: (event: EventEnvelope) => void;
  /** Sees every event dropped for its size (`bytes` as sent); the debug build warns here. */
  onOversized?: (event: QueuedEvent, bytes: number) => void;
}

/** What the core needs from its surroundings. */
export interface TrackerEnv {
  /**
   * POSTs a body as a keepalive request (finished by the browser even if the page goes away);
   * resolves with the status and Retry-After header once the response body is read (only then
   * does the browser free the request's share of the keepalive budget); rejects on network errors
   * and when the browser refuses the request (over the budget).
   */
  send(
    url: string,
    body: string,
    headers: Record<string, string>,
  ): Promise<{ status: number; retryAfter: string | null }>;
  /** Persistent storage (localStorage) shared by the site's tabs; undefined or throwing → memory only. */
  storage?: Pick<Storage, 'getItem' | 'setItem' | 'removeItem' | 'key' | 'length'>;
  page(): PageContext;
  /** The wall clock in ms (Date.now by default): event times, sessions, leases, Retry-After dates. */
  now?(): number;
}

export interface Tracker {
  /** Tracks one event; the typed API (createEventApi) calls this. */
  track: TrackFn;
  /** Sends waiting events now, even while backing off (e.g. when the browser comes back online). */
  flush(): void;
  /**
   * The page is being hidden: sends what waits in keepalive requests within the browser's budget
   * and marks everything in flight as handed off. `leaving` (pagehide): the page may be gone next,
   * so its queue is released for the next page to adopt at once. Calling it again sends nothing twice.
   */
  flushOnHide(leaving?: boolean): void;
  /** Grants (true) or revokes (false) consent; revoking clears the queue and the identifiers. */
  consent(granted: boolean): void;
}

/** A page's queue as stored: drop count, hand-off times by event_id, events oldest first. */
interface StoredQueue {
  d?: number;
  h?: Record<string, number>;
  q?: QueuedEvent[];
}

/** Chromium gives a page 64 KiB of keepalive request bodies in flight (fetch keepalive and sendBeacon). */
const KEEPALIVE_BUDGET = 65_536;
/** Largest request body: a full one in flight still leaves a little budget for a page hide. */
const MAX_BODY_BYTES = 60_000;
/** Room for `{"sent_at":"…","events":[…],"dropped":n}` around the events of a request. */
const BATCH_OVERHEAD_BYTES = 100;
/** A page renews its lease this often (a hidden tab's timers may run only once a minute)… */
const HEARTBEAT_MS = 5000;
/** …and its queue is adopted by another page once the lease is this old. */
const LEASE_MS = 120_000;
const PREFIX = 'clickstream.';
/** A page's queue `q.<tab>`, or the one shared `q` of trackers before per-tab queues. */
const QUEUE_KEY = /^clickstream\.q(\..+)?$/;

const utf8 = new TextEncoder();
const bytes = (s: string) => utf8.encode(s).length;

/** RFC 4122 v4 UUID from getRandomValues, which (unlike randomUUID) also works on plain-http pages. */
export function uuid(): string {
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6]! & 15) | 64;
  b[8] = (b[8]! & 63) | 128;
  let s = '';
  for (let i = 0; i < 16; i++) s += (i > 3 && i < 11 && !(i & 1) ? '-' : '') + (b[i]! + 256).toString(16).slice(1);
  return s;
}

export function createTracker(config: TrackerConfig, env: TrackerEnv): Tracker {
  const {
    endpoint,
    batchSize = 10,
    flushIntervalMs = 5000,
    maxQueueEvents = 1000,
    maxQueueBytes = 500_000,
    maxEventBytes = 32_768,
    retryBaseMs = 1000,
    retryMaxMs = 60_000,
    sessionTimeoutMs = 1_800_000,
    handOffGraceMs = 10_000,
  } = config;
  const now = env.now ?? Date.now;
  const iso = () => new Date(now()).toISOString();
  let storage = env.storage;
  /** This page's suffix of its storage keys. */
  const tab = `.${uuid().slice(0, 8)}`;
  /** Client id and session before consent or without storage. */
  let memory: Record<string, string | undefined> = {};
  /** This page's queue, oldest first; storage holds a copy (this page is its only writer). */
  let queue: QueuedEvent[] = [];
  /** event_id → when a page hide handed the event off (stored with the queue). */
  let handedOff: Record<string, number> = {};
  /** Events dropped (bounds, size, refusals) and not yet reported; `reporting` of them ride on a request in flight. */
  let dropped = 0;
  let reporting = 0;
  const inflight = new Set<QueuedEvent>();
  let inflightBytes = 0;
  /** Most events per request: halved when the server answers 413 for a batch. */
  let cap = maxQueueEvents;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let heartbeat: ReturnType<typeof setInterval> | undefined;
  let failures = 0;
  /** The auth hook's last answer, for a page hide that cannot wait for an asynchronous hook. */
  let token: string | null | undefined;
  /** What the server accepts (MAX_EVENT_BYTES) and what fits one request with its separator. */
  const maxBytes = Math.min(maxEventBytes, MAX_BODY_BYTES - BATCH_OVERHEAD_BYTES - 1);
  /** Each queued event's JSON, serialised once however often the queue is written. */
  const jsonOf = new WeakMap<QueuedEvent, string>();
  const toJson = (e: QueuedEvent) => {
    let s = jsonOf.get(e);
    if (s === undefined) {
      s = JSON.stringify(e);
      jsonOf.set(e, s);
    }
    return s;
  };
  /** Measured as sent, the way ingest measures MAX_EVENT_BYTES; an oversized event is counted as dropped. */
  const oversized = (e: QueuedEvent) => {
    const n = bytes(toJson(e));
    if (n <= maxBytes) return false;
    dropped++;
    config.onOversized?.(e, n);
    return true;
  };

  const stored = (k: string): string | null | undefined => {
    try {
      return storage?.getItem(PREFIX + k);
    } catch {}
  };
  const remove = (k: string) => {
    try {
      storage?.removeItem(PREFIX + k);
    } catch {}
  };
  /** undefined: not decided yet; false: refused or revoked. */
  let granted: boolean | undefined =
    { 1: true, 0: false }[stored('c') ?? ''] ?? (config.consent === 'granted' || undefined);

  /** Reads storage afresh each time, so tabs share the client id and session. */
  const get = (k: string) => {
    if (granted && storage) memory[k] = stored(k) ?? undefined;
    return memory[k];
  };
  const put = (k: string, v: string) => {
    try {
      if (granted) storage?.setItem(PREFIX + k, v);
    } catch {
      // Quota exceeded or storage disabled mid-page: carry on in memory.
      storage = undefined;
    }
  };
  const set = (k: string, v: string) => {
    memory[k] = v;
    put(k, v);
  };
  const keys = () => {
    const found: string[] = [];
    try {
      for (let i = 0; storage && i < storage.length; i++) found.push(storage.key(i)!);
    } catch {}
    return found;
  };

  /** Stores this page's queue, dropping the oldest events beyond the count and size bounds. */
  function save() {
    const parts = queue.map(toJson);
    const marks = JSON.stringify(handedOff);
    // `{"d":n,"h":{…},"q":[a,b]}`: each part with its comma or bracket, the rest at most 40.
    let size = 40 + marks.length;
    for (const p of parts) size += p.length + 1;
    let n = 0;
    while (n < parts.length && (queue.length - n > maxQueueEvents || size > maxQueueBytes))
      size -= parts[n++]!.length + 1;
    for (const e of queue.splice(0, n)) delete handedOff[e.event_id];
    dropped += n;
    put(`q${tab}`, `{"d":${dropped},"h":${n ? JSON.stringify(handedOff) : marks},"q":[${parts.slice(n)}]}`);
  }

  /** Takes over the stored queue of another page (`key`: its suffix), stores it as ours, then removes its keys. */
  function adopt(key: string) {
    let other: StoredQueue | QueuedEvent[] | undefined;
    try {
      other = JSON.parse(stored(`q${key}`)!);
    } catch {}
    // A tracker before per-tab queues stored a bare array of events, and its drop count in `d`.
    const { q, h = {}, d = 0 } = Array.isArray(other) ? { q: other } : (other ?? {});
    const ids = new Set(queue.map((e) => e.event_id));
    const adopted = (Array.isArray(q) ? q : []).filter((e) => e?.event_id && !ids.has(e.event_id) && !oversized(e));
    for (const e of adopted) if (h?.[e.event_id]) handedOff[e.event_id] = h[e.event_id]!;
    queue = [...adopted, ...queue];
    dropped += (+d || 0) + (+stored(`d${key}`)! || 0);
    save();
    for (const k of 'qld') remove(k + key);
  }

  /** Renews this page's lease, stores its queue again if another page took it, and adopts queues whose lease is over. */
  function beat() {
    if (!granted || !storage) return;
    // Revoked in another tab: this one stops too, instead of storing identifiers again.
    if (stored('c') === '0') return consent(false);
    put(`l${tab}`, String(now()));
    // Taken while this page was frozen or throttled past its lease: both now hold the events.
    if (stored(`q${tab}`) == null) save();
    for (const k of keys()) {
      const m = QUEUE_KEY.exec(k);
      const key = m?.[1] ?? '';
      // No lease (a tracker before leases), released (`0`) or not renewed for LEASE_MS.
      if (m && key !== tab && !(now() - +stored(`l${key}`)! < LEASE_MS)) adopt(key);
    }
    schedule();
  }

  function stamp(e: QueuedEvent) {
    const t = now();
    let clientId = get('cid');
    const first = !clientId;
    if (!clientId) {
      clientId = uuid();
      set('cid', clientId);
    }
    let [sessionId, last] = (get('s') ?? '').split(' ');
    if (!sessionId || t - Number(last) > sessionTimeoutMs) sessionId = uuid();
    set('s', `${sessionId} ${t}`);
    e.client_id = clientId;
    e.session_id = sessionId;
    e.is_first_visit = first;
    // An event that waited for consent was serialised without its identity.
    jsonOf.delete(e);
    config.onEvent?.(e as EventEnvelope);
  }

  /** Events to send: not in flight, and not handed off by a hide less than the grace period ago. */
  const ready = () =>
    queue.filter((e) => !inflight.has(e) && !(Math.abs(now() - handedOff[e.event_id]!) < handOffGraceMs));

  /** The oldest ready events whose request body fits `budget` bytes, and that body's size at most. */
  function nextBatch(budget = MAX_BODY_BYTES): [QueuedEvent[], number] {
    const batch: QueuedEvent[] = [];
    let size = BATCH_OVERHEAD_BYTES;
    for (const e of ready()) {
      const n = bytes(toJson(e)) + 1;
      if (size + n > Math.min(budget, MAX_BODY_BYTES) || batch.length >= cap) break;
      size += n;
      batch.push(e);
    }
    return [batch, size];
  }

  function schedule() {
    if (timer || inflight.size || !granted || !queue.length) return;
    let wait = ready().length < batchSize ? flushIntervalMs : 0;
    // Or as soon as the first event waiting out a hand-off's grace period is ready.
    for (const e of queue) {
      const mark = handedOff[e.event_id];
      if (mark) wait = Math.min(wait, mark + handOffGraceMs - now());
    }
    timer = setTimeout(flush, wait);
  }

  /**
   * `size`: the body's bytes at most, counted against the keepalive budget from now on (the body
   * itself is built once the auth hook answered). `hiding`: the request must start before the hide
   * handler returns, with the last token.
   */
  async function send([batch, size]: [QueuedEvent[], number], hiding?: boolean) {
    for (const e of batch) inflight.add(e);
    inflightBytes += size;
    const report = reporting ? 0 : dropped;
    reporting += report;
    let status = 0;
    let retryAfter: string | null = null;
    try {
      if (!hiding) token = await config.auth?.();
      ({ status, retryAfter } = await env.send(
        endpoint,
        JSON.stringify({ sent_at: iso(), events: batch, ...(report && { dropped: report }) }),
        // Without a token the request is CORS-simple (text/plain): no preflight round trip.
        token
          ? { 'content-type': 'application/json', authorization: `Bearer ${token}` }
          : { 'content-type': 'text/plain' },
      ));
    } catch {
      // Network error, a request the browser refused, or an auth hook that threw: retried like a 5xx.
      // Chromium also rejects a keepalive request's promise as its page unloads, though the browser
      // still delivers it: events handed off at a hide therefore keep their mark when their request
      // fails, and are sent again (by this page or the next) only once the grace period is over.
    }
    inflightBytes -= size;
    reporting -= report;
    for (const e of batch) inflight.delete(e);
    if (status === 413 && batch.length > 1) {
      // Too large for this server as a whole: retried in halves, so one event never takes others down.
      cap = Math.ceil(batch.length / 2);
      flush();
    } else if (status === 429 || status > 499 || status < 200) {
      failures++;
      const backoff = Math.min(retryMaxMs, retryBaseMs * 2 ** (failures - 1));
      const serverWait = retryAfter
        ? Number.isNaN(+retryAfter)
          ? Date.parse(retryAfter) - now()
          : +retryAfter * 1000
        : 0;
      clearTimeout(timer);
      timer = setTimeout(flush, Math.max(serverWait || 0, backoff / 2 + (Math.random() * backoff) / 2));
    } else {
      failures = 0;
      // A final refusal (4xx) recorded nothing: its events are dropped, the count it carried still unreported.
      if (status > 299) dropped += batch.length;
      else dropped -= report;
      for (const e of batch) delete handedOff[e.event_id];
      queue = queue.filter((e) => !batch.includes(e));
      save();
      schedule();
    }
  }

  function flush() {
    clearTimeout(timer);
    timer = undefined;
    if (granted && !inflight.size) {
      const next = nextBatch();
      if (next[0].length) send(next);
      else schedule();
    }
  }

  function flushOnHide(leaving?: boolean) {
    if (!granted) return;
    try {
      // A synchronous hook answers now; an asynchronous one is represented by its last answer.
      const answer = config.auth?.();
      if (!answer || typeof answer !== 'object') token = answer;
    } catch {}
    // Oldest first, as the queue drains, in requests that fit what is left of the keepalive
    // budget; what does not fit stays queued, unmarked, for the next page to send at once.
    for (let next = nextBatch(KEEPALIVE_BUDGET - inflightBytes); next[0].length; ) {
      send(next, true);
      next = nextBatch(KEEPALIVE_BUDGET - inflightBytes);
    }
    // Nothing handed off is trusted: it stays stored, and the next page resends it after the grace period.
    const t = now();
    for (const e of inflight) handedOff[e.event_id] = t;
    save();
    if (leaving) put(`l${tab}`, '0');
  }

  const track: TrackFn = (eventName, eventVersion, properties) => {
    if (granted === false) return;
    const e: QueuedEvent = {
      event_name: eventName,
      event_version: eventVersion,
      event_id: uuid(),
      event_timestamp: iso(),
      page: env.page(),
      properties: properties as QueuedEvent['properties'],
    };
    if (granted) stamp(e);
    // An event still waiting for consent is measured again once stamped.
    if (!oversized(e)) queue.push(e);
    save();
    if (granted && !failures && ready().length >= batchSize) flush();
    else schedule();
  };

  function start() {
    // The lease first (beat stores the queue after it), so no other page takes the queue for an orphan's.
    beat();
    heartbeat = setInterval(beat, HEARTBEAT_MS);
    flush();
  }

  function consent(yes: boolean) {
    if (yes === granted) return;
    if (yes) {
      granted = true;
      set('c', '1');
      for (const e of queue) stamp(e);
      queue = queue.filter((e) => !oversized(e));
      start();
    } else {
      granted = false;
      clearTimeout(timer);
      clearInterval(heartbeat);
      timer = undefined;
      queue = [];
      handedOff = {};
      dropped = 0;
      memory = {};
      for (const k of keys()) if (k.startsWith(PREFIX)) remove(k.slice(PREFIX.length));
      try {
        // The refusal itself is kept (it identifies no one), so the next page does not track either.
        storage?.setItem(`${PREFIX}c`, '0');
      } catch {}
    }
  }

  if (granted) start();
  return { track, flush, flushOnHide, consent };
}
