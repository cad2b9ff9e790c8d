/**
 * A tracker retry resends event_ids the warehouse already holds, in new lake objects. The load
 * must skip and count them at any batch size: the optimistic COPY hits the primary key while
 * megabytes of the batch are still being sent, on PostgreSQL (COPY over the wire protocol) and on
 * PGlite (COPY from a blob).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileRawStore } from '../lake/file-store.ts';
import { runEtl } from './core.ts';
import { sampleEvents, writeSampleLake } from './sample-lake.ts';
import { expectDerivedTablesExact, testWarehouse } from './test-helpers.ts';
import type { Warehouse } from './warehouse.ts';

const START = new Date('2026-11-20T03:00:00Z');
const now = () => new Date('2026-11-21T00:00:00Z');
const EVENTS = 12_500;
const PER_OBJECT = 125;

describe.each(['postgres', 'pglite'] as const)('resent event_ids on %s', (kind) => {
  const warehouse = testWarehouse(kind, 'etl_dupes');
  let wh: Warehouse;
  let lakeDir: string;

  beforeAll(async () => {
    wh = warehouse.current;
    lakeDir = await mkdtemp(path.join(os.tmpdir(), 'etl-dupes-'));
  });
  afterAll(async () => {
    await rm(lakeDir, { recursive: true, force: true });
  });

  it('skips and counts every resent event of a multi-megabyte batch; the run succeeds', async () => {
    const store = new FileRawStore(lakeDir);
    const events = [...sampleEvents(EVENTS, { start: START, spanHours: 2, seed: 11 })];
    await writeSampleLake(store, events, PER_OBJECT);
    const first = await runEtl({ warehouse: wh, store }, { trigger: 'manual', lookbackHours: 24, now });
    expect(first).toMatchObject({ status: 'succeeded', rowsInserted: EVENTS, duplicates: 0 });

    // The tracker resends everything (new objects, same event_ids), plus a few new events.
    const fresh = [...sampleEvents(40, { start: START, spanHours: 2, seed: 12 })];
    await writeSampleLake(store, [...events, ...fresh], PER_OBJECT);
    // One batch of every resent object: a COPY of ~13 MB that hits the primary key on its first row.
    const second = await runEtl(
      { warehouse: wh, store },
      { trigger: 'manual', lookbackHours: 24, now, batchBytes: 64 * 1024 * 1024 },
    );
    expect(second.error).toBeUndefined();
    expect(second).toMatchObject({ status: 'succeeded', rowsInserted: 40, duplicates: EVENTS, quarantined: 0 });
    const [count] = await wh.query<{ n: number }>('SELECT count(*)::int AS n FROM clickstream_events');
    expect(count?.n).toBe(EVENTS + 40);
    await expectDerivedTablesExact(wh);
  }, 120_000);
});
