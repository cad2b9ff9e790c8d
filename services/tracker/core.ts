/**
 * The tracker core: queue, batching, retry, identity, session and consent. It knows nothing of the
 * DOM; the browser adapter (browser.ts) gives it a transport, storage and the page context, and unit
 * tests give it fakes. Every byte here ships to every shopper, so the code is deliberately terse.
 *
 * Delivery is at-least-once: an event leaves the queue only when the server acknowledged it (2xx),
 * refused it for good (4xx other than 429), or the page is going away with the event in a beacon
 * or in a keepalive request the browser finishes on its own; retries resend the same event_id so
 * the pipeline deduplicates.
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
  /** Most events kept while the server is unreachable; the oldest are dropped first. Default 1000. */
  maxQueueEvents?: number;
  /** Most characters of queued JSON (what localStorage quotas count). Default 500 000. */
  maxQueueBytes?: number;
  /** Events larger than this (UTF-8 JSON, at most 60 000) are dropped at track time, as the server would refuse them. Default 32 768. */
  maxEventBytes?: number;
  /** First retry delay; doubles per failure, with jitter, up to retryMaxMs. Default 1000 ms. */
  retryBaseMs?: number;
  /** Longest retry delay (a longer Retry-After is still honoured). Default 60 000 ms. */
  retryMaxMs?: number;
  /** Inactivity after which the next event starts a new session. Default 30 minutes. */
  sessionTimeoutMs?: number;
  /** Consent before the shopper decided: `pending` keeps events in memory only and sends nothing. Default `pending`. */
  consent?: 'granted' | 'pending';
  /** Supplies the Cognito ID token sent as `Authorization: Bearer …`; should answer quickly (cached token). */
  auth?: AuthHook;
  /** Sees every complete wire event before it is queued; the debug build validates here. */
  onEvent?: (event: EventEnvelope) => void;
}

/** What the core needs from its surroundings. */
export interface TrackerEnv {
  /**
   * POSTs a JSON body as a keepalive request (finished by the browser even if the page goes
   * away); resolves with the status and Retry-After header, rejects on network errors.
   */
  send(
    url: string,
    body: string,
    headers: Record<string, string>,
  ): Promise<{ status: number; retryAfter: string | null }>;
  /** Hands a text/plain body to the browser to deliver after the page is gone; false when refused. */
  beacon(url: string, body: string): boolean;
  /** Persistent storage (localStorage); undefined or throwing → memory only. */
  storage?: Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;
  page(): PageContext;
  /** The wall clock in ms (Date.now by default): event times, sessions, Retry-After dates. */
  now?(): number;
}

export interface Tracker {
  /** Tracks one event; the typed API (createEventApi) calls this. */
  track: TrackFn;
  /** Sends waiting events now, even while backing off (e.g. when the browser comes back online). */
  flush(): void;
  /** Hands what is left to the browser while the page is being hidden or unloaded (sendBeacon). */
  flushOnHide(): void;
  /** Grants (true) or revokes (false) consent; revoking clears the queue and the identifiers. */
  consent(granted: boolean): void;
}

/** Beacons and keepalive requests share a 64 KiB in-flight budget per page; stay under it. */
const MAX_BATCH_BYTES = 60_000;
/** Storage keys: queue, client id, session "id lastActivityMs", dropped-events counter, consent. */
const KEYS = ['q', 'cid', 's', 'd', 'c'] as const;
type Key = (typeof KEYS)[number];
const PREFIX = 'clickstream.';

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
  } = config;
  const now = env.now ?? Date.now;
  const iso = () => new Date(now()).toISOString();
  let storage = env.storage;
  /** Memory copy of every key: the only store before consent or when storage fails. */
  let memory: Partial<Record<Key, string>> = {};
  /**
   * Events this tab may send: its own and all queued when it started, including those of tabs still
   * open (no ownership is kept: a copy sent by two tabs has one event_id, which the load dedupes).
   */
  const mine = new Set<string>();
  const inflight = new Set<string>();
  /** In-flight events a page hide took out of storage, trusting their keepalive request. */
  const handedOff = new Set<string>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let failures = 0;
  /** The auth hook's last answer, for a page hide that cannot wait for an asynchronous hook. */
  let token: string | null | undefined;
  /** What the server accepts (MAX_EVENT_BYTES) and what fits one request with its separator. */
  const maxBytes = Math.min(maxEventBytes, MAX_BATCH_BYTES - 1);
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
  const tooBig = (e: QueuedEvent) => bytes(toJson(e)) > maxBytes;

  const stored = (k: Key): string | null | undefined => {
    try {
      return storage?.getItem(PREFIX + k);
    } catch {}
  };
  /** undefined: not decided yet; false: refused or revoked. */
  let granted: boolean | undefined =
    { 1: true, 0: false }[stored('c') ?? ''] ?? (config.consent === 'granted' || undefined);

  /** Reads storage afresh each time, so tabs see each other's session and queue. */
  const get = (k: Key) => {
    if (granted && storage) memory[k] = stored(k) ?? undefined;
    return memory[k];
  };
  const set = (k: Key, v: string) => {
    memory[k] = v;
    try {
      if (granted) storage?.setItem(PREFIX + k, v);
    } catch {
      // Quota exceeded or storage disabled mid-page: carry on in memory.
      storage = undefined;
    }
  };
  /** The last queue read or written and its JSON: parsed again only when another tab changed it. */
  let cached: [string | undefined, QueuedEvent[]] = ['[]', []];
  /** The stored queue; anything unreadable (another script wrote the key) counts as empty, never throws at the site. */
  const readQueue = (): QueuedEvent[] => {
    const json = get('q');
    if (json !== cached[0]) {
      let queue = [];
      try {
        queue = JSON.parse(json ?? '[]');
      } catch {}
      cached = [json, Array.isArray(queue) ? queue : []];
    }
    return cached[1];
  };
  const addDropped = (n: number) => set('d', String(+(get('d') ?? 0) + n));
  /** Takes the dropped count for a request to report; whoever fails to deliver it puts it back. */
  const takeDropped = () => {
    const n = +(get('d') ?? 0);
    if (n) set('d', '0');
    return n;
  };

  /** Stores the queue (a fresh array, kept as the cache), dropping the oldest events beyond the count and size bounds. */
  function writeQueue(queue: QueuedEvent[]) {
    const parts = queue.map(toJson);
    // Length of `[a,b,c]`: each part with its comma or bracket, plus the opening bracket.
    let size = 1;
    for (const p of parts) size += p.length + 1;
    let n = 0;
    while (n < parts.length && (queue.length - n > maxQueueEvents || size > maxQueueBytes))
      size -= parts[n++]!.length + 1;
    if (n) {
      for (const e of queue.splice(0, n)) mine.delete(e.event_id);
      addDropped(n);
    }
    const json = `[${parts.slice(n)}]`;
    set('q', json);
    cached = [json, queue];
  }

  function remove(batch: QueuedEvent[]) {
    const ids = new Set(batch.map((e) => e.event_id));
    for (const id of ids) {
      mine.delete(id);
      handedOff.delete(id);
    }
    writeQueue(readQueue().filter((e) => !ids.has(e.event_id)));
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

  const pending = () => readQueue().filter((e) => mine.has(e.event_id) && !inflight.has(e.event_id));

  /** The oldest sendable events that fit one request. */
  function nextBatch() {
    const batch: QueuedEvent[] = [];
    let size = 0;
    for (const e of pending()) {
      const n = bytes(toJson(e)) + 1;
      // Stored by another tab or an older tracker: it fits no request and would block all behind it.
      if (n > MAX_BATCH_BYTES) {
        remove([e]);
        addDropped(1);
        continue;
      }
      size += n;
      if (size > MAX_BATCH_BYTES) break;
      batch.push(e);
    }
    return batch;
  }

  const body = (events: QueuedEvent[], dropped: number) =>
    JSON.stringify({ sent_at: iso(), events, ...(dropped && { dropped }) });

  function schedule() {
    if (timer || inflight.size || !granted) return;
    const n = pending().length;
    if (n) timer = setTimeout(flush, n < batchSize ? flushIntervalMs : 0);
  }

  /** `known`: a token to send right away (a page hide must start its request before it returns). */
  async function send(batch: QueuedEvent[], known?: string) {
    for (const e of batch) inflight.add(e.event_id);
    const dropped = takeDropped();
    let status = 0;
    let retryAfter: string | null = null;
    try {
      if (!known) token = await config.auth?.();
      ({ status, retryAfter } = await env.send(
        endpoint,
        body(batch, dropped),
        // Without a token the request is CORS-simple (text/plain): no preflight round trip.
        token
          ? { 'content-type': 'application/json', authorization: `Bearer ${token}` }
          : { 'content-type': 'text/plain' },
      ));
    } catch {
      // Network error, CORS failure or an auth hook that threw: retried like a 5xx.
    }
    for (const e of batch) inflight.delete(e.event_id);
    if (status === 429 || status > 499 || status < 200) {
      failures++;
      // A hide trusted this request (see flushOnHide) but it failed. The page also fails it when it
      // unloads while the browser still delivers it, so queue the events again only from a later
      // task: that runs only if the page lives on.
      const lost = batch.filter((e) => handedOff.delete(e.event_id));
      const requeue = () => {
        addDropped(dropped);
        if (lost.length && granted) writeQueue([...lost, ...readQueue()]);
      };
      if (lost.length) setTimeout(requeue);
      else requeue();
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
      remove(batch);
      // A refused request recorded nothing: its events are dropped, its count still unreported.
      if (status > 299) addDropped(batch.length + dropped);
      schedule();
    }
  }

  function flush() {
    clearTimeout(timer);
    timer = undefined;
    if (granted && !inflight.size) {
      const batch = nextBatch();
      if (batch.length) send(batch);
    }
  }

  /**
   * While the server answers, requests in flight are trusted like beacons: the browser finishes
   * keepalive requests after the page is gone, so the next page must not send their events again.
   */
  function handOff() {
    for (const id of inflight) handedOff.add(id);
    writeQueue(readQueue().filter((e) => !inflight.has(e.event_id)));
  }

  function flushOnHide() {
    if (!granted) return;
    try {
      // A synchronous hook answers now; an asynchronous one is represented by its last answer.
      const answer = config.auth?.();
      if (!answer || typeof answer !== 'object') token = answer;
    } catch {}
    if (!failures) handOff();
    for (let batch = nextBatch(); batch.length; batch = nextBatch()) {
      // While the server is failing a beacon would be lost unseen: send a request whose events
      // stay queued until acknowledged (and are resent by the next page if this one is gone).
      if (failures) return void send(batch, token || undefined);
      // A beacon cannot carry Authorization: a signed-in shopper's events go by keepalive request.
      if (token) {
        send(batch, token);
        handOff();
        continue;
      }
      const dropped = takeDropped();
      if (!env.beacon(endpoint, body(batch, dropped))) {
        addDropped(dropped);
        return void send(batch);
      }
      remove(batch);
    }
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
    // Measured as sent (an event still waiting for consent is measured again once stamped).
    if (tooBig(e)) return addDropped(1);
    mine.add(e.event_id);
    writeQueue([...readQueue(), e]);
    if (granted && !failures && pending().length >= batchSize) flush();
    else schedule();
  };

  function consent(yes: boolean) {
    if (yes === granted) return;
    if (yes) {
      const early = readQueue();
      granted = true;
      set('c', '1');
      // Without storage the queue read now is the memory one that holds the early events.
      const queue = readQueue().filter((e) => !early.includes(e));
      for (const e of queue) mine.add(e.event_id);
      for (const e of early) stamp(e);
      const fit = early.filter((e) => !tooBig(e));
      addDropped(early.length - fit.length);
      writeQueue([...queue, ...fit]);
      flush();
    } else {
      granted = false;
      clearTimeout(timer);
      timer = undefined;
      mine.clear();
      memory = {};
      for (const k of KEYS) {
        try {
          storage?.removeItem(PREFIX + k);
        } catch {}
      }
      try {
        // The refusal itself is kept (it identifies no one), so the next page does not track either.
        storage?.setItem(`${PREFIX}c`, '0');
      } catch {}
    }
  }

  if (granted) {
    for (const e of readQueue()) mine.add(e.event_id);
    flush();
  }
  return { track, flush, flushOnHide, consent };
}
