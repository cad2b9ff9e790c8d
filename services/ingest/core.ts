/**
 * The ingest core: request body → accepted enriched events + rejected events. Pure (no I/O, no
 * clock: the caller passes `receivedAt`), so the Hono app, the Lambda and tests share it as is.
 *
 *   processBody(body: string | Uint8Array, ctx: RequestContext, limits?: IngestLimits): ProcessResult
 *     → { ok: true, accepted: AcceptedEvent[], rejected: RejectedEvent[] }   (per-event outcome,
 *        each with `line`: its lake record, enriched event or quarantine record)
 *     → { ok: false, status: 400 | 413, code, message }                      (whole request refused)
 *   An event larger than `maxEventBytes` (UTF-8 JSON as sent) is one rejection (`event_too_large`);
 *   only the whole body's limits answer 413.
 *   enrichBody(body, ctx, limits?): { accepted: AnyEnrichedEvent[], rejected }   (tests, round trips)
 *
 * Each accepted event comes with `line`, its enriched JSON exactly as the lake stores it: the
 * event's text as received with the server's edits spliced in (event-text.ts finds it; the line
 * is byte-identical to the JSON.stringify one), or, when the text is not spelled as JSON.stringify
 * writes it, one JSON.stringify per event, whose length doubles as the event's size.
 * Identity fields in the body (user_id, user_login_state, identity_source and every other
 * server-set field) are dropped before validation: identity comes only from `ctx.identity`,
 * which the caller got from a verified token.
 */
import { isIP } from 'node:net';
import type { AnyEnrichedEvent, ServerEnrichment } from '../../generated/types/events.ts';
import { formats } from '../../generated/validators/_runtime.ts';
import { type ValidationError, validatorFor } from '../../generated/validators/index.ts';
import { escapePointer } from '../json-pointer.ts';
import {
  findUnstorable,
  MAX_USER_AGENT_CHARS,
  mayHoldUnstorable,
  toStorableString,
  truncateCodePoints,
} from '../storable.ts';
import { countKeys, type EventSpan, scanBatch } from './event-text.ts';
import { describeUserAgent } from './user-agent.ts';

export interface IngestLimits {
  /** Largest body in bytes after decompression. */
  maxBodyBytes: number;
  /** Largest event: UTF-8 bytes of its JSON as sent (before enrichment); larger ones are rejected alone. */
  maxEventBytes: number;
  maxEventsPerRequest: number;
}

export const DEFAULT_LIMITS: IngestLimits = {
  maxBodyBytes: 1_048_576,
  maxEventBytes: 32_768,
  maxEventsPerRequest: 500,
};

/** Who sent the request, as established by a verified token (or guest without one). */
export type VerifiedIdentity = Pick<ServerEnrichment, 'user_id' | 'user_login_state' | 'identity_source'>;

export const GUEST: VerifiedIdentity = { user_id: null, user_login_state: 'guest', identity_source: 'anonymous' };

export interface RequestContext {
  receivedAt: Date;
  identity: VerifiedIdentity;
  userAgent?: string;
  /** The client's full address; only a truncated form is stored. */
  ip?: string;
}

export interface EventError {
  /** JSON pointer into the event, e.g. `/properties/product/price`. */
  path: string;
  /** Stable rule id: a JSON Schema keyword (`required`, `maximum`…) or an ingest rule (`unknown_event`…). */
  rule: string;
  message: string;
}

export interface RejectedEvent {
  index: number;
  event_id?: string;
  errors: EventError[];
  /** The event as received (minus identity claims). Not part of the HTTP answer. */
  raw: unknown;
  /** Its quarantine record `{ raw, errors, received_at }` as one JSON line (no newline). */
  line: string;
}

export interface AcceptedEvent {
  event_name: string;
  /** The enriched event as one JSON line (no newline). */
  line: string;
}

export type ProcessResult =
  | {
      ok: true;
      accepted: AcceptedEvent[];
      rejected: RejectedEvent[];
      /** Events the tracker reports it dropped since its last request (queue bounds, refusals). */
      trackerDropped: number;
    }
  | { ok: false; status: 400 | 413; code: string; message: string };

/** Events may be recorded this long after `sent_at` (clock jitter between track and send). */
const MAX_AFTER_SENT_MS = 5 * 60_000;
/** Older events (after skew correction) are rejected: no tracker queue keeps events this long. */
const MAX_EVENT_AGE_MS = 30 * 24 * 3_600_000;

/** Server-set fields; a body that carries them is trying to claim them, so they are dropped. */
const SERVER_FIELDS = [
  'received_at',
  'client_event_timestamp',
  'user_id',
  'user_login_state',
  'identity_source',
  'user_agent',
  'ip',
  'is_bot',
  'device_class',
  'browser',
] as const;

/** RFC 3339 date-time, the only `sent_at` form trackers produce (Date#toISOString). */
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:[Zz]|[+-]\d{2}:\d{2})$/;
/** `event_timestamp`'s own format check (a real calendar date: no 2026-02-31), used for `sent_at` too. */
const isDateTime = (formats['date-time'] as { validate: (s: string) => boolean }).validate;

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

function refuse(status: 400 | 413, code: string, message: string): ProcessResult {
  return { ok: false, status, code, message };
}

export function processBody(
  body: string | Uint8Array,
  ctx: RequestContext,
  limits: IngestLimits = DEFAULT_LIMITS,
): ProcessResult {
  let text: string;
  if (typeof body === 'string') {
    text = body;
  } else {
    if (body.byteLength > limits.maxBodyBytes) {
      return refuse(413, 'body_too_large', `body is larger than ${limits.maxBodyBytes} bytes`);
    }
    try {
      text = utf8.decode(body);
    } catch {
      return refuse(400, 'invalid_utf8', 'body is not valid UTF-8');
    }
  }

  let batch: unknown;
  try {
    batch = JSON.parse(text);
  } catch (err) {
    return refuse(400, 'invalid_json', `body is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof batch !== 'object' || batch === null || Array.isArray(batch)) {
    return refuse(400, 'invalid_envelope', 'body must be a JSON object { sent_at, events }');
  }
  const { sent_at: sentAtRaw, events, dropped } = batch as { sent_at?: unknown; events?: unknown; dropped?: unknown };
  if (
    typeof sentAtRaw !== 'string' ||
    sentAtRaw.length > 40 ||
    !RFC3339.test(sentAtRaw) ||
    !isDateTime(sentAtRaw) ||
    Number.isNaN(Date.parse(sentAtRaw))
  ) {
    return refuse(400, 'invalid_envelope', 'sent_at must be an RFC 3339 date-time string');
  }
  if (!Array.isArray(events)) return refuse(400, 'invalid_envelope', 'events must be an array');
  if (events.length === 0) return refuse(400, 'no_events', 'events must contain at least one event');
  if (events.length > limits.maxEventsPerRequest) {
    return refuse(413, 'too_many_events', `more than ${limits.maxEventsPerRequest} events in one request`);
  }

  const receivedMs = ctx.receivedAt.getTime();
  // The client's clock is off by (sent_at − received_at), network latency included: shifting every
  // event by the opposite puts them on the server clock, with ordering inside the batch preserved.
  const skewMs = receivedMs - Date.parse(sentAtRaw);
  const receivedAtIso = ctx.receivedAt.toISOString();
  const userAgent = truncateUserAgent(ctx.userAgent);
  const enrichmentTail = JSON.stringify({
    received_at: receivedAtIso,
    user_id: ctx.identity.user_id,
    user_login_state: ctx.identity.user_login_state,
    identity_source: ctx.identity.identity_source,
    user_agent: userAgent,
    ip: ctx.ip === undefined ? undefined : truncateIp(ctx.ip),
    ...describeUserAgent(userAgent),
  }).slice(1);

  // Strings the warehouse cannot store are rare: events are searched only when the body may hold one.
  const searchUnstorable = mayHoldUnstorable(text, typeof body !== 'string');
  // Where each event is in the text: an accepted event's line is then built from it (see lineFromText).
  const scanned = scanBatch(text);
  // One span per element of the parsed array, or none used at all.
  const spans = scanned?.length === events.length ? scanned : undefined;
  const accepted: AcceptedEvent[] = [];
  const rejected: RejectedEvent[] = [];
  for (let index = 0; index < events.length; index++) {
    const event: unknown = events[index];
    let wireJson: string;
    let errors: EventError[] | undefined;
    let claimed = false;
    try {
      if (typeof event === 'object' && event !== null && !Array.isArray(event)) {
        const e = event as Record<string, unknown>;
        for (const field of SERVER_FIELDS) {
          if (Object.hasOwn(e, field)) {
            delete e[field];
            claimed = true;
          }
        }
        errors = validateEvent(e);
        if (!errors && searchUnstorable) {
          const found = findUnstorable(e);
          if (found) errors = [found];
        }
        if (!errors) errors = correctTimestamp(e, skewMs, receivedMs);
        // One spelling per event: PostgreSQL's uuid is case-insensitive, the lake and dedupe are not.
        if (!errors) e.event_id = (e.event_id as string).toLowerCase();
        if (!errors && !claimed) {
          const line = lineFromText(text, spans?.[index], e, enrichmentTail, limits.maxEventBytes);
          if (line !== undefined) {
            accepted.push({ event_name: e.event_name as string, line });
            continue;
          }
        }
      } else {
        errors = [{ path: '', rule: 'type', message: 'event must be an object' }];
      }
      wireJson = JSON.stringify(event);
    } catch (err) {
      // JSON.parse builds nesting that JSON.stringify cannot walk back (stack overflow).
      if (err instanceof RangeError) return refuse(400, 'nesting_too_deep', `event ${index} is nested too deeply`);
      throw err;
    }
    if (wireJson.length * 3 > limits.maxEventBytes && sentBytes(event, wireJson) > limits.maxEventBytes) {
      // One event too large is rejected on its own (quarantined as sent); the rest of the batch stands.
      errors = [{ path: '', rule: 'event_too_large', message: `event is larger than ${limits.maxEventBytes} bytes` }];
      if (corrected(event)) wireJson = JSON.stringify(asSent(event));
    }
    if (errors) {
      // Built around wireJson rather than stringified again: no second walk, no deeper nesting.
      const line = `{"raw":${wireJson},"errors":${JSON.stringify(errors)},"received_at":"${receivedAtIso}"}`;
      rejected.push({ index, event_id: eventIdOf(event), errors, raw: event, line });
    } else {
      const e = event as { event_name: string; client_event_timestamp: string };
      // client_event_timestamp was set by correctTimestamp; the rest of the enrichment is shared.
      accepted.push({ event_name: e.event_name, line: `${wireJson.slice(0, -1)},${enrichmentTail}` });
    }
  }
  const trackerDropped = Number.isSafeInteger(dropped) && (dropped as number) > 0 ? (dropped as number) : 0;
  return { ok: true, accepted, rejected, trackerDropped };
}

/**
 * The lake line of an accepted event built from its text as received: byte-identical to
 * `${JSON.stringify(e).slice(0, -1)},${tail}` (the general path below), without walking the
 * parsed event again. `e` is the event after correctTimestamp and the event_id lower-casing, which
 * kept both keys in place and appended client_event_timestamp; the text gets the same edits.
 * Undefined (the caller stringifies) when the span is not canonical (event-text.ts), when the
 * text repeats a key (JSON.parse kept one of them), or when the event may be too large: the
 * general path decides that as before.
 */
function lineFromText(
  text: string,
  span: EventSpan | undefined,
  e: Record<string, unknown>,
  tail: string,
  maxEventBytes: number,
): string | undefined {
  if (span === undefined || span.timestampStart < 0 || span.idStart < 0) return undefined;
  const { start, end } = span;
  if ((end - start) * 3 > maxEventBytes) return undefined;
  // client_event_timestamp is one key more than the text holds; any other difference is a repeat.
  if (countKeys(e) - 1 !== span.keys) return undefined;
  // Both values passed the date-time and uuid formats: no character in them needs escaping.
  const timestamp = `"${e.event_timestamp as string}"`;
  const id = `"${e.event_id as string}"`;
  const sent = text.slice(span.timestampStart, span.timestampEnd);
  const body =
    span.timestampStart < span.idStart
      ? text.slice(start, span.timestampStart) +
        timestamp +
        text.slice(span.timestampEnd, span.idStart) +
        id +
        text.slice(span.idEnd, end - 1)
      : text.slice(start, span.idStart) +
        id +
        text.slice(span.idEnd, span.timestampStart) +
        timestamp +
        text.slice(span.timestampEnd, end - 1);
  return `${body},"client_event_timestamp":${sent},${tail}`;
}

/** processBody with the accepted lines parsed back: what the lake holds, as typed events. */
export function enrichBody(
  body: string | Uint8Array,
  ctx: RequestContext,
  limits: IngestLimits = DEFAULT_LIMITS,
): { accepted: AnyEnrichedEvent[]; rejected: RejectedEvent[] } {
  const result = processBody(body, ctx, limits);
  if (!result.ok) throw new Error(`${result.status} ${result.code}: ${result.message}`);
  return { accepted: result.accepted.map((a) => JSON.parse(a.line) as AnyEnrichedEvent), rejected: result.rejected };
}

function validateEvent(e: Record<string, unknown>): EventError[] | undefined {
  const { event_name: name, event_version: version } = e;
  if (typeof name !== 'string' || !Number.isInteger(version)) {
    const errors: EventError[] = [];
    if (typeof name !== 'string') errors.push(fieldError('/event_name', name, 'must be a string'));
    if (!Number.isInteger(version)) errors.push(fieldError('/event_version', version, 'must be an integer'));
    return errors;
  }
  const validate = validatorFor(name, version as number);
  if (!validate) {
    return [
      {
        path: '/event_name',
        rule: 'unknown_event',
        message: `no schema for event ${JSON.stringify(name.slice(0, 64))} version ${version}`,
      },
    ];
  }
  if (validate(e)) return undefined;
  return (validate.errors ?? []).map(toEventError);
}

function fieldError(path: string, value: unknown, message: string): EventError {
  return value === undefined
    ? { path, rule: 'required', message: `must have required property '${path.slice(1)}'` }
    : { path, rule: 'type', message };
}

function toEventError(err: ValidationError): EventError {
  const p = err.params;
  // Point at the offending property itself, not at the object that lacks or has it.
  const child =
    err.keyword === 'required'
      ? p.missingProperty
      : err.keyword === 'additionalProperties'
        ? p.additionalProperty
        : undefined;
  const path = typeof child === 'string' ? `${err.instancePath}/${escapePointer(child)}` : err.instancePath;
  return { path, rule: err.keyword, message: err.message ?? err.keyword };
}

/** Replaces event_timestamp by its skew-corrected value; keeps the original as client_event_timestamp. */
function correctTimestamp(e: Record<string, unknown>, skewMs: number, receivedMs: number): EventError[] | undefined {
  const client = e.event_timestamp as string;
  const clientMs = Date.parse(client);
  if (Number.isNaN(clientMs)) {
    return [{ path: '/event_timestamp', rule: 'format', message: 'must be a date-time JavaScript can represent' }];
  }
  const corrected = clientMs + skewMs;
  if (corrected > receivedMs + MAX_AFTER_SENT_MS) {
    return [{ path: '/event_timestamp', rule: 'timestamp_after_sent_at', message: 'event is later than sent_at' }];
  }
  if (corrected < receivedMs - MAX_EVENT_AGE_MS) {
    return [{ path: '/event_timestamp', rule: 'timestamp_too_old', message: 'event is more than 30 days old' }];
  }
  e.event_timestamp = isoString(corrected);
  e.client_event_timestamp = client;
  return undefined;
}

const FAST_ISO_MIN = Date.UTC(1000, 0, 1);
const FAST_ISO_MAX = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
const two = (n: number) => (n < 10 ? `0${n}` : `${n}`);

/**
 * `new Date(ms).toISOString()` for years 1000–9999 without a Date (4× faster; a Date per event was
 * ≈8% of processBody): days since the epoch to a civil date (H. Hinnant's algorithm), then the time
 * of day. Other years take toISOString. core.test.ts compares both over the whole range.
 */
export function isoString(ms: number): string {
  if (!(ms >= FAST_ISO_MIN && ms <= FAST_ISO_MAX) || !Number.isInteger(ms)) return new Date(ms).toISOString();
  const days = Math.floor(ms / 86_400_000);
  let rest = ms - days * 86_400_000;
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  const hour = Math.floor(rest / 3_600_000);
  rest -= hour * 3_600_000;
  const minute = Math.floor(rest / 60_000);
  rest -= minute * 60_000;
  const second = Math.floor(rest / 1000);
  const milli = rest - second * 1000;
  return `${year}-${two(month)}-${two(day)}T${two(hour)}:${two(minute)}:${two(second)}.${milli < 10 ? '00' : milli < 100 ? '0' : ''}${milli}Z`;
}

/**
 * UTF-8 bytes of the event as the tracker sent it, which is what MAX_EVENT_BYTES limits and what the
 * tracker measures before sending. `wireJson` is the event after correctTimestamp, which replaced
 * event_timestamp by the corrected value and appended `,"client_event_timestamp":<as sent>`: exactly
 * `,"client_event_timestamp":` plus the quoted corrected value more than was sent, whatever form the
 * sent timestamp had (both are ASCII). Counted rather than serialising the event a second time.
 */
function sentBytes(event: unknown, wireJson: string): number {
  const added = corrected(event)
    ? ',"client_event_timestamp":'.length + JSON.stringify(event.event_timestamp).length
    : 0;
  return Buffer.byteLength(wireJson) - added;
}

/** Whether correctTimestamp ran on the event (a client_event_timestamp in the body was dropped first). */
function corrected(event: unknown): event is Record<string, unknown> {
  return typeof event === 'object' && event !== null && Object.hasOwn(event, 'client_event_timestamp');
}

/** The event as sent: correctTimestamp undone (server-set fields in the body were dropped before). */
function asSent(e: Record<string, unknown>): Record<string, unknown> {
  e.event_timestamp = e.client_event_timestamp;
  delete e.client_event_timestamp;
  return e;
}

function eventIdOf(event: unknown): string | undefined {
  if (typeof event !== 'object' || event === null) return undefined;
  const id = (event as { event_id?: unknown }).event_id;
  return typeof id === 'string' && formats.uuid(id) ? id : undefined;
}

/** The header as stored: at most 512 code points, and storable (it is ours to store, not to refuse). */
function truncateUserAgent(ua: string | undefined): string | undefined {
  if (!ua) return undefined;
  return toStorableString(truncateCodePoints(ua, MAX_USER_AGENT_CHARS));
}

/** IPv4: last octet zeroed; IPv6: last 80 bits zeroed (a /48 stays). Never the full address. */
export function truncateIp(ip: string): string | undefined {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  const addr = mapped ? mapped[1]! : ip;
  const version = isIP(addr);
  if (version === 4) return addr.replace(/\.\d+$/, '.0');
  if (version !== 6) return undefined;
  const groups = expandIpv6(addr.replace(/%.*$/, ''));
  return `${groups.slice(0, 3).join(':')}::`;
}

/** The 8 hex groups of a valid IPv6 address (lower case, no leading zeros). */
function expandIpv6(addr: string): string[] {
  // An embedded IPv4 tail (::1.2.3.4) is two groups; only the first 3 groups are kept anyway.
  const [head = '', tail] = addr.toLowerCase().split('::');
  const part = (s: string) => (s ? s.split(':') : []);
  const left = part(head);
  const right = tail === undefined ? [] : part(tail);
  const missing = 8 - left.length - right.length;
  return [...left, ...Array<string>(Math.max(missing, 0)).fill('0'), ...right].map((g) =>
    g.includes('.') ? g : Number.parseInt(g, 16).toString(16),
  );
}
