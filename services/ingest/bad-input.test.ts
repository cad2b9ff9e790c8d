/**
 * Hostile and broken input against the real Node server over HTTP, one table: each case asserts
 * status and error code (whole request) or the rejection rule (one event). Then a valid request
 * proves the server survived, and the lake is audited: every accepted event exactly once in
 * events/, every rejected one in quarantine/ with its reason.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config.ts';
import { FileRawStore } from '../lake/file-store.ts';
import { decodeJsonl } from '../lake/jsonl.ts';
import { createLogger } from '../log.ts';
import { SAMPLE_TIME, sampleEvent } from './sample-events.ts';
import { type IngestServer, startIngestServer } from './server.ts';

type Ev = Record<string, unknown>;

interface Case {
  name: string;
  body: string | Uint8Array;
  headers?: Record<string, string>;
  status: number;
  /** Error code of a refused request. */
  code?: string;
  /** Rule of the rejected first event (the second event of the batch is valid). */
  rule?: string;
}

const now = () => SAMPLE_TIME.toISOString();
const envelope = (events: unknown[], extra: Record<string, unknown> = {}) =>
  JSON.stringify({ sent_at: now(), events, ...extra });

const refused = (name: string, body: Case['body'], status: number, code: string, headers?: Case['headers']): Case => ({
  name,
  body,
  status,
  code,
  headers,
});

/** A batch of [bad event, good event]: 200, the bad one rejected with `rule`, the good one accepted. */
function eventCase(name: string, rule: string, mutate: (e: Ev) => unknown, model = 'add_to_cart' as const): Case {
  const bad = mutate(sampleEvent(model));
  return { name, body: envelope([bad, sampleEvent('page_view')]), status: 200, rule };
}
const set = (path: string[], value: unknown) => (e: Ev) => {
  let o = e as Record<string, unknown>;
  for (const k of path.slice(0, -1)) o = o[k] as Record<string, unknown>;
  o[path.at(-1)!] = value;
  return e;
};
const del = (key: string) => (e: Ev) => {
  delete e[key];
  return e;
};
/** Splices raw JSON text in place of a marker value, for input JSON.stringify cannot produce. */
const rawValue = (path: string[], text: string): Case['body'] =>
  envelope([set(path, '@@RAW@@')(sampleEvent('add_to_cart')), sampleEvent('page_view')]).replace('"@@RAW@@"', text);

const valid = () => envelope([sampleEvent('page_view')]);
const bytes = (...b: number[]) => new Uint8Array(b);
const withBytes = (prefix: string, b: number[], suffix: string) =>
  new Uint8Array([...Buffer.from(prefix), ...b, ...Buffer.from(suffix)]);

const CASES: Case[] = [
  // Content type and encoding
  ...['', 'application/xml', 'text/html', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded'].map(
    (t) => refused(`content-type ${t || '(none)'}`, valid(), 415, 'unsupported_media_type', { 'content-type': t }),
  ),
  ...['application/jsonp', 'image/png', 'application/octet-stream', 'json'].map((t) =>
    refused(`content-type ${t}`, valid(), 415, 'unsupported_media_type', { 'content-type': t }),
  ),
  ...['br', 'deflate', 'compress', 'gzip, br', 'zstd'].map((enc) =>
    refused(`content-encoding ${enc}`, valid(), 415, 'unsupported_encoding', { 'content-encoding': enc }),
  ),
  refused('gzip header but plain body', valid(), 400, 'invalid_gzip', { 'content-encoding': 'gzip' }),
  refused('truncated gzip', gzipSync(valid()).subarray(0, 20), 400, 'invalid_gzip', { 'content-encoding': 'gzip' }),
  refused('gzip bomb (8 MB of spaces)', gzipSync(Buffer.alloc(8 << 20, 32)), 413, 'body_too_large', {
    'content-encoding': 'gzip',
  }),
  refused(
    'body over 1 MB',
    `{"sent_at":"${now()}","events":[],"pad":"${'x'.repeat(1_100_000)}"}`,
    413,
    'body_too_large',
  ),
  // Not JSON
  ...[
    '',
    '{',
    'nul',
    '{"a":1,}',
    "{'sent_at':1}",
    'NaN',
    'Infinity',
    '{"sent_at":NaN,"events":[]}',
    '[1,2',
    '{"a":1}{"b":2}',
    'undefined',
    '{"events":[{"x":01}]}',
    '{"a":"\u0001"}',
    '{"a":"\\x41"}',
    '{"a":1e}',
    '\u0000',
  ].map((b, i) => refused(`invalid JSON #${i} ${JSON.stringify(b).slice(0, 30)}`, b, 400, 'invalid_json')),
  // Not UTF-8
  refused('invalid UTF-8: 0xff', withBytes('{"a":"', [0xff], '"}'), 400, 'invalid_utf8'),
  refused('invalid UTF-8: bad continuation', withBytes('{"a":"', [0xc3, 0x28], '"}'), 400, 'invalid_utf8'),
  refused('invalid UTF-8: overlong slash', withBytes('{"a":"', [0xc0, 0xaf], '"}'), 400, 'invalid_utf8'),
  refused('invalid UTF-8: encoded surrogate', withBytes('{"a":"', [0xed, 0xa0, 0x80], '"}'), 400, 'invalid_utf8'),
  refused('invalid UTF-8: truncated sequence', withBytes('{"a":"', [0xe2, 0x82], '"}'), 400, 'invalid_utf8'),
  refused('invalid UTF-8: latin-1 body', bytes(0x7b, 0x22, 0xe9, 0x22, 0x3a, 0x31, 0x7d), 400, 'invalid_utf8'),
  // Envelope
  ...['null', '1', '"str"', 'true', '[]', '[{"sent_at":"2026-01-01T00:00:00Z","events":[]}]', '{}'].map((b) =>
    refused(`envelope ${b.slice(0, 20)}`, b, 400, 'invalid_envelope'),
  ),
  // Impossible calendar dates are refused like event_timestamp (Date.parse rolls them over).
  ...[
    undefined,
    17,
    '',
    'yesterday',
    '2026-11-26',
    '2026-13-45T99:99:99Z',
    '2026-02-31T00:00:00Z',
    '2026-04-31T10:00:00.000Z',
    `2026-11-26T10:00:00.${'1'.repeat(40)}Z`,
    '26/11/2026 10:00',
    { t: 1 },
  ].map((s) =>
    refused(
      `sent_at ${JSON.stringify(s)}`,
      JSON.stringify({ sent_at: s, events: [sampleEvent()] }),
      400,
      'invalid_envelope',
    ),
  ),
  ...[undefined, null, {}, 'events', 5].map((events) =>
    refused(`events ${JSON.stringify(events)}`, JSON.stringify({ sent_at: now(), events }), 400, 'invalid_envelope'),
  ),
  refused('events empty', envelope([]), 400, 'no_events'),
  refused('501 events', envelope(Array.from({ length: 501 }, () => ({}))), 413, 'too_many_events'),
  refused(
    'nesting 100k deep',
    `{"sent_at":"${now()}","events":[${'['.repeat(100_000)}${']'.repeat(100_000)}]}`,
    400,
    'nesting_too_deep',
  ),
  // Events that are not objects
  ...[null, 1, 'event', [], true].map((v) => ({
    name: `event ${JSON.stringify(v)}`,
    body: envelope([v, sampleEvent('page_view')]),
    status: 200,
    rule: 'type',
  })),
  // Missing envelope fields
  ...[
    'event_name',
    'event_version',
    'event_id',
    'event_timestamp',
    'client_id',
    'session_id',
    'page',
    'properties',
  ].map((k) => eventCase(`missing ${k}`, 'required', del(k))),
  // Wrong envelope values
  eventCase('event_name number', 'type', set(['event_name'], 7)),
  eventCase('event_version string', 'type', set(['event_version'], '1')),
  eventCase('event_version 1.5', 'type', set(['event_version'], 1.5)),
  eventCase('event_version 0', 'unknown_event', set(['event_version'], 0)),
  eventCase('event_version 2 (no such model)', 'unknown_event', set(['event_version'], 2)),
  eventCase('unknown event name', 'unknown_event', set(['event_name'], 'teleport')),
  eventCase('event name in capitals', 'unknown_event', set(['event_name'], 'Add_To_Cart')),
  eventCase('event name __proto__', 'unknown_event', set(['event_name'], '__proto__')),
  eventCase('event name constructor', 'unknown_event', set(['event_name'], 'constructor')),
  eventCase('event name toString', 'unknown_event', set(['event_name'], 'toString')),
  eventCase('event_id not a uuid', 'format', set(['event_id'], 'not-a-uuid')),
  // PostgreSQL's uuid input refuses these; ajv-formats' uuid accepted the urn form.
  eventCase('event_id urn:uuid:…', 'format', set(['event_id'], `urn:uuid:${crypto.randomUUID()}`)),
  eventCase('event_id in braces', 'format', set(['event_id'], `{${crypto.randomUUID()}}`)),
  eventCase('event_id without hyphens', 'format', set(['event_id'], crypto.randomUUID().replaceAll('-', ''))),
  eventCase('event_id number', 'type', set(['event_id'], 12345)),
  eventCase('event_timestamp words', 'format', set(['event_timestamp'], 'yesterday')),
  eventCase('event_timestamp 30 February', 'format', set(['event_timestamp'], '2026-02-30T10:00:00Z')),
  eventCase('event_timestamp far future', 'timestamp_after_sent_at', set(['event_timestamp'], '2999-01-01T00:00:00Z')),
  eventCase('event_timestamp ancient', 'timestamp_too_old', set(['event_timestamp'], '1970-01-01T00:00:00Z')),
  eventCase('event_timestamp year 0000', 'timestamp_too_old', set(['event_timestamp'], '0000-01-01T00:00:00Z')),
  eventCase(
    'event_timestamp too long',
    'maxLength',
    set(['event_timestamp'], `2026-11-26T10:00:00.${'1'.repeat(40)}Z`),
  ),
  eventCase('client_id empty', 'minLength', set(['client_id'], '')),
  eventCase('client_id too long', 'maxLength', set(['client_id'], 'c'.repeat(65))),
  eventCase('session_id object', 'type', set(['session_id'], { id: 1 })),
  eventCase('is_first_visit string', 'type', set(['is_first_visit'], 'yes')),
  eventCase('unknown top-level key', 'additionalProperties', set(['campaign'], 'x')),
  eventCase('__proto__ key on the event', 'additionalProperties', (e) =>
    JSON.parse(JSON.stringify(e).replace('{', '{"__proto__":{"polluted":true},')),
  ),
  eventCase('constructor key on the event', 'additionalProperties', set(['constructor'], { prototype: { x: 1 } })),
  // Page
  eventCase('page null', 'type', set(['page'], null)),
  eventCase('page without url', 'required', set(['page'], {})),
  eventCase('page url not a URI', 'format', set(['page', 'url'], 'not a url')),
  eventCase('page url too long', 'maxLength', set(['page', 'url'], `https://shop.example/${'p'.repeat(2048)}`)),
  eventCase('page extra key', 'additionalProperties', set(['page', 'cookie'], 'session=1')),
  eventCase('page title too long', 'maxLength', set(['page', 'title'], 't'.repeat(513))),
  // Properties
  eventCase('properties array', 'type', set(['properties'], [])),
  eventCase('properties missing product', 'required', (e) => {
    delete (e.properties as Ev).product;
    return e;
  }),
  eventCase('properties unknown key', 'additionalProperties', set(['properties', 'coupon'], 'X')),
  eventCase('properties __proto__ key', 'additionalProperties', (e) =>
    JSON.parse(JSON.stringify(e).replace('"properties":{', '"properties":{"__proto__":{"isAdmin":true},')),
  ),
  eventCase('quantity 0', 'minimum', set(['properties', 'quantity'], 0)),
  eventCase('quantity 1.5', 'type', set(['properties', 'quantity'], 1.5)),
  eventCase('quantity 1000', 'maximum', set(['properties', 'quantity'], 1000)),
  eventCase('quantity string', 'type', set(['properties', 'quantity'], '2')),
  eventCase('price negative', 'minimum', set(['properties', 'product', 'price'], -0.01)),
  eventCase('price string', 'type', set(['properties', 'product', 'price'], '9.99')),
  eventCase('price above maximum', 'maximum', set(['properties', 'product', 'price'], 1e9)),
  eventCase('product id empty', 'minLength', set(['properties', 'product', 'id'], '')),
  eventCase('product name too long', 'maxLength', set(['properties', 'product', 'name'], 'n'.repeat(256))),
  eventCase('url_path not starting with /', 'pattern', set(['properties', 'product', 'url_path'], 'products/x')),
  eventCase('product extra key', 'additionalProperties', set(['properties', 'product', 'cost'], 1)),
  eventCase('page_type not in enum', 'enum', set(['properties', 'page_type'], 'landing'), 'page_view' as 'add_to_cart'),
  eventCase('currency not in enum', 'enum', set(['properties', 'currency'], 'XXX'), 'begin_checkout' as 'add_to_cart'),
  eventCase('items empty', 'minItems', set(['properties', 'items'], []), 'begin_checkout' as 'add_to_cart'),
  eventCase('login method unknown', 'enum', set(['properties', 'method'], 'password'), 'login' as 'add_to_cart'),
  {
    name: 'price 1e400 (Infinity)',
    body: rawValue(['properties', 'product', 'price'], '1e400'),
    status: 200,
    rule: 'type',
  },
  { name: 'price -1e400', body: rawValue(['properties', 'product', 'price'], '-1e400'), status: 200, rule: 'type' },
  {
    name: 'quantity 1e21 (not safe)',
    body: rawValue(['properties', 'quantity'], '1e21'),
    status: 200,
    rule: 'maximum',
  },
  {
    name: 'NUL in a string',
    body: rawValue(['properties', 'cart_id'], '"cart\\u0000"'),
    status: 200,
    rule: 'unstorable_character',
  },
  {
    name: 'unpaired surrogate in a string',
    body: rawValue(['properties', 'cart_id'], '"\\udc00cart"'),
    status: 200,
    rule: 'unstorable_character',
  },
  eventCase(
    'event over 32 KB (the rest of the batch is accepted)',
    'event_too_large',
    set(['properties', 'query'], 'q'.repeat(33_000)),
    'search' as 'add_to_cart',
  ),
  {
    name: 'deeply nested property value',
    body: rawValue(['properties', 'cart_id'], `${'{"a":'.repeat(500)}1${'}'.repeat(500)}`),
    status: 200,
    rule: 'type',
  },
];

/** Requests that must be accepted in full despite looking odd. */
const ACCEPTED: { name: string; body: string; events: number }[] = [
  {
    name: '__proto__ on the envelope is ignored',
    body: envelope([sampleEvent('page_view')]).replace('{', '{"__proto__":{"polluted":true},'),
    events: 1,
  },
  {
    name: 'identity claims in the body are dropped, not rejected',
    body: envelope([sampleEvent('page_view', { user_id: 'admin', user_login_state: 'logged_in' })]),
    events: 1,
  },
  {
    name: 'unicode and emoji survive',
    body: envelope([sampleEvent('search', { properties: { query: 'chaussures 👟 ü ß 靴', results_count: 3 } })]),
    events: 1,
  },
  {
    // The text \u0000 (an escaped backslash, then u0000) is six storable characters, not a NUL.
    name: 'a backslash followed by u0000 is text, not NUL',
    body: envelope([sampleEvent('search', { properties: { query: 'C:\\u0000 \\ud800', results_count: 0 } })]),
    events: 1,
  },
  {
    name: 'an upper-case event_id',
    body: envelope([sampleEvent('page_view', { event_id: crypto.randomUUID().toUpperCase() })]),
    events: 1,
  },
];

describe('bad input against the Node server', () => {
  let server: IngestServer;
  let lakeDir: string;
  const warnings: string[] = [];
  const outcomes: { accepted: string[]; rejected: Map<string, string> } = { accepted: [], rejected: new Map() };

  beforeAll(async () => {
    lakeDir = await mkdtemp(path.join(os.tmpdir(), 'bad-input-'));
    const config = { ...loadConfig({ LAKE_URL: pathToFileURL(lakeDir).href, CORS_ORIGINS: '' }), PORT: 0 };
    server = await startIngestServer({
      config,
      now: () => new Date(SAMPLE_TIME.getTime() + 5000),
      logger: createLogger('warn', (l) => warnings.push(l)),
    });
  });
  afterAll(async () => {
    await server?.close();
    await rm(lakeDir, { recursive: true, force: true });
  });

  function send(body: Case['body'], headers: Record<string, string> = {}) {
    return fetch(`${server.url}/clickstream`, {
      method: 'POST',
      body: body as BodyInit,
      headers: { 'content-type': 'application/json', ...headers },
    });
  }

  it('has at least 100 cases', () => {
    expect(CASES.length + ACCEPTED.length).toBeGreaterThanOrEqual(100);
  });

  it.each(CASES)('$name → $status $code$rule', async (c) => {
    const res = await send(c.body, c.headers);
    const answer = await res.json();
    expect(res.status, JSON.stringify(answer)).toBe(c.status);
    if (c.code) {
      expect(answer).toEqual({ error: { code: c.code, message: expect.any(String) } });
      return;
    }
    const sent = JSON.parse(new TextDecoder().decode(typeof c.body === 'string' ? Buffer.from(c.body) : c.body));
    expect(answer.accepted).toBe(1);
    expect(answer.rejected).toHaveLength(1);
    expect(answer.rejected[0].index).toBe(0);
    expect(answer.rejected[0].errors.map((e: { rule: string }) => e.rule)).toContain(c.rule);
    outcomes.accepted.push(sent.events[1].event_id);
    const badId = sent.events[0]?.event_id;
    if (typeof badId === 'string' && /^[0-9a-f-]{36}$/.test(badId)) outcomes.rejected.set(badId, c.rule!);
  });

  it.each(ACCEPTED)('$name', async (c) => {
    const res = await send(c.body);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ accepted: c.events, rejected: [] });
    // The lake holds event_ids lower-cased (one spelling per event).
    for (const e of JSON.parse(c.body).events) outcomes.accepted.push(e.event_id.toLowerCase());
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('gives up on a client that disconnects mid-body', async () => {
    const socket = connect(Number(new URL(server.url).port), '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    socket.write(
      'POST /clickstream HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{"sent_at":',
    );
    await new Promise((r) => setTimeout(r, 50));
    socket.destroy();
    for (let i = 0; i < 40 && !warnings.some((l) => l.includes('request body aborted')); i++) {
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(warnings.some((l) => l.includes('request body aborted'))).toBe(true);
  });

  it('is still healthy, and the lake holds every accepted event once and every rejected one with its reason', async () => {
    const final = envelope([sampleEvent('purchase'), sampleEvent('add_to_cart')]);
    const res = await send(final);
    expect(await res.json()).toEqual({ accepted: 2, rejected: [] });
    for (const e of JSON.parse(final).events) outcomes.accepted.push(e.event_id);

    const store = new FileRawStore(lakeDir);
    const stored: string[] = [];
    for await (const o of store.list('events/')) {
      for (const line of decodeJsonl(await store.get(o.key))) stored.push(JSON.parse(line).event_id);
    }
    expect(stored.sort()).toEqual([...outcomes.accepted].sort());
    const quarantined = new Map<string, string[]>();
    for await (const o of store.list('quarantine/')) {
      for (const line of decodeJsonl(await store.get(o.key))) {
        const q = JSON.parse(line) as { raw: { event_id?: unknown }; errors: { rule: string }[]; received_at: string };
        expect(Date.parse(q.received_at)).not.toBeNaN();
        if (typeof q.raw?.event_id === 'string')
          quarantined.set(
            q.raw.event_id,
            q.errors.map((e) => e.rule),
          );
      }
    }
    expect(outcomes.rejected.size).toBeGreaterThan(50);
    for (const [id, rule] of outcomes.rejected) expect(quarantined.get(id), id).toContain(rule);
  });
});
