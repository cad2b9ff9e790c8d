/**
 * Property-based fuzzing (fast-check) of the two places untrusted bytes enter the pipeline: the
 * ingest core (a request body) and the ETL line parser (a lake line, and a lake object's bytes).
 * Shared by `services/fuzz.test.ts` (bounded, fixed seed, in `npm test`) and `npm run fuzz`
 * (as many runs as asked, any seed).
 *
 * Properties: no throw escapes; every outcome is accept or reject-with-code (a whole-request
 * refusal has a status and a code, a rejected event or line has errors with a path, rule and
 * message); and what ingest accepts, the ETL parses as loadable — the shared definition of
 * storable, checked from both sides.
 */
import fc from 'fast-check';
import type { EventName } from '../../generated/types/events.ts';
import { objectLines } from '../etl/object-lines.ts';
import { validateAndMapLine } from '../etl/parse.ts';
import { GUEST, processBody } from '../ingest/core.ts';
import { EVENT_NAMES, SAMPLE_TIME, sampleEvent } from '../ingest/sample-events.ts';
import { encodeJsonlLines } from '../lake/jsonl.ts';
import { findUnstorable } from '../storable.ts';

const RECEIVED_AT = new Date(SAMPLE_TIME.getTime() + 5000);

/** Characters that break things: NUL, lone surrogates, escapes, quotes, separators, any code unit. */
const nastyChar = fc.oneof(
  fc.constantFrom('\u0000', '\ud800', '\udfff', '\\', '"', '😀', '\u2028', '\n', '\t', 'é'),
  fc.integer({ min: 0, max: 0xffff }).map((n) => String.fromCharCode(n)),
);
const nastyString = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.string({ unit: nastyChar, maxLength: 30 }),
  fc.constantFrom(
    `urn:uuid:${'5f0c5a52-7d1e-4e8e-9f3b-0a2b3c4d5e6f'}`,
    '{5f0c5a52-7d1e-4e8e-9f3b-0a2b3c4d5e6f}',
    '5F0C5A52-7D1E-4E8E-9F3B-0A2B3C4D5E6F',
    '2026-02-31T00:00:00Z',
    '0000-01-01T00:00:00Z',
    '2026-11-26T12:00:00.000+14:00',
    '\\u0000',
    '__proto__',
    'x'.repeat(300),
  ),
);
const nastyValue: fc.Arbitrary<unknown> = fc.oneof(
  nastyString,
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(null, true, 0, -0, 1e21, 2 ** 53 + 1, -1, 1.005, [], {}),
);

/** Where a mutation lands: envelope fields, nested properties, keys that do not exist. */
const PATHS: string[][] = [
  ['event_id'],
  ['event_name'],
  ['event_version'],
  ['event_timestamp'],
  ['client_id'],
  ['session_id'],
  ['is_first_visit'],
  ['page'],
  ['page', 'url'],
  ['page', 'title'],
  ['properties'],
  ['properties', 'product', 'price'],
  ['properties', 'product', 'name'],
  ['properties', 'quantity'],
  ['properties', 'query'],
  ['properties', 'extra'],
  ['user_id'],
  ['received_at'],
  ['unexpected'],
];

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node: Record<string, unknown> = target;
  for (const key of path.slice(0, -1)) {
    const child = node[key];
    if (typeof child !== 'object' || child === null || Array.isArray(child)) return;
    node = child as Record<string, unknown>;
  }
  // A copy: constantFrom hands out the same object every time, and two mutations could nest it in itself.
  const copy = structuredClone(value);
  Object.defineProperty(node, path.at(-1) as string, {
    value: copy,
    enumerable: true,
    configurable: true,
    writable: true,
  });
}

/** A valid wire event of any model, with up to three fields replaced by something nasty. */
const wireEvent = fc
  .tuple(
    fc.constantFrom(...EVENT_NAMES),
    fc.uuid(),
    fc.array(fc.tuple(fc.constantFrom(...PATHS), nastyValue), { maxLength: 3 }),
  )
  .map(([name, id, mutations]) => {
    const event = sampleEvent(name as EventName, { event_id: id });
    for (const [path, value] of mutations) setPath(event, path, value);
    return event;
  });

const sentAt = fc.oneof(fc.constant(SAMPLE_TIME.toISOString()), fc.constant(SAMPLE_TIME.toISOString()), nastyValue);

/** Request bodies: mostly envelopes of mutated events, also raw text, bytes and spliced JSON. */
export const requestBody: fc.Arbitrary<string | Uint8Array> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .tuple(sentAt, fc.array(wireEvent, { minLength: 1, maxLength: 8 }))
      .map(([s, events]) => JSON.stringify({ sent_at: s, events })),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }) },
  {
    // Escapes spliced into valid JSON text (JSON.stringify never writes lone-surrogate escapes).
    weight: 2,
    arbitrary: fc
      .tuple(wireEvent, fc.constantFrom('\\u0000', '\\ud800', '\\\\u0000', '\\udc00\\ud800', '\\\\\\ud800'))
      .map(([event, spliced]) =>
        JSON.stringify({ sent_at: SAMPLE_TIME.toISOString(), events: [event] }).replace('"s-', `"s-${spliced}`),
      ),
  },
);

const userAgent = fc.option(nastyString, { nil: undefined });
const ip = fc.option(fc.oneof(fc.ipV4(), fc.ipV6(), nastyString), { nil: undefined });

/** The ingest core on any body: no throw; refusal with status and code, or per-event outcomes. */
export const ingestCoreProperty = fc.property(requestBody, userAgent, ip, (body, ua, address) => {
  const result = processBody(body, { receivedAt: RECEIVED_AT, identity: GUEST, userAgent: ua, ip: address });
  if (!result.ok) {
    if (![400, 413].includes(result.status) || !/^[a-z][a-z0-9_]*$/.test(result.code) || !result.message) {
      throw new Error(`bad refusal ${JSON.stringify(result)}`);
    }
    return;
  }
  for (const r of result.rejected) {
    if (!r.errors.length || r.errors.some((e) => typeof e.path !== 'string' || !e.rule || !e.message)) {
      throw new Error(`rejected event without a proper reason: ${JSON.stringify(r.errors)}`);
    }
    JSON.parse(r.line);
  }
  for (const a of result.accepted) {
    // What ingest acknowledges, the ETL can load.
    const parsed = validateAndMapLine(a.line);
    if (!parsed.ok) throw new Error(`accepted but not loadable: ${JSON.stringify(parsed.errors)}\n${a.line}`);
    const unstorable = findUnstorable(JSON.parse(a.line));
    if (unstorable) throw new Error(`accepted an unstorable line: ${unstorable.path}`);
  }
});

/** An enriched lake line, as ingest writes it, before mutation. */
const enrichedLine = fc
  .tuple(wireEvent, fc.array(fc.tuple(fc.constantFrom(...PATHS), nastyValue), { maxLength: 2 }))
  .map(([event, mutations]) => {
    const line = {
      ...event,
      received_at: RECEIVED_AT.toISOString(),
      client_event_timestamp: SAMPLE_TIME.toISOString(),
      user_id: null,
      user_login_state: 'guest',
      identity_source: 'anonymous',
    } as Record<string, unknown>;
    for (const [path, value] of mutations) setPath(line, path, value);
    return JSON.stringify(line);
  });

export const lakeLine: fc.Arbitrary<string> = fc.oneof(
  { weight: 5, arbitrary: enrichedLine },
  { weight: 1, arbitrary: fc.string({ unit: nastyChar, maxLength: 100 }) },
  { weight: 1, arbitrary: enrichedLine.map((l) => l.replace('"c-', '"c-\\u0000')) },
);

/** The ETL line parser on any line: no throw; a row, or errors with a path, rule and message. */
export const lineParserProperty = fc.property(lakeLine, (line) => {
  const parsed = validateAndMapLine(line);
  if (parsed.ok) {
    if (findUnstorable(parsed.row)) throw new Error('a parsed row holds an unstorable string');
    return;
  }
  if (!parsed.errors.length || parsed.errors.some((e) => typeof e.path !== 'string' || !e.rule || !e.message)) {
    throw new Error(`line refused without a proper reason: ${JSON.stringify(parsed.errors)}`);
  }
});

/** Reading a lake object of any bytes: no throw, lines numbered in order, stops with a reason. */
export const objectReaderProperty = fc.asyncProperty(
  fc.oneof(
    fc.uint8Array({ maxLength: 300 }),
    fc.array(lakeLine, { maxLength: 20 }).map((l) => encodeJsonlLines(l)),
  ),
  async (body) => {
    let last = 0;
    for await (const chunk of objectLines(body, { maxLines: 10, maxBytes: 4096, maxLineBytes: 512 })) {
      for (const line of chunk.lines) {
        if (line.number !== last + 1) throw new Error(`line ${line.number} after ${last}`);
        last = line.number;
        if (line.error && (!line.error.rule || !line.error.message)) throw new Error('line error without reason');
      }
      if (chunk.stop && (!chunk.stop.rule || !chunk.stop.message)) throw new Error('stop without reason');
    }
    if (last > 10) throw new Error(`read ${last} lines past a cap of 10`);
  },
);
