import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, enrichBody, GUEST, isoString, processBody, type RequestContext, truncateIp } from './core.ts';
import { EVENT_NAMES, sampleBatch, sampleEvent } from './sample-events.ts';

const receivedAt = new Date('2026-11-26T12:00:00.000Z');
const ctx: RequestContext = { receivedAt, identity: GUEST, userAgent: 'Mozilla/5.0 test', ip: '203.0.113.77' };
const body = (events: unknown[], sent_at = receivedAt.toISOString()) => JSON.stringify({ sent_at, events });

describe('processBody', () => {
  it('accepts a valid event of every model and adds the server enrichment', () => {
    const events = EVENT_NAMES.map((n) => sampleEvent(n, {}, receivedAt));
    const { accepted, rejected } = enrichBody(body(events), ctx);
    expect(rejected).toEqual([]);
    expect(accepted.map((e) => e.event_name)).toEqual(EVENT_NAMES);
    expect(accepted[0]).toMatchObject({
      event_id: events[0]!.event_id,
      received_at: '2026-11-26T12:00:00.000Z',
      user_id: null,
      user_login_state: 'guest',
      identity_source: 'anonymous',
      user_agent: 'Mozilla/5.0 test',
      ip: '203.0.113.0',
      properties: events[0]!.properties,
    });
  });

  it('corrects event_timestamp by the difference between sent_at and received_at', () => {
    // The browser clock is 2 hours behind: it sent at 10:00:05 what the server received at 12:00.
    const ev = sampleEvent('page_view', { event_timestamp: '2026-11-26T10:00:00.000Z' });
    const { accepted } = enrichBody(body([ev], '2026-11-26T10:00:05.000Z'), ctx);
    expect(accepted[0]).toMatchObject({
      event_timestamp: '2026-11-26T11:59:55.000Z',
      client_event_timestamp: '2026-11-26T10:00:00.000Z',
    });
  });

  it('takes identity only from the verified context, never from the body', () => {
    const ev = sampleEvent('login', {
      user_id: 'attacker',
      user_login_state: 'logged_in',
      identity_source: 'cognito',
      received_at: '2000-01-01T00:00:00Z',
      ip: '1.2.3.4',
    });
    const guest = enrichBody(body([ev]), ctx).accepted[0]!;
    expect(guest).toMatchObject({ user_id: null, user_login_state: 'guest', received_at: receivedAt.toISOString() });
    expect(guest.ip).toBe('203.0.113.0');
    const identity = { user_id: 'sub-123', user_login_state: 'logged_in', identity_source: 'google' } as const;
    const user = enrichBody(body([sampleEvent('login', { user_id: 'attacker' })]), { ...ctx, identity }).accepted[0]!;
    expect(user).toMatchObject(identity);
  });

  it('rejects invalid events with their index, id and errors while accepting the rest', () => {
    const good = sampleEvent('search');
    const badPrice = sampleEvent('add_to_cart');
    (badPrice.properties as { product: { price: number } }).product.price = -1;
    const unknown = sampleEvent('search', { event_name: 'teleport' });
    const badVersion = sampleEvent('search', { event_version: 9 });
    const missing = sampleEvent('page_view');
    delete missing.session_id;
    const extra = sampleEvent('page_view', { hacker: true });
    const r = processBody(body([good, badPrice, unknown, badVersion, missing, extra, 42]), ctx);
    if (!r.ok) throw new Error(r.code);
    expect(r.accepted.map((a) => a.event_name)).toEqual(['search']);
    expect(r.rejected.map(({ raw: _, line: __, ...rest }) => rest)).toEqual([
      {
        index: 1,
        event_id: badPrice.event_id,
        errors: [{ path: '/properties/product/price', rule: 'minimum', message: 'must be >= 0' }],
      },
      { index: 2, event_id: unknown.event_id, errors: [expect.objectContaining({ rule: 'unknown_event' })] },
      { index: 3, event_id: badVersion.event_id, errors: [expect.objectContaining({ rule: 'unknown_event' })] },
      {
        index: 4,
        event_id: missing.event_id,
        errors: [{ path: '/session_id', rule: 'required', message: "must have required property 'session_id'" }],
      },
      {
        index: 5,
        event_id: extra.event_id,
        errors: [{ path: '/hacker', rule: 'additionalProperties', message: 'must NOT have additional properties' }],
      },
      { index: 6, errors: [{ path: '', rule: 'type', message: 'event must be an object' }] },
    ]);
    expect(r.rejected[0]!.raw).toEqual(badPrice);
    expect(JSON.parse(r.rejected[0]!.line)).toEqual({
      raw: badPrice,
      errors: r.rejected[0]!.errors,
      received_at: receivedAt.toISOString(),
    });
  });

  it('rejects events dated after sent_at or older than 30 days', () => {
    const future = sampleEvent('page_view', { event_timestamp: '2026-11-26T13:00:00.000Z' });
    const ancient = sampleEvent('page_view', { event_timestamp: '1999-01-01T00:00:00.000Z' });
    const r = processBody(body([future, ancient]), ctx);
    if (!r.ok) throw new Error(r.code);
    expect(r.rejected.map((x) => x.errors[0]!.rule)).toEqual(['timestamp_after_sent_at', 'timestamp_too_old']);
  });

  it.each([
    ['not json', 400, 'invalid_json'],
    ['[]', 400, 'invalid_envelope'],
    ['{"events":[]}', 400, 'invalid_envelope'],
    ['{"sent_at":"yesterday","events":[]}', 400, 'invalid_envelope'],
    ['{"sent_at":"2026-11-26T12:00:00Z","events":{}}', 400, 'invalid_envelope'],
    ['{"sent_at":"2026-11-26T12:00:00Z","events":[]}', 400, 'no_events'],
  ])('refuses %s with %i %s', (input, status, code) => {
    expect(processBody(input, ctx)).toMatchObject({ ok: false, status, code });
  });

  it('enforces the configured limits', () => {
    const limits = { ...DEFAULT_LIMITS, maxEventsPerRequest: 3, maxEventBytes: 2000, maxBodyBytes: 20_000 };
    expect(processBody(JSON.stringify(sampleBatch(4)), ctx, limits)).toMatchObject({ code: 'too_many_events' });
    const bytes = new TextEncoder().encode(JSON.stringify(sampleBatch(60)));
    expect(processBody(bytes, ctx, limits)).toMatchObject({ status: 413, code: 'body_too_large' });
  });

  describe('event size, measured as sent', () => {
    const limits = { ...DEFAULT_LIMITS, maxEventBytes: 2000 };
    /** A page_view whose JSON as sent is exactly `total` UTF-8 bytes (the — in its title counts three). */
    function pageViewOf(total: number, event_timestamp = '2026-11-26T11:59:59.000Z') {
      const page = { url: 'https://shop.example/', title: 'Trail shoes — Northpeak' };
      const e = sampleEvent('page_view', { event_timestamp, page });
      e.page = { ...page, url: `${page.url}${'x'.repeat(total - Buffer.byteLength(JSON.stringify(e)))}` };
      expect(Buffer.byteLength(JSON.stringify(e))).toBe(total);
      return e;
    }

    it.each([
      ['with milliseconds', '2026-11-26T11:59:59.000Z'],
      ['without fraction', '2026-11-26T11:59:59Z'],
      ['with an offset', '2026-11-26T12:59:59.123456+01:00'],
    ])('accepts an event of exactly maxEventBytes (timestamp %s), though enrichment makes it larger', (_, ts) => {
      const r = processBody(body([pageViewOf(2000, ts)]), ctx, limits);
      if (!r.ok) throw new Error(r.code);
      expect(r.rejected).toEqual([]);
      expect(r.accepted).toHaveLength(1);
      expect(Buffer.byteLength(r.accepted[0]!.line)).toBeGreaterThan(2000);
    });

    it.each([
      ['with milliseconds', '2026-11-26T11:59:59.000Z'],
      ['with an offset', '2026-11-26T12:59:59.123456+01:00'],
    ])('rejects one byte more on its own (timestamp %s): the rest of the batch is accepted', (_, ts) => {
      const big = pageViewOf(2001, ts);
      const small = sampleEvent('page_view', { event_timestamp: '2026-11-26T11:59:59.000Z' });
      const r = processBody(body([small, big, small]), ctx, limits);
      if (!r.ok) throw new Error(r.code);
      expect(r.accepted).toHaveLength(2);
      expect(r.rejected.map(({ index, event_id, errors }) => ({ index, event_id, errors }))).toEqual([
        {
          index: 1,
          event_id: big.event_id,
          errors: [{ path: '', rule: 'event_too_large', message: 'event is larger than 2000 bytes' }],
        },
      ]);
      // Quarantined as sent: no server fields, the timestamp the tracker wrote.
      expect(JSON.parse(r.rejected[0]!.line)).toEqual({
        raw: big,
        errors: r.rejected[0]!.errors,
        received_at: receivedAt.toISOString(),
      });
    });

    it('rejects an oversized event that is also invalid with event_too_large, as sent', () => {
      const big = { ...pageViewOf(2001), event_version: 9 };
      const r = processBody(body([big]), ctx, limits);
      if (!r.ok) throw new Error(r.code);
      expect(r.rejected.map((x) => x.errors.map((e) => e.rule))).toEqual([['event_too_large']]);
      expect(JSON.parse(r.rejected[0]!.line).raw).toEqual(big);
    });
  });

  it('refuses invalid UTF-8 and nesting too deep to serialise', () => {
    expect(processBody(new Uint8Array([0x7b, 0xff, 0x7d]), ctx)).toMatchObject({ code: 'invalid_utf8' });
    const deep = `{"sent_at":"2026-11-26T12:00:00Z","events":[${'['.repeat(200_000)}${']'.repeat(200_000)}]}`;
    expect(processBody(deep, ctx, { ...DEFAULT_LIMITS, maxBodyBytes: 1e6 })).toMatchObject({
      status: 400,
      code: 'nesting_too_deep',
    });
  });
});

describe('truncateIp', () => {
  it.each([
    ['203.0.113.77', '203.0.113.0'],
    ['::ffff:198.51.100.9', '198.51.100.0'],
    ['2001:db8:abcd:12:1:2:3:4', '2001:db8:abcd::'],
    ['2001:0DB8::1', '2001:db8:0::'],
    ['::1', '0:0:0::'],
    ['not-an-ip', undefined],
  ])('%s → %s', (ip, expected) => {
    expect(truncateIp(ip)).toBe(expected);
  });
});

describe('characters PostgreSQL cannot store', () => {
  it.each([
    ['NUL', '\u0000', true],
    ['an unpaired surrogate', '\ud800', true],
    ['an escaped backslash before a surrogate-like text', 'a\\ud800', false],
    ['a surrogate pair (emoji)', '😀', false],
  ])('%s in a string: rejected=%s, quarantined as sent', (_, title, rejectedExpected) => {
    const ev = sampleEvent('page_view', { page: { url: 'https://shop.example/', title } });
    const r = processBody(body([ev]), ctx);
    if (!r.ok) throw new Error(r.code);
    expect(r.rejected.length).toBe(rejectedExpected ? 1 : 0);
    if (rejectedExpected) {
      expect(r.rejected[0]!.errors[0]!.rule).toBe('unstorable_character');
      expect(JSON.parse(r.rejected[0]!.line).raw).toEqual(ev);
    }
  });
});

describe('isoString', () => {
  it('spells every instant exactly as Date#toISOString', () => {
    const edges = [
      0,
      -1,
      1,
      Date.UTC(1000, 0, 1) - 1,
      Date.UTC(1000, 0, 1),
      Date.UTC(1969, 11, 31, 23, 59, 59, 999),
      Date.UTC(2000, 1, 29, 12),
      Date.UTC(2100, 1, 28, 23, 59, 59, 999),
      Date.UTC(2100, 2, 1),
      Date.UTC(2400, 1, 29),
      Date.UTC(9999, 11, 31, 23, 59, 59, 999),
      Date.UTC(9999, 11, 31, 23, 59, 59, 999) + 1,
      -62_198_755_200_000,
      8.64e15,
    ];
    // A fixed-seed walk over years 1000–9999 (no real clock, no Math.random).
    let x = 123_456_789;
    const walk = Array.from({ length: 200_000 }, () => {
      x = (x * 1_103_515_245 + 12_345) % 2 ** 31;
      return Date.UTC(1000, 0, 1) + Math.floor((x / 2 ** 31) * (Date.UTC(10_000, 0, 1) - Date.UTC(1000, 0, 1)));
    });
    const differ = [...edges, ...walk].filter((ms) => isoString(ms) !== new Date(ms).toISOString());
    expect(differ).toEqual([]);
  });
});
