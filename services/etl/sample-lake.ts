/**
 * Deterministic enriched events and lake objects for the ETL's tests and benchmark. Payloads are
 * the registry's own valid fixtures (schemas/events/<name>/fixtures/valid/*.json), so every event
 * model is exercised with realistic properties and nothing here restates the schemas; the
 * envelope (ids, times, sessions) and the server enrichment are generated from a seed.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ulid } from 'ulid';
import { encodeJsonlLines } from '../lake/jsonl.ts';
import { hourOfKey, type ObjectMetadata, objectKey, type RawStore } from '../lake/raw-store.ts';
import { prng } from '../random.ts';

const EVENTS_DIR = fileURLToPath(new URL('../../schemas/events/', import.meta.url));

export type SampleEvent = Record<string, unknown> & {
  event_id: string;
  event_name: string;
  event_timestamp: string;
  received_at: string;
  session_id: string;
};

function loadTemplates(): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const name of readdirSync(EVENTS_DIR).sort()) {
    const dir = path.join(EVENTS_DIR, name, 'fixtures', 'valid');
    let files: string[];
    try {
      files = readdirSync(dir).sort();
    } catch {
      continue;
    }
    for (const f of files) out.push(JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as Record<string, unknown>);
  }
  if (!out.length) throw new Error(`no valid event fixtures under ${EVENTS_DIR}`);
  return out;
}

function uuidV4(rand: () => number): string {
  const hex = Array.from({ length: 32 }, () => Math.floor(rand() * 16).toString(16));
  hex[12] = '4';
  hex[16] = '89ab'[Math.floor(rand() * 4)] as string;
  const h = hex.join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export interface SampleOptions {
  /** Receive time of the first event. */
  start: Date;
  /** Events are spread evenly over this many hours of receive time. */
  spanHours: number;
  seed?: number;
  eventsPerSession?: number;
}

/** `count` enriched events in receive-time order, as the ingest service writes them. */
export function* sampleEvents(count: number, opts: SampleOptions): Generator<SampleEvent> {
  const templates = loadTemplates();
  const seed = opts.seed ?? 1;
  const rand = prng(seed);
  const perSession = opts.eventsPerSession ?? 12;
  const stepMs = (opts.spanHours * 3_600_000) / Math.max(count, 1);
  for (let i = 0; i < count; i++) {
    const template = templates[Math.floor(rand() * templates.length)] as Record<string, unknown>;
    const session = Math.floor(i / perSession);
    const receivedAt = new Date(opts.start.getTime() + Math.floor(i * stepMs));
    const eventAt = new Date(receivedAt.getTime() - 1500);
    const loggedIn = session % 3 === 0;
    yield {
      ...template,
      event_name: String(template.event_name),
      event_id: uuidV4(rand),
      event_timestamp: eventAt.toISOString(),
      client_id: `c-${seed}-${Math.floor(session / 2)}`,
      session_id: `s-${seed}-${session}`,
      is_first_visit: i % perSession === 0 && session % 2 === 0,
      received_at: receivedAt.toISOString(),
      client_event_timestamp: new Date(eventAt.getTime() + 700).toISOString(),
      user_id: loggedIn ? `u-${seed}-${Math.floor(session / 2)}` : null,
      user_login_state: loggedIn ? 'logged_in' : 'guest',
      identity_source: loggedIn ? 'cognito' : 'anonymous',
      user_agent: 'Mozilla/5.0 (sample)',
      ip: '203.0.113.0',
    } as SampleEvent;
  }
}

/**
 * Writes events to the lake like the ingest writer: one gzipped JSON-lines object per batch of
 * `perObject` events, under the hour of the batch's first receive time, with `metadata` (the
 * ingest writer's is `{ registryHash: REGISTRY_HASH }`; none: the ETL validates every line).
 * Returns the keys.
 */
export async function writeSampleLake(
  store: RawStore,
  events: Iterable<Record<string, unknown>>,
  perObject: number,
  metadata?: ObjectMetadata,
): Promise<string[]> {
  const keys: string[] = [];
  let lines: string[] = [];
  let hour: Date | undefined;
  const flush = async () => {
    if (!lines.length || !hour) return;
    const key = objectKey('events', hour, ulid(hour.getTime()));
    await store.put(key, encodeJsonlLines(lines), metadata);
    keys.push(key);
    lines = [];
  };
  for (const e of events) {
    const at = new Date(String(e.received_at));
    const eventHour = hourOfKey(objectKey('events', at, 'x'));
    if (hour && eventHour && eventHour.getTime() !== hour.getTime()) await flush();
    if (!lines.length) hour = eventHour;
    lines.push(JSON.stringify(e));
    if (lines.length >= perObject) await flush();
  }
  await flush();
  return keys;
}
