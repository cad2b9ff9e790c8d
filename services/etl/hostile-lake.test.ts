/**
 * What a lake may hold besides what ingest writes — lines from older or foreign writers, gzip
 * bombs, corrupt objects, stray keys, unreadable names, late objects — must never fail a run or
 * block other objects: each line or key that cannot be loaded is quarantined or skipped, with its
 * reason, and everything else loads. Real PostgreSQL and PGlite, real file lake.
 */
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FileRawStore } from '../lake/file-store.ts';
import { decodeJsonl, encodeJsonlLines } from '../lake/jsonl.ts';
import { objectKey } from '../lake/raw-store.ts';
import { type EtlOptions, runEtl } from './core.ts';
import { sampleEvents, writeSampleLake } from './sample-lake.ts';
import { expectDerivedTablesExact, testWarehouse } from './test-helpers.ts';
import type { Warehouse } from './warehouse.ts';

const DAY = new Date('2026-11-20T00:00:00Z');
const hoursAfter = (h: number) => new Date(DAY.getTime() + h * 3_600_000);
const NOW = hoursAfter(40);
const base: EtlOptions = {
  trigger: 'manual',
  lookbackHours: 24,
  now: () => NOW,
  retry: { attempts: 2, baseDelayMs: 1 },
};

type QRecord = { raw: string | null; errors: { rule: string; message: string }[]; source_object: string };

async function quarantined(store: FileRawStore): Promise<QRecord[]> {
  const out: QRecord[] = [];
  for await (const o of store.list('quarantine/')) {
    for (const line of decodeJsonl(await store.get(o.key))) out.push(JSON.parse(line) as QRecord);
  }
  return out;
}

const rulesOf = (records: QRecord[]) => records.map((r) => r.errors.map((e) => e.rule).join(',')).sort();

describe.each(['postgres', 'pglite'] as const)('a hostile lake on %s', (kind) => {
  const warehouse = testWarehouse(kind, 'etl_hostile');
  let wh: Warehouse;
  let lakeDir: string;
  let store: FileRawStore;

  beforeAll(async () => {
    wh = warehouse.current;
  });
  beforeEach(async () => {
    await wh.query(
      'TRUNCATE clickstream_events, daily_event_counts, sessions, etl_loaded_objects, etl_runs, etl_skipped_objects',
    );
    lakeDir = await mkdtemp(path.join(os.tmpdir(), 'etl-hostile-'));
    store = new FileRawStore(lakeDir);
    return () => rm(lakeDir, { recursive: true, force: true });
  });

  it('quarantines lines the warehouse cannot store, with the reason, and loads the rest', async () => {
    const good = [...sampleEvents(6, { start: hoursAfter(5), spanHours: 1 })];
    const line = (over: Record<string, unknown>, i: number) => JSON.stringify({ ...good[i], ...over });
    const backslashU0000 = { ...good[4], event_id: crypto.randomUUID(), client_id: 'c\\u0000-literal' };
    const lines = [
      ...good.slice(0, 4).map((e) => JSON.stringify(e)),
      line({ event_id: `urn:uuid:${crypto.randomUUID()}` }, 0), // ingest now refuses it too
      line({ event_id: crypto.randomUUID(), client_id: 'nul\u0000' }, 1),
      line({ event_id: crypto.randomUUID(), page: { ...(good[2]?.page as object), title: 'lone \ud800' } }, 2),
      // Valid for the contract's date-time format, refused by timestamptz: only PostgreSQL knows.
      line({ event_id: crypto.randomUUID(), event_timestamp: '0000-06-01T00:00:00Z' }, 3),
      JSON.stringify(backslashU0000), // the text \u0000: storable, and loaded
    ];
    const key = objectKey('events', hoursAfter(5), '01JDQ0000000000000000000ST');
    await store.put(key, encodeJsonlLines(lines));

    const run = await runEtl({ warehouse: wh, store }, base);
    expect(run.error).toBeUndefined();
    expect(run).toMatchObject({ status: 'succeeded', objects: 1, lines: 9, rowsInserted: 5, quarantined: 4 });
    const records = await quarantined(store);
    expect(rulesOf(records)).toEqual(['format', 'unstorable_character', 'unstorable_character', 'warehouse_refused']);
    const refused = records.find((r) => r.errors[0]?.rule === 'warehouse_refused');
    expect(refused?.raw).toBe(lines[7]);
    expect(refused?.errors[0]?.message).toMatch(/event_timestamp.*out of range/);
    expect(records.every((r) => r.source_object === key && r.errors.every((e) => e.message))).toBe(true);
    const [stored] = await wh.query<{ client_id: string }>(
      'SELECT client_id FROM clickstream_events WHERE event_id = $1',
      [backslashU0000.event_id],
    );
    expect(stored?.client_id).toBe('c\\u0000-literal');
    const [ledger] = await wh.query('SELECT lines, rows_inserted, duplicates, quarantined FROM etl_loaded_objects');
    expect(ledger).toEqual({ lines: 9, rows_inserted: 5, duplicates: 0, quarantined: 4 });
    await expectDerivedTablesExact(wh);
  });

  it('reads at most the line cap of a gzip bomb (23 KB → 8 M lines) and quarantines the rest as one record', async () => {
    const bomb = gzipSync(Buffer.from('{}\n'.repeat(8_000_000)), { level: 9 });
    expect(bomb.length).toBeLessThan(30_000);
    await store.put(objectKey('events', hoursAfter(6), '01JDQ0000000000000000000BM'), bomb);
    await writeSampleLake(store, sampleEvents(50, { start: hoursAfter(7), spanHours: 1 }), 50);

    const run = await runEtl({ warehouse: wh, store }, base); // default caps: 100,000 lines, 64 MiB
    expect(run).toMatchObject({ status: 'succeeded', objects: 2, rowsInserted: 50, lines: 100_050 });
    const records = await quarantined(store);
    expect(records).toHaveLength(100_001);
    expect(records.at(-1)).toMatchObject({ raw: null, errors: [{ rule: 'object_too_many_lines' }] });
  }, 60_000);

  it('caps inflated bytes and line length, and loads what precedes a corrupt gzip stream', async () => {
    const events = [...sampleEvents(30, { start: hoursAfter(8), spanHours: 1 })].map((e) => JSON.stringify(e));
    const oneHugeLine = gzipSync(Buffer.alloc(3_000_000, 'a'));
    const longLine = encodeJsonlLines([events[0] as string, 'x'.repeat(5000), events[1] as string]);
    const member = encodeJsonlLines(events.slice(2, 12));
    const corrupt = member.subarray(0, member.length - 8); // the gzip trailer (CRC, size) cut off
    await store.put(objectKey('events', hoursAfter(8), '01JDQ0000000000000000000A1'), oneHugeLine);
    await store.put(objectKey('events', hoursAfter(8), '01JDQ0000000000000000000A2'), longLine);
    await store.put(objectKey('events', hoursAfter(8), '01JDQ0000000000000000000A3'), corrupt);
    const run = await runEtl(
      { warehouse: wh, store },
      { ...base, objectLimits: { maxLines: 1000, maxBytes: 1_000_000, maxLineBytes: 4096 } },
    );
    expect(run).toMatchObject({ status: 'succeeded', objects: 3, rowsInserted: 12, quarantined: 3 });
    expect(rulesOf(await quarantined(store))).toEqual(['gzip', 'line_too_long', 'object_too_large']);
  });

  it('skips keys outside the layout, symlinks and unreadable names with their reason; the window ignores them', async () => {
    // The stray key sorts before every hour folder: it used to become the first run's window start.
    await store.put('events/0000-stray.jsonl.gz', encodeJsonlLines(['{}']));
    await store.put('events/2026/02/31/00/no-such-day.jsonl.gz', encodeJsonlLines(['{}']));
    await store.put('events/2026/11/20/03/not-gzip-jsonl.txt', encodeJsonlLines(['{}']));
    const deep = `events/2026/11/20/03/${Array.from({ length: 5 }, (_, i) => `${i}${'d'.repeat(240)}`).join('/')}`;
    await store.put(`${deep}/x.jsonl.gz`, encodeJsonlLines(['{}']));
    const hourDir = path.join(lakeDir, 'events/2026/11/20/03');
    await writeFile(
      Buffer.concat([Buffer.from(`${hourDir}/bad-`), Buffer.from([0xff, 0xfe]), Buffer.from('.jsonl.gz')]),
      'x',
    );
    await symlink('/etc/passwd', path.join(hourDir, 'link.jsonl.gz'));
    // A 30-hour-old object and a recent one.
    const keys = await writeSampleLake(store, sampleEvents(40, { start: hoursAfter(10), spanHours: 1 }), 40);
    keys.push(
      ...(await writeSampleLake(store, sampleEvents(40, { start: hoursAfter(39), spanHours: 0.5, seed: 2 }), 40)),
    );

    const run = await runEtl({ warehouse: wh, store }, base);
    expect(run).toMatchObject({ status: 'succeeded', objects: 2, rowsInserted: 80, skipped: 6 });
    expect(run.windowStart).toBe(hoursAfter(10).toISOString());
    const byReason = (
      await wh.query<{ object_key: string; reason: string }>(
        'SELECT object_key, reason FROM etl_skipped_objects WHERE run_id = $1 ORDER BY reason, object_key',
        [run.runId],
      )
    ).map(
      (r) =>
        `${r.reason} ${r.object_key.length > 80 ? `${r.object_key.slice(0, 30)}…(${r.object_key.length})` : r.object_key}`,
    );
    expect(byReason).toEqual([
      'invalid_utf8_name events/2026/11/20/03/bad-\ufffd\ufffd.jsonl.gz',
      'not_a_regular_file events/2026/11/20/03/link.jsonl.gz',
      'outside_layout events/0000-stray.jsonl.gz',
      'outside_layout events/2026/02/31/00/no-such-day.jsonl.gz',
      `outside_layout ${deep.slice(0, 30)}…(1024)`,
      'outside_layout events/2026/11/20/03/not-gzip-jsonl.txt',
    ]);
    const [runRow] = await wh.query<{ skipped: number }>('SELECT skipped FROM etl_runs WHERE run_id = $1', [run.runId]);
    expect(runRow?.skipped).toBe(6);
    expect((await wh.query('SELECT object_key FROM etl_loaded_objects ORDER BY 1')).map((r) => r.object_key)).toEqual(
      keys,
    );
  });

  it('reports late objects older than the look-back instead of dropping them; a backfill loads them', async () => {
    await writeSampleLake(store, sampleEvents(20, { start: hoursAfter(30), spanHours: 1 }), 20);
    expect((await runEtl({ warehouse: wh, store }, base)).rowsInserted).toBe(20);
    // Arrives after the run, for an hour 36 h before the next run's window end (look-back: 24 h).
    const [late] = await writeSampleLake(
      store,
      sampleEvents(10, { start: hoursAfter(2), spanHours: 0.5, seed: 5 }),
      10,
    );
    const next = await runEtl({ warehouse: wh, store }, { ...base, now: () => hoursAfter(41) });
    expect(next).toMatchObject({ status: 'succeeded', rowsInserted: 0, skipped: 1 });
    expect(next.skippedKeys).toEqual([expect.objectContaining({ key: late, reason: 'older_than_lookback' })]);
    const backfill = await runEtl(
      { warehouse: wh, store },
      { ...base, trigger: 'backfill', window: { start: DAY, end: hoursAfter(24) } },
    );
    expect(backfill).toMatchObject({ status: 'succeeded', rowsInserted: 10, skipped: 0 });
  });
});
