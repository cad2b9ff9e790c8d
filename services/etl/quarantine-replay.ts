/**
 * Reading and replaying the lake's quarantine (Snowplow calls this recovery), straight from the
 * lake through the RawStore, so it works on S3 and on files whatever the warehouse holds.
 *
 * `listQuarantine` yields every rejected line of a receive-time range with its rule, path and
 * message; `replayQuarantine` validates each again with the CURRENT registry — the same
 * validateAndMapLine the ETL loads with (generated validators, enrichment schema, storable check) — and
 * writes the ones that now pass into one new `events/` object of the replay's hour, with their
 * original event_id and received_at. The object goes under the hour of the replay, not of the
 * original receipt, so that the next `etl run` finds it inside its window instead of reporting it
 * as older than the look-back. Which lines were replayed is recorded next to the quarantine object
 * (`replayed/…/<name>.jsonl.gz`, raw-store.ts), so a second replay does nothing. The record is
 * written after the events object: a crash in between makes the next replay write those events
 * again, and the ETL's event_id dedupe still loads each exactly once.
 *
 * What ingest quarantined was never enriched: its record keeps the event as sent and the receive
 * time, not the caller's identity, user agent or clock skew (ingest does not store them for a
 * rejected event). A replayed ingest rejection is therefore a guest event (user_id null,
 * identity_source anonymous) with event_timestamp as the tracker sent it. What the ETL quarantined
 * is a complete lake line and is replayed as it was.
 */
import { ulid } from 'ulid';
import { decodeJsonl, encodeJsonl, encodeJsonlLines } from '../lake/jsonl.ts';
import { dayPrefix, hourOfKey, objectKey, type RawStore, replayRecordKey } from '../lake/raw-store.ts';
import { daysOf, floorHour } from '../time.ts';
import { validateAndMapLine } from './parse.ts';
import type { ReceiveWindow } from './plan.ts';

export interface QuarantinedLine {
  /** `<quarantine object key>#<line>`: what `quarantine show` takes. */
  id: string;
  objectKey: string;
  /** 0-based line in the object. */
  line: number;
  source: 'ingest' | 'etl';
  receivedAt: string | null;
  eventName: string | null;
  eventVersion: number | null;
  eventId: string | null;
  rule: string;
  path: string;
  message: string;
  errors: { path: string; rule: string; message: string }[];
  /** The rejected event: the wire event as sent (ingest) or the lake line (etl); null when unread. */
  raw: unknown;
  /** The events/ object it was replayed into, if it was. */
  replayedTo: string | null;
}

export interface QuarantineFilter {
  event?: string;
  rule?: string;
}

interface ReplayRecord {
  /** line number → events object it went to */
  lines: Record<string, { event_id: string; events_object: string; replayed_at: string }>;
}

const readRecord = (body: Uint8Array) => JSON.parse(decodeJsonl(body)[0] ?? '{"lines":{}}') as ReplayRecord;

const asObject = (v: unknown): Record<string, unknown> | undefined =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The quarantine objects of the window's hours, in key order, with their replay records. */
async function* quarantineObjects(store: RawStore, window: ReceiveWindow) {
  const from = floorHour(window.start).getTime();
  for (const day of daysOf(window.start, window.end)) {
    const records = new Set<string>();
    for await (const o of store.list(dayPrefix('replayed', day))) records.add(o.key);
    for await (const o of store.list(dayPrefix('quarantine', day))) {
      const hour = hourOfKey(o.key)?.getTime();
      if (hour === undefined || hour < from || hour >= window.end.getTime()) continue;
      const recordKey = replayRecordKey(o.key);
      const record: ReplayRecord = records.has(recordKey) ? readRecord(await store.get(recordKey)) : { lines: {} };
      yield { key: o.key, recordKey, record, lines: decodeJsonl(await store.get(o.key)) };
    }
  }
}

function describeLine(key: string, line: number, text: string, record: ReplayRecord): QuarantinedLine {
  const parsed = asObject(parseJson(text));
  const source = key.slice(key.lastIndexOf('/') + 1).startsWith('etl-') ? 'etl' : 'ingest';
  const errors = Array.isArray(parsed?.errors)
    ? (parsed.errors as Record<string, unknown>[]).map((e) => ({
        path: String(e?.path ?? ''),
        rule: String(e?.rule ?? ''),
        message: String(e?.message ?? ''),
      }))
    : [{ path: '', rule: 'quarantine_record', message: 'the quarantine line is not a { raw, errors } record' }];
  const raw = parsed ? parsed.raw : text;
  const event = asObject(typeof raw === 'string' ? parseJson(raw) : raw);
  const first = errors[0] as { path: string; rule: string; message: string };
  return {
    id: `${key}#${line}`,
    objectKey: key,
    line,
    source,
    receivedAt: typeof parsed?.received_at === 'string' ? parsed.received_at : null,
    eventName: typeof event?.event_name === 'string' ? event.event_name : null,
    eventVersion: typeof event?.event_version === 'number' ? event.event_version : null,
    eventId: typeof event?.event_id === 'string' ? event.event_id : null,
    ...first,
    errors,
    raw: raw ?? null,
    replayedTo: record.lines[line]?.events_object ?? null,
  };
}

const matches = (q: QuarantinedLine, f: QuarantineFilter) =>
  (!f.event || q.eventName === f.event) && (!f.rule || q.errors.some((e) => e.rule === f.rule));

/** Every quarantined line of the window (by receive hour of its quarantine object) that matches. */
export async function* listQuarantine(
  store: RawStore,
  window: ReceiveWindow,
  filter: QuarantineFilter = {},
): AsyncGenerator<QuarantinedLine> {
  for await (const o of quarantineObjects(store, window)) {
    for (let i = 0; i < o.lines.length; i++) {
      const q = describeLine(o.key, i, o.lines[i] as string, o.record);
      if (matches(q, filter)) yield q;
    }
  }
}

/** One quarantined line by its id (`<key>#<line>`), or undefined when the object has no such line. */
export async function showQuarantined(store: RawStore, id: string): Promise<QuarantinedLine | undefined> {
  const m = /^(quarantine\/.+\.jsonl\.gz)#(\d+)$/.exec(id);
  if (!m) throw new Error(`a quarantined line is named <quarantine key>#<line>, got ${JSON.stringify(id)}`);
  const key = m[1] as string;
  const line = Number(m[2]);
  const lines = decodeJsonl(await store.get(key));
  let record: ReplayRecord = { lines: {} };
  const recordKey = replayRecordKey(key);
  for await (const o of store.list(recordKey)) {
    if (o.key === recordKey) record = readRecord(await store.get(recordKey));
  }
  return line < lines.length ? describeLine(key, line, lines[line] as string, record) : undefined;
}

/** The lake line a quarantined event would have been, or undefined when nothing can be replayed. */
export function candidateLine(q: QuarantinedLine): string | undefined {
  if (q.source === 'etl') return typeof q.raw === 'string' ? q.raw : undefined;
  const event = asObject(q.raw);
  if (!event || q.receivedAt === null) return undefined;
  // What ingest would have added; identity, user agent and skew were not kept (see the header).
  const enriched: Record<string, unknown> = {
    ...event,
    ...(typeof event.event_id === 'string' ? { event_id: event.event_id.toLowerCase() } : {}),
    received_at: q.receivedAt,
    client_event_timestamp: event.event_timestamp,
    user_id: null,
    user_login_state: 'guest',
    identity_source: 'anonymous',
  };
  return JSON.stringify(enriched);
}

export interface ReplayResult {
  /** Quarantined lines of the window matching the filter. */
  lines: number;
  replayed: number;
  alreadyReplayed: number;
  /** Still refused by the current registry (or not replayable: no event was kept). */
  stillRejected: number;
  /** The events/ object written, if any. */
  eventsObject: string | null;
}

/**
 * Validates the window's quarantined lines again and writes the ones that pass into one new
 * events/ object of `now`'s hour; records them as replayed. Idempotent.
 */
export async function replayQuarantine(
  store: RawStore,
  window: ReceiveWindow,
  opts: { now?: () => Date; filter?: QuarantineFilter } = {},
): Promise<ReplayResult> {
  const now = (opts.now ?? (() => new Date()))();
  const result: ReplayResult = { lines: 0, replayed: 0, alreadyReplayed: 0, stillRejected: 0, eventsObject: null };
  const passing: {
    recordKey: string;
    record: ReplayRecord;
    line: number;
    eventId: string;
    text: string;
    repeat: boolean;
  }[] = [];
  const seen = new Set<string>();
  for await (const o of quarantineObjects(store, window)) {
    for (let i = 0; i < o.lines.length; i++) {
      const q = describeLine(o.key, i, o.lines[i] as string, o.record);
      if (!matches(q, opts.filter ?? {})) continue;
      result.lines++;
      if (q.replayedTo) {
        result.alreadyReplayed++;
        continue;
      }
      const text = candidateLine(q);
      const parsed = text === undefined ? undefined : validateAndMapLine(text);
      if (!parsed?.ok || text === undefined) {
        result.stillRejected++;
        continue;
      }
      const eventId = parsed.row.event_id.toLowerCase();
      // The same event quarantined twice (a tracker retry) is written back once, marked twice.
      passing.push({ recordKey: o.recordKey, record: o.record, line: i, eventId, text, repeat: seen.has(eventId) });
      seen.add(eventId);
      result.replayed++;
    }
  }
  if (!passing.length) return result;
  const key = objectKey('events', now, `${ulid(now.getTime())}-replay`);
  await store.put(key, encodeJsonlLines(passing.filter((p) => !p.repeat).map((p) => p.text)));
  result.eventsObject = key;
  const records = new Map<string, ReplayRecord>();
  for (const p of passing) {
    records.set(p.recordKey, p.record);
    p.record.lines[p.line] = { event_id: p.eventId, events_object: key, replayed_at: now.toISOString() };
  }
  for (const [recordKey, record] of records) {
    await store.put(recordKey, encodeJsonl([record]));
  }
  return result;
}
