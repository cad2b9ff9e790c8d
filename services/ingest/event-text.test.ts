/**
 * Lake lines built from the request text (event-text.ts, core.ts lineFromText) are byte-identical
 * to the JSON.stringify lines they replace. The reference is the same body with one space after
 * each event's `{`: that text parses to the same value but is not canonical, so the core takes
 * its JSON.stringify path for every event — the path all lines took before.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { prng } from '../random.ts';
import { GUEST, processBody, type RequestContext } from './core.ts';
import { countKeys, MAX_DEPTH, scanBatch } from './event-text.ts';
import { sampleEvent } from './sample-events.ts';

const SEED = 20261201;
const SENT_AT = '2026-11-26T12:00:04.000Z';
const ctx: RequestContext = {
  receivedAt: new Date('2026-11-26T12:00:05.250Z'),
  identity: { user_id: 'u-42', user_login_state: 'logged_in', identity_source: 'cognito' },
  userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0',
  ip: '203.0.113.9',
};

interface Style {
  /** Whitespace between tokens, raw newlines included. */
  whitespace: boolean;
  /** `\uXXXX` (either case) and `\/` where JSON.stringify writes the character itself. */
  escapes: boolean;
  /** `1.0`, `1e0`, `-0`, `1e400`, … */
  numbers: boolean;
  /** A key written twice (JSON.parse keeps the last). */
  duplicates: boolean;
}

const PLAIN: Style = { whitespace: false, escapes: false, numbers: false, duplicates: false };

/**
 * JSON text of `value` in the given style, random choices from `seed`; `spaced` writes one space
 * after the outermost `{` (same value, never canonical).
 */
function write(value: unknown, style: Style, seed: number, spaced = false): string {
  const random = prng(seed);
  const pick = <T>(xs: T[]) => xs[Math.floor(random() * xs.length)]!;
  const ws = () => (style.whitespace && random() < 0.3 ? pick([' ', '\n', '\r\n', '\t', '  ']) : '');
  const str = (s: string) => {
    if (!style.escapes) return JSON.stringify(s);
    let out = '"';
    for (const ch of s) {
      if (random() >= 0.1) out += JSON.stringify(ch).slice(1, -1);
      else if (ch === '/' && random() < 0.5) out += '\\/';
      else {
        for (let i = 0; i < ch.length; i++) {
          const hex = ch.charCodeAt(i).toString(16).padStart(4, '0');
          out += `\\u${random() < 0.5 ? hex : hex.toUpperCase()}`;
        }
      }
    }
    return `${out}"`;
  };
  const num = (n: number) => {
    if (!style.numbers || random() < 0.6) return JSON.stringify(n);
    const plain = String(n);
    if (plain.includes('e')) return pick([plain.toUpperCase(), plain.replace('e+', 'e'), '-0']);
    if (Number.isInteger(n)) return pick([`${n}.0`, `${n}e0`, `${n}E+0`, n === 0 ? '-0' : plain, '1e400', '-0.0']);
    return pick([`${n}0`, `${n}e0`, '12345678901234567890']);
  };
  const go = (v: unknown, outer: boolean): string => {
    if (v === null || typeof v === 'boolean') return String(v);
    if (typeof v === 'number') return num(v);
    if (typeof v === 'string') return str(v);
    if (Array.isArray(v)) return `[${ws()}${v.map((x) => go(x, false)).join(`${ws()},${ws()}`)}${ws()}]`;
    const entries = Object.entries(v as Record<string, unknown>);
    const parts: string[] = [];
    for (const [k, x] of entries) {
      if (style.duplicates && random() < 0.15) parts.push(`${str(k)}:${go(pick([null, 1, 'dup', x]), false)}`);
      parts.push(`${str(k)}${ws()}:${ws()}${go(x, false)}`);
    }
    return `{${outer && spaced ? ' ' : ws()}${parts.join(`${ws()},${ws()}`)}${ws()}}`;
  };
  return go(value, true);
}

function body(events: unknown[], style: Style, seed: number, spaced: boolean): string {
  const texts = events.map((e, i) => write(e, style, seed + i, spaced));
  return `{"sent_at":"${SENT_AT}","events":[${texts.join(',')}]}`;
}

/**
 * processBody of the body as written and of its spaced twin: every line must be identical.
 * Returns how many accepted events had a canonical span (took the text path).
 */
function expectSameLines(events: unknown[], style: Style, seed: number): number {
  const text = body(events, style, seed, false);
  const asWritten = processBody(text, ctx);
  const reference = processBody(body(events, style, seed, true), ctx);
  expect(asWritten).toEqual(reference);
  if (!asWritten.ok) return 0;
  const rejected = new Set(asWritten.rejected.map((r) => r.index));
  const spans = scanBatch(text) ?? [];
  return spans.filter((span, i) => span !== undefined && !rejected.has(i)).length;
}

function hasDigitKey(v: unknown): boolean {
  if (typeof v !== 'object' || v === null) return false;
  if (Array.isArray(v)) return v.some(hasDigitKey);
  return Object.entries(v).some(([k, x]) => /^\d/.test(k) || hasDigitKey(x));
}

const FIXTURES = path.resolve(import.meta.dirname, '../../schemas/events');

/** Every fixture event (valid and invalid), moved to the request's time so the valid ones are accepted. */
function fixtureEvents(): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const name of readdirSync(FIXTURES).sort()) {
    for (const kind of ['valid', 'invalid']) {
      const dir = path.join(FIXTURES, name, 'fixtures', kind);
      let files: string[];
      try {
        files = readdirSync(dir).sort();
      } catch {
        continue;
      }
      for (const f of files.filter((f) => f.endsWith('.json'))) {
        const e = JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as Record<string, unknown>;
        if (typeof e.event_timestamp === 'string' && e.event_timestamp.startsWith('2026-11-20')) {
          e.event_timestamp = '2026-11-26T12:00:03.500Z';
        }
        out.push(e);
      }
    }
  }
  return out;
}

describe('scanBatch', () => {
  const object = fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 4 }), { maxKeys: 6 });

  it('gives the span of every event of compact JSON.stringify text, and the span is its stringified value', () => {
    fc.assert(
      fc.property(fc.array(object, { maxLength: 5 }), (events) => {
        const text = JSON.stringify({ sent_at: SENT_AT, events });
        const parsed = JSON.parse(text).events as unknown[];
        const spans = scanBatch(text)!;
        expect(spans).toHaveLength(events.length);
        spans.forEach((span, i) => {
          // Integer-like keys are reordered by JSON.parse: keys starting with a digit are never canonical.
          if (hasDigitKey(parsed[i])) return;
          expect(span).toBeDefined();
          expect(text.slice(span!.start, span!.end)).toBe(JSON.stringify(parsed[i]));
          expect(span!.keys).toBe(countKeys(parsed[i]));
        });
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  it('only calls a span canonical when its text is what JSON.stringify writes (whatever the spelling)', () => {
    const style = fc.record({
      whitespace: fc.boolean(),
      escapes: fc.boolean(),
      numbers: fc.boolean(),
      duplicates: fc.boolean(),
    });
    const unicode = fc.dictionary(fc.string({ unit: 'binary' }), fc.jsonValue({ maxDepth: 4 }), { maxKeys: 6 });
    fc.assert(
      fc.property(fc.array(fc.oneof(object, unicode), { maxLength: 4 }), style, fc.integer(), (events, s, seed) => {
        const text = body(events, s, seed, false);
        const parsed = JSON.parse(text).events as unknown[];
        const spans = scanBatch(text)!;
        expect(spans).toHaveLength(events.length);
        spans.forEach((span, i) => {
          if (span && span.keys === countKeys(parsed[i])) {
            expect(text.slice(span.start, span.end)).toBe(JSON.stringify(parsed[i]));
          }
        });
      }),
      { seed: SEED, numRuns: 500 },
    );
  });

  it('finds the top-level event_timestamp and event_id tokens, not nested ones', () => {
    const text = JSON.stringify({
      sent_at: SENT_AT,
      events: [{ properties: { event_id: 'x', event_timestamp: 'y' }, event_id: 'a-b', event_timestamp: 'T' }],
    });
    const [span] = scanBatch(text)!;
    expect(text.slice(span!.idStart, span!.idEnd)).toBe('"a-b"');
    expect(text.slice(span!.timestampStart, span!.timestampEnd)).toBe('"T"');
  });

  it('refuses spans that JSON.stringify would spell differently, and ambiguous batches', () => {
    const one = (event: string) => scanBatch(`{"events":[${event}]}`)![0];
    for (const event of [
      '{ "a":1}',
      '{"a":1.0}',
      '{"a":-0}',
      '{"a":1e2}',
      '{"a":"\\u0041"}',
      '{"a":"\\/"}',
      '{"a":"\\u001F"}',
      '{"1":true}',
      '{"a":[1,\n2]}',
      // Each `{"a":[` is two levels.
      `${'{"a":['.repeat(MAX_DEPTH / 2 + 1)}${']}'.repeat(MAX_DEPTH / 2 + 1)}`,
    ]) {
      expect(one(event), event).toBeUndefined();
    }
    expect(one('{"a":"\\u001f\\n\\"\\\\","b":[true,false,null,-1.5,0,12]}')).toBeDefined();
    expect(one(`${'{"a":['.repeat(MAX_DEPTH / 2)}${']}'.repeat(MAX_DEPTH / 2)}`)).toBeDefined();
    expect(scanBatch('{"events":[{"a":1}],"events":[{"a":1}]}')).toBeUndefined();
    expect(scanBatch('{"ev\\u0065nts":[{"a":1}],"events":[{"a":1}]}')).toBeUndefined();
    expect(scanBatch('[1]')).toBeUndefined();
  });
});

describe('lake lines from the request text', () => {
  it('are the JSON.stringify lines for every fixture event, in every spelling', () => {
    const events = fixtureEvents();
    expect(events.length).toBeGreaterThan(100);
    const compact = processBody(body(events, PLAIN, SEED, false), ctx);
    if (!compact.ok) throw new Error('batch refused');
    expect(compact.accepted.length).toBeGreaterThan(30);
    // The compact text is canonical: every accepted event took the text path.
    const spans = scanBatch(body(events, PLAIN, SEED, false))!;
    expect(spans.every((s) => s !== undefined)).toBe(true);
    for (const [i, style] of [
      PLAIN,
      { ...PLAIN, whitespace: true },
      { ...PLAIN, escapes: true },
      { ...PLAIN, numbers: true },
      { ...PLAIN, duplicates: true },
      { whitespace: true, escapes: true, numbers: true, duplicates: true },
    ].entries()) {
      expectSameLines(events, style, SEED + i * 1000);
    }
  });

  it('are the JSON.stringify lines for generated events (upper-case ids, offsets, claimed fields, extras)', () => {
    // Each spelling quirk in one body of four, so most events stay canonical and take the text path.
    const rare = fc.integer({ min: 0, max: 3 }).map((n) => n === 0);
    const style = fc.record({ whitespace: rare, escapes: rare, numbers: rare, duplicates: rare });
    const event = fc
      .record({
        name: fc.constantFrom('product_view', 'page_view', 'search', 'add_to_cart', 'purchase'),
        upper: fc.boolean(),
        timestamp: fc.constantFrom(
          '2026-11-26T12:00:03.500Z',
          '2026-11-26T12:00:03Z',
          '2026-11-26T14:00:03.5+02:00',
          '2026-11-26t12:00:03.123456789z',
          '2026-10-01T00:00:00.000Z',
        ),
        claimed: fc.option(fc.constantFrom('user_id', 'received_at', 'client_event_timestamp', 'ip'), {
          nil: undefined,
        }),
        extra: fc.option(fc.dictionary(fc.string({ unit: 'binary', maxLength: 8 }), fc.jsonValue({ maxDepth: 3 })), {
          nil: undefined,
        }),
        title: fc.string({ unit: 'binary', maxLength: 20 }),
        order: fc.boolean(),
      })
      .map(({ name, upper, timestamp, claimed, extra, title, order }) => {
        const e = sampleEvent(name, { event_timestamp: timestamp });
        if (upper) e.event_id = (e.event_id as string).toUpperCase();
        (e.page as Record<string, unknown>).title = title;
        if (claimed) e[claimed] = 'claimed';
        if (extra) e.properties = { ...(e.properties as object), ...extra };
        // event_id after event_timestamp in the text, too.
        if (order) {
          const { event_id, ...rest } = e;
          return { ...rest, event_id };
        }
        return e;
      });
    let textPath = 0;
    fc.assert(
      fc.property(fc.array(event, { minLength: 1, maxLength: 6 }), style, fc.integer(), (events, s, seed) => {
        textPath += expectSameLines(events, s, seed);
      }),
      { seed: SEED, numRuns: 300 },
    );
    // Not vacuous: many accepted events took the text path.
    expect(textPath).toBeGreaterThan(100);
  });

  it('keep the limits: an event over maxEventBytes is rejected alone, as before', () => {
    const events = [sampleEvent('product_view'), sampleEvent('search')];
    const limits = { maxBodyBytes: 1_048_576, maxEventBytes: 400, maxEventsPerRequest: 500 };
    const text = body(events, PLAIN, SEED, false);
    const spaced = body(events, PLAIN, SEED, true);
    expect(processBody(text, ctx, limits)).toEqual(processBody(spaced, ctx, limits));
    const result = processBody(text, { ...ctx, identity: GUEST }, limits);
    if (!result.ok) throw new Error('batch refused');
    expect(result.rejected.map((r) => r.errors[0]!.rule)).toContain('event_too_large');
  });
});
