/**
 * Valid wire events of every model, for tests and benchmarks. The properties come from each
 * event's first valid fixture (schemas/events/<name>/fixtures/valid/), so a new event needs no
 * hand-written sample here and the samples are exactly what the schema tests prove valid.
 */
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { trackedEventModels } from '../../generated/tracker/api.ts';
import type { EventName } from '../../generated/types/events.ts';

const EVENTS_DIR = path.resolve(import.meta.dirname, '..', '..', 'schemas', 'events');

export const EVENT_NAMES = Object.keys(trackedEventModels) as EventName[];

/** The newest model's properties of every event, from its first valid fixture. */
export const SAMPLE_PROPERTIES: Record<EventName, Record<string, unknown>> = Object.fromEntries(
  EVENT_NAMES.map((name) => {
    const dir = path.join(EVENTS_DIR, name, 'fixtures', 'valid');
    const candidates = readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .sort()
      .map(
        (f) =>
          JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as {
            event_version: number;
            properties: Record<string, unknown>;
          },
      )
      .filter((e) => e.event_version === trackedEventModels[name]);
    const first = candidates[0];
    if (!first) throw new Error(`${dir} has no valid fixture of model ${trackedEventModels[name]}`);
    return [name, first.properties];
  }),
) as Record<EventName, Record<string, unknown>>;

/**
 * When samples happen unless a caller says otherwise: a fixed instant, never the real clock, so a
 * test that pins `received_at` keeps passing whatever day it runs on. A sample batch sent to a
 * server on the real clock is still accepted: its `sent_at` equals its event times, so the skew
 * correction moves them to the server's receive time.
 */
export const SAMPLE_TIME = new Date('2026-11-26T12:00:00.000Z');

/** One valid wire event (a fresh event_id each call) with `overrides` merged over the top level. */
export function sampleEvent(
  name: EventName = 'product_view',
  overrides: Record<string, unknown> = {},
  at: Date = SAMPLE_TIME,
): Record<string, unknown> {
  return {
    event_name: name,
    event_version: trackedEventModels[name],
    event_id: randomUUID(),
    event_timestamp: at.toISOString(),
    client_id: 'c-5f0e2a9c-8d7b-4c1e-9a55-1b2c3d4e5f60',
    session_id: 's-1732590000000-k3j9',
    is_first_visit: false,
    page: {
      url: 'https://shop.example/products/sku-10442-trail-runner-2?utm_source=newsletter',
      referrer: 'https://shop.example/c/shoes',
      title: 'Trail Runner 2 — Northpeak',
    },
    properties: structuredClone(SAMPLE_PROPERTIES[name]),
    ...overrides,
  };
}

/** `{ sent_at, events }` with `count` events cycling through every model. */
export function sampleBatch(
  count = 25,
  at: Date = SAMPLE_TIME,
): { sent_at: string; events: Record<string, unknown>[] } {
  return {
    sent_at: at.toISOString(),
    events: Array.from({ length: count }, (_, i) => sampleEvent(EVENT_NAMES[i % EVENT_NAMES.length], {}, at)),
  };
}
