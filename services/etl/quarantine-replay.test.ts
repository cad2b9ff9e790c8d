/**
 * Quarantine list / show / replay on a file lake and over the S3 API (s3rver), loaded by the real
 * ETL into PGlite.
 *
 * "A bound relaxed since": the registry's schemas cannot be edited by a test, so the batch is the
 * one an older, tighter registry would have quarantined — add_to_cart `quantity` with
 * `maximum: 2` — written in ingest's own quarantine record format through the real LakeWriter,
 * next to events today's registry rejects too (found by the real ingest core). Replay has no
 * validator seam: it validates with the generated validators the ETL loads with, which accept
 * quantities up to 999. An ETL-side record (a model the ETL's registry did not know yet) is
 * replayed as well.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { processBody } from '../ingest/core.ts';
import { LakeWriter } from '../ingest/lake-writer.ts';
import { sampleEvent } from '../ingest/sample-events.ts';
import { FileRawStore } from '../lake/file-store.ts';
import { decodeJsonl, encodeJsonl } from '../lake/jsonl.ts';
import { objectKey, type RawStore } from '../lake/raw-store.ts';
import { S3RawStore } from '../lake/s3-store.ts';
import { type S3rverHandle, startS3rver } from '../testing/s3rver.ts';
import { runEtl } from './core.ts';
import { listQuarantine, replayQuarantine, showQuarantined } from './quarantine-replay.ts';
import { sampleEvents } from './sample-lake.ts';
import { openWarehouse, type Warehouse } from './warehouse.ts';

const RECEIVED = new Date('2026-11-20T10:15:00.000Z');
const RANGE = { start: new Date('2026-11-20T00:00:00Z'), end: new Date('2026-11-21T00:00:00Z') };
const REPLAY_AT = new Date('2026-11-22T09:30:00Z');
const etlOptions = (at: string) => ({
  trigger: 'manual' as const,
  lookbackHours: 24,
  now: () => new Date(at),
  retry: { attempts: 2, baseDelayMs: 1 },
});

const addToCart = (quantity: number) => {
  const e = sampleEvent('add_to_cart', {}, RECEIVED);
  (e.properties as Record<string, unknown>).quantity = quantity;
  return e;
};

/** Writes the quarantine batch; returns the event_ids the relaxed bound now lets through. */
async function writeQuarantine(store: RawStore): Promise<string[]> {
  const relaxed = [addToCart(3), addToCart(5), addToCart(12)];
  const stillBad = [addToCart(5000), addToCart(1000)];
  const noProduct = sampleEvent('add_to_cart', {}, RECEIVED);
  delete (noProduct.properties as Record<string, unknown>).product;
  const body = { sent_at: RECEIVED.toISOString(), events: [...relaxed, ...stillBad, noProduct] };
  const result = processBody(JSON.stringify(body), {
    receivedAt: RECEIVED,
    identity: { user_id: null, user_login_state: 'guest', identity_source: 'anonymous' },
  });
  if (!result.ok) throw new Error(result.message);
  // Today's registry rejects these three; the older one rejected the first three too.
  expect(result.rejected.map((r) => r.index)).toEqual([3, 4, 5]);
  const tooTight = relaxed.map((raw) =>
    JSON.stringify({
      raw,
      errors: [{ path: '/properties/quantity', rule: 'maximum', message: 'must be <= 2' }],
      received_at: RECEIVED.toISOString(),
    }),
  );
  await new LakeWriter(store).write([], [...tooTight, ...result.rejected.map((r) => r.line)], RECEIVED);

  // A lake line the ETL quarantined when its registry lacked the model.
  const [line] = [...sampleEvents(1, { start: RECEIVED, spanHours: 1, seed: 4 })];
  const etlKey = objectKey('quarantine', RECEIVED, 'etl-01JDEMO0000000000000000000');
  await store.put(
    etlKey,
    encodeJsonl([
      {
        raw: JSON.stringify(line),
        errors: [{ path: '/event_version', rule: 'unknown_event_version', message: 'no schema' }],
        received_at: String(line?.received_at),
        source_object: 'events/2026/11/20/10/01JDEMO0000000000000000000.jsonl.gz',
      },
    ]),
  );
  return [...relaxed.map((e) => String(e.event_id)), String(line?.event_id)];
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

type Lake = { name: string; open(): Promise<RawStore>; close(): Promise<void> };

let s3: S3rverHandle | undefined;
const lakes: Lake[] = [
  (() => {
    let dir = '';
    return {
      name: 'file lake',
      open: async () => {
        dir = await mkdtemp(path.join(os.tmpdir(), 'replay-'));
        return new FileRawStore(dir);
      },
      close: () => rm(dir, { recursive: true, force: true }),
    };
  })(),
  {
    name: 's3rver',
    open: async () => {
      s3 ??= await startS3rver();
      return new S3RawStore({ bucket: s3.bucket, endpoint: s3.endpoint, prefix: `t-${randomUUID()}` });
    },
    close: async () => {},
  },
];

afterAll(async () => {
  await s3?.stop();
});

describe.each(lakes)('quarantine on the $name', (lake) => {
  let wh: Warehouse;
  let store: RawStore;
  let passing: string[];

  beforeAll(async () => {
    wh = await openWarehouse({ pgliteDir: 'memory://' });
    await wh.migrate();
    return () => wh.close();
  });
  beforeEach(async () => {
    await wh.query('TRUNCATE clickstream_events, etl_loaded_objects, etl_runs, quarantined_events');
    store = await lake.open();
    passing = await writeQuarantine(store);
    return () => lake.close();
  });

  it('lists each rejected line with rule, path and message, filtered by event and rule; shows one with its raw event', async () => {
    const all = await collect(listQuarantine(store, RANGE));
    expect(all).toHaveLength(7);
    expect(all.map((q) => [q.source, q.eventName, q.rule, q.path])).toEqual([
      ['ingest', 'add_to_cart', 'maximum', '/properties/quantity'],
      ['ingest', 'add_to_cart', 'maximum', '/properties/quantity'],
      ['ingest', 'add_to_cart', 'maximum', '/properties/quantity'],
      ['ingest', 'add_to_cart', 'maximum', '/properties/quantity'],
      ['ingest', 'add_to_cart', 'maximum', '/properties/quantity'],
      ['ingest', 'add_to_cart', 'required', '/properties/product'],
      ['etl', all[6]?.eventName, 'unknown_event_version', '/event_version'],
    ]);
    expect(await collect(listQuarantine(store, RANGE, { rule: 'required' }))).toHaveLength(1);
    expect(await collect(listQuarantine(store, RANGE, { event: 'add_to_cart' }))).toHaveLength(6);
    expect(
      await collect(listQuarantine(store, { start: RANGE.end, end: new Date('2026-11-22T00:00:00Z') })),
    ).toHaveLength(0);
    const one = await showQuarantined(store, all[1]?.id as string);
    expect(one).toMatchObject({ eventId: passing[1], receivedAt: RECEIVED.toISOString(), replayedTo: null });
    expect(one?.raw).toMatchObject({ properties: { quantity: 5 } });
    expect(await showQuarantined(store, `${all[1]?.objectKey}#99`)).toBeUndefined();
  });

  it('replays what the current registry accepts into events/ once; etl run loads it exactly once; the rest stay', async () => {
    const first = await replayQuarantine(store, RANGE, { now: () => REPLAY_AT });
    expect(first).toMatchObject({ lines: 7, replayed: 4, alreadyReplayed: 0, stillRejected: 3 });
    expect(first.eventsObject).toMatch(/^events\/2026\/11\/22\/09\/[0-9A-Z]{26}-replay\.jsonl\.gz$/);

    const loaded = await runEtl({ warehouse: wh, store }, etlOptions('2026-11-22T10:00:00Z'));
    expect(loaded).toMatchObject({ status: 'succeeded', rowsInserted: 4, quarantined: 0 });
    const rows = await wh.query<{ event_id: string; received_at: string; user_login_state: string }>(
      `SELECT event_id::text, to_char(received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS received_at,
         user_login_state FROM clickstream_events ORDER BY event_id`,
    );
    expect(rows.map((r) => r.event_id)).toEqual([...passing].sort());
    // Every one keeps its original receive time (the ETL's line was received then too).
    expect(rows.map((r) => r.received_at)).toEqual(rows.map(() => RECEIVED.toISOString()));
    // Ingest kept no identity for a rejected event; the ETL's line keeps the one it was received with.
    const stateOf = new Map(rows.map((r) => [r.event_id, r.user_login_state]));
    expect(passing.slice(0, 3).map((id) => stateOf.get(id))).toEqual(['guest', 'guest', 'guest']);
    expect(stateOf.get(passing[3] as string)).toBe('logged_in');

    const second = await replayQuarantine(store, RANGE, { now: () => new Date('2026-11-22T11:00:00Z') });
    expect(second).toEqual({ lines: 7, replayed: 0, alreadyReplayed: 4, stillRejected: 3, eventsObject: null });
    const again = await runEtl({ warehouse: wh, store }, etlOptions('2026-11-22T12:00:00Z'));
    expect(again).toMatchObject({ status: 'succeeded', rowsInserted: 0 });
    const [n] = await wh.query<{ n: number }>('SELECT count(*)::int AS n FROM clickstream_events');
    expect(n?.n).toBe(4);

    const left = (await collect(listQuarantine(store, RANGE))).filter((q) => !q.replayedTo);
    expect(left.map((q) => q.rule)).toEqual(['maximum', 'maximum', 'required']);
  });

  it('an event quarantined twice (a tracker retry) is written back once and marked replayed twice', async () => {
    const window = { start: new Date('2026-11-23T00:00:00Z'), end: new Date('2026-11-24T00:00:00Z') };
    const at = new Date('2026-11-23T05:00:00Z');
    const raw = sampleEvent('add_to_cart', {}, at);
    const record = JSON.stringify({ raw, errors: [{ path: '', rule: 'maximum', message: 'x' }], received_at: at });
    await new LakeWriter(store).write([], [record, record], at);
    const replayed = await replayQuarantine(store, window, { now: () => new Date('2026-11-23T08:00:00Z') });
    expect(replayed).toMatchObject({ lines: 2, replayed: 2 });
    expect(decodeJsonl(await store.get(replayed.eventsObject as string))).toHaveLength(1);
    expect((await collect(listQuarantine(store, window))).map((q) => Boolean(q.replayedTo))).toEqual([true, true]);
  });

  it('a replay that died before recording writes the events again, and the ETL still loads each once', async () => {
    const noRecords: RawStore = {
      url: store.url,
      get: (k) => store.get(k),
      list: (p, s) => store.list(p, s),
      delete: (k) => store.delete(k),
      put: async (k, b) => {
        if (k.startsWith('replayed/')) throw new Error('injected: process died before the replay record');
        return store.put(k, b);
      },
    };
    await expect(replayQuarantine(noRecords, RANGE, { now: () => REPLAY_AT })).rejects.toThrow(/injected/);
    const retried = await replayQuarantine(store, RANGE, { now: () => new Date('2026-11-22T09:40:00Z') });
    expect(retried).toMatchObject({ replayed: 4 });
    const loaded = await runEtl({ warehouse: wh, store }, etlOptions('2026-11-22T10:00:00Z'));
    expect(loaded).toMatchObject({ status: 'succeeded', objects: 2, rowsInserted: 4, duplicates: 4 });
  });
});
