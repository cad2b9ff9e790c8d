/**
 * `etl rebuild` (runEtl with trigger 'rebuild') on real PostgreSQL and PGlite over a file lake:
 * fact rows that drifted from what the lake maps to (a column added later and still NULL, values
 * changed, an event moved to another day) are updated in place by event_id, nothing duplicated;
 * the rollups of the days before and after are refreshed; a crashed rebuild resumes where it stopped.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FileRawStore } from '../lake/file-store.ts';
import type { RawStore } from '../lake/raw-store.ts';
import { type EtlOptions, runEtl } from './core.ts';
import { refreshDirtyDays } from './refresh-days.ts';
import { sampleEvents, writeSampleLake } from './sample-lake.ts';
import { expectDerivedTablesExact, testWarehouse } from './test-helpers.ts';
import type { Warehouse } from './warehouse.ts';

const START = new Date('2026-11-20T08:00:00Z');
const WINDOW = { start: new Date('2026-11-20T00:00:00Z'), end: new Date('2026-11-21T00:00:00Z') };
const base = {
  lookbackHours: 24,
  now: () => new Date('2026-11-22T00:00:00Z'),
  retry: { attempts: 2, baseDelayMs: 1 },
} satisfies Partial<EtlOptions>;
const rebuild: EtlOptions = { ...base, trigger: 'rebuild', window: WINDOW, batchObjects: 1 };

async function facts(wh: Warehouse) {
  const [row] = await wh.query<{ n: number; h: string }>(
    `SELECT count(*)::int AS n, md5(coalesce(string_agg(t::text, '|' ORDER BY event_id), '')) AS h FROM clickstream_events t`,
  );
  return row;
}

/** What a schema change or a mapping bug leaves behind: rows that no longer match the lake. */
async function drift(wh: Warehouse): Promise<number> {
  const nulled = await wh.query(`UPDATE clickstream_events SET context_product_name = NULL,
    properties = properties || '{"drifted": true}' WHERE event_name <> 'page_view' RETURNING 1`);
  const moved = await wh.query(`UPDATE clickstream_events SET event_timestamp = event_timestamp - interval '3 days',
    page_url = 'https://drifted.example/' WHERE event_name = 'page_view' RETURNING 1`);
  // Derived tables consistent with the drifted facts, as if they had been loaded that way.
  await wh.query(`INSERT INTO etl_dirty_days (day, marked_at)
    SELECT DISTINCT (event_timestamp AT TIME ZONE 'UTC')::date, now() FROM clickstream_events ON CONFLICT DO NOTHING`);
  await wh.query(`INSERT INTO etl_dirty_days (day, marked_at) VALUES ('2026-11-20', now()) ON CONFLICT DO NOTHING`);
  await wh.withSession((s) => refreshDirtyDays(s, new Set()));
  return nulled.length + moved.length;
}

/** A store whose reads of one key always fail: a crash of the rebuild at that object. */
function failingOn(inner: RawStore, key: string): RawStore {
  return {
    url: inner.url,
    put: (k, b) => inner.put(k, b),
    delete: (k) => inner.delete(k),
    list: (p, s) => inner.list(p, s),
    get: async (k) => {
      if (k === key) throw Object.assign(new Error(`injected read failure for ${k}`), { name: 'InternalError' });
      return inner.get(k);
    },
  };
}

describe.each(['postgres', 'pglite'] as const)('etl rebuild on %s', (kind) => {
  const warehouse = testWarehouse(kind, 'rebuild');
  let wh: Warehouse;
  let lakeDir: string;
  let store: FileRawStore;
  let keys: string[];

  beforeAll(() => {
    wh = warehouse.current;
  });
  beforeEach(async () => {
    await wh.query(`TRUNCATE clickstream_events, daily_event_counts, sessions, etl_loaded_objects, etl_runs,
      etl_rebuilt_objects, etl_dirty_days`);
    lakeDir = await mkdtemp(path.join(os.tmpdir(), 'etl-rebuild-'));
    store = new FileRawStore(lakeDir);
    keys = (await writeSampleLake(store, sampleEvents(300, { start: START, spanHours: 3 }), 50)).sort();
    expect(await runEtl({ warehouse: wh, store }, { ...base, trigger: 'manual' })).toMatchObject({
      status: 'succeeded',
      rowsInserted: 300,
    });
    return () => rm(lakeDir, { recursive: true, force: true });
  });

  it('restores drifted rows in place, refreshes the days they left and entered, and a second rebuild changes nothing', async () => {
    const loaded = await facts(wh);
    const drifted = await drift(wh);
    expect(drifted).toBe(300);
    expect((await facts(wh))?.h).not.toBe(loaded?.h);
    const [movedDay] = await wh.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM daily_event_counts WHERE day = '2026-11-17'`,
    );
    expect(movedDay?.n).toBeGreaterThan(0);

    const first = await runEtl({ warehouse: wh, store }, rebuild);
    expect(first).toMatchObject({
      status: 'succeeded',
      trigger: 'rebuild',
      objects: 6,
      rowsInserted: 0,
      rowsUpdated: 300,
      duplicates: 0,
      alreadyDone: 0,
    });
    expect(first.daysTouched).toEqual(['2026-11-17', '2026-11-20']);
    expect(await facts(wh)).toEqual(loaded);
    await expectDerivedTablesExact(wh);
    const [left] = await wh.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM daily_event_counts WHERE day = '2026-11-17'`,
    );
    expect(left?.n).toBe(0);
    const [run] = await wh.query<{ trigger: string; rows_updated: number }>(
      `SELECT trigger, rows_updated FROM etl_runs WHERE run_id = $1`,
      [first.runId],
    );
    expect(run).toEqual({ trigger: 'rebuild', rows_updated: 300 });
    const ledger = await wh.query<{ object_key: string; run_id: string }>(
      'SELECT object_key, run_id::text AS run_id FROM etl_loaded_objects ORDER BY object_key',
    );
    expect(ledger).toEqual(keys.map((object_key) => ({ object_key, run_id: first.runId })));

    const second = await runEtl({ warehouse: wh, store }, rebuild);
    expect(second).toMatchObject({ status: 'succeeded', objects: 6, rowsInserted: 0, rowsUpdated: 0, duplicates: 300 });
    expect(second.daysTouched).toEqual([]);
    expect(await facts(wh)).toEqual(loaded);
    const [progress] = await wh.query<{ n: number }>('SELECT count(*)::int AS n FROM etl_rebuilt_objects');
    expect(progress?.n).toBe(0);
  });

  it('loads the objects of the range the ledger lacks, and keeps the first-received copy of a resent event', async () => {
    const resent = [...sampleEvents(50, { start: new Date('2026-11-20T12:00:00Z'), spanHours: 1, seed: 7 })];
    // The first 10 events again, received an hour later (a tracker retry): the first copy stays.
    const again = resent
      .slice(0, 10)
      .map((e) => ({ ...e, received_at: new Date('2026-11-20T13:30:00Z').toISOString(), browser: 'Resent' }));
    await writeSampleLake(store, resent, 50);
    await writeSampleLake(store, again, 50);
    const result = await runEtl({ warehouse: wh, store }, rebuild);
    expect(result).toMatchObject({
      status: 'succeeded',
      objects: 8,
      rowsInserted: 50,
      rowsUpdated: 0,
      duplicates: 310,
    });
    const [counts] = await wh.query<{ n: number; resent: number }>(
      `SELECT count(*)::int AS n, (count(*) FILTER (WHERE browser = 'Resent'))::int AS resent FROM clickstream_events`,
    );
    expect(counts).toEqual({ n: 350, resent: 0 });
    await expectDerivedTablesExact(wh);
  });

  it('a rebuild of a range reaching into the future does not move the next etl run past new objects', async () => {
    const future = { start: WINDOW.start, end: new Date('2027-01-01T00:00:00Z') };
    expect(await runEtl({ warehouse: wh, store }, { ...rebuild, window: future })).toMatchObject({
      status: 'succeeded',
    });
    await writeSampleLake(
      store,
      sampleEvents(10, { start: new Date('2026-11-21T06:00:00Z'), spanHours: 1, seed: 8 }),
      10,
    );
    const next = await runEtl({ warehouse: wh, store }, { ...base, trigger: 'manual' });
    expect(next).toMatchObject({ status: 'succeeded', rowsInserted: 10 });
  });

  it('resumes after a crash: objects rebuilt before it are not read again, the rest are', async () => {
    const loaded = await facts(wh);
    await drift(wh);
    const crashed = await runEtl({ warehouse: wh, store: failingOn(store, keys[3] as string) }, rebuild);
    expect(crashed.status).toBe('failed');
    expect(crashed.error).toMatch(/injected read failure/);
    const done = await wh.query<{ object_key: string }>(
      'SELECT object_key FROM etl_rebuilt_objects ORDER BY object_key',
    );
    expect(done.map((r) => r.object_key)).toEqual(keys.slice(0, 3));
    const [partial] = await wh.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM clickstream_events WHERE page_url = 'https://drifted.example/'`,
    );
    expect(partial?.n).toBeGreaterThan(0);

    const reads: string[] = [];
    const counting: RawStore = {
      url: store.url,
      put: (k, b) => store.put(k, b),
      delete: (k) => store.delete(k),
      list: (p, s) => store.list(p, s),
      get: (k) => {
        reads.push(k);
        return store.get(k);
      },
    };
    const resumed = await runEtl({ warehouse: wh, store: counting }, rebuild);
    expect(resumed).toMatchObject({ status: 'succeeded', objects: 3, alreadyDone: 3, rowsInserted: 0 });
    expect(reads.sort()).toEqual(keys.slice(3));
    expect(crashed.rowsUpdated + resumed.rowsUpdated).toBe(300);
    expect(await facts(wh)).toEqual(loaded);
    await expectDerivedTablesExact(wh);
    const [progress] = await wh.query<{ n: number }>('SELECT count(*)::int AS n FROM etl_rebuilt_objects');
    expect(progress?.n).toBe(0);
  });
});
