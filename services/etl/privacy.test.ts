/**
 * `privacy erase` and retention, on a file lake with real PostgreSQL and PGlite, and over the S3
 * API (s3rver) with PGlite: the subject's lines leave the lake and its rows the warehouse, the
 * derived tables equal a recomputation from what is left, no later run brings anything back, a
 * second erasure finds nothing, and every erasure leaves an audit row.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FileRawStore } from '../lake/file-store.ts';
import { decodeJsonl, encodeJsonl } from '../lake/jsonl.ts';
import { objectKey, type RawStore } from '../lake/raw-store.ts';
import { S3RawStore } from '../lake/s3-store.ts';
import { createTempDatabase, type TempDatabase } from '../testing/postgres.ts';
import { type S3rverHandle, startS3rver } from '../testing/s3rver.ts';
import { runEtl } from './core.ts';
import { eraseSubject } from './privacy.ts';
import { sampleEvents, writeSampleLake } from './sample-lake.ts';
import { expectDerivedTablesExact, expectRollupsMatchRebuild } from './test-helpers.ts';
import { openWarehouse, type Warehouse } from './warehouse.ts';

const START = new Date('2026-11-20T20:00:00Z');
const etl = (at: string) => ({
  trigger: 'manual' as const,
  lookbackHours: 24,
  now: () => new Date(at),
  retry: { attempts: 2, baseDelayMs: 1 },
});

async function lakeText(store: RawStore): Promise<string> {
  let all = '';
  for (const area of ['events/', 'quarantine/']) {
    for await (const o of store.list(area)) all += decodeJsonl(await store.get(o.key)).join('\n');
  }
  return all;
}

type Opened<T> = { value: T; close(): Promise<void> };
type Setup = { name: string; warehouse(): Promise<Opened<Warehouse>>; lake(): Promise<Opened<RawStore>> };
let s3: S3rverHandle | undefined;
afterAll(async () => {
  await s3?.stop();
});
const fileLake = async (): Promise<Opened<RawStore>> => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'privacy-'));
  return { value: new FileRawStore(dir), close: () => rm(dir, { recursive: true, force: true }) };
};
const pglite = async (): Promise<Opened<Warehouse>> => {
  const wh = await openWarehouse({ pgliteDir: 'memory://' });
  return { value: wh, close: () => wh.close() };
};
const setups: Setup[] = [
  {
    name: 'file lake + PostgreSQL',
    warehouse: async () => {
      const temp: TempDatabase = await createTempDatabase('privacy');
      const wh = await openWarehouse({ databaseUrl: temp.url });
      return {
        value: wh,
        close: async () => {
          await wh.close();
          await temp.drop();
        },
      };
    },
    lake: fileLake,
  },
  { name: 'file lake + PGlite', warehouse: pglite, lake: fileLake },
  {
    name: 's3rver + PGlite',
    warehouse: pglite,
    lake: async () => {
      s3 ??= await startS3rver();
      const store = new S3RawStore({ bucket: s3.bucket, endpoint: s3.endpoint, prefix: `p-${randomUUID()}` });
      return { value: store, close: async () => {} };
    },
  },
];

describe.each(setups)('privacy on $name', (setup) => {
  let wh: Warehouse;
  let store: RawStore;
  beforeAll(async () => {
    const opened = await setup.warehouse();
    wh = opened.value;
    await wh.migrate();
    return () => opened.close();
  });
  beforeEach(async () => {
    await wh.query(`TRUNCATE clickstream_events, daily_event_counts, sessions, session_details, client_hours,
      etl_loaded_objects, etl_runs, quarantined_events, privacy_erasures, rollup_event_counts, rollup_sessions,
      rollup_funnel, rollup_session_sources, rollup_paths, rollup_products, rollup_clients, rollup_retention`);
    const lake = await setup.lake();
    store = lake.value;
    return () => lake.close();
  });

  it('erases a user from the lake and the warehouse; rollups equal a recomputation; nothing comes back', async () => {
    const events = [...sampleEvents(400, { start: START, spanHours: 8, seed: 3 })];
    await writeSampleLake(store, events, 40);
    const user = String(events.find((e) => e.user_id)?.user_id);
    const mine = events.filter((e) => e.user_id === user);
    expect(mine.length).toBeGreaterThan(2);
    // The ETL quarantined one of the user's lines (as a complete lake line).
    await store.put(
      objectKey('quarantine', START, 'etl-01JPRIV000000000000000000'),
      encodeJsonl([
        { raw: JSON.stringify(mine[0]), errors: [{ path: '', rule: 'json', message: 'x' }], received_at: START },
        { raw: JSON.stringify(events.find((e) => !e.user_id)), errors: [{ path: '', rule: 'json', message: 'y' }] },
      ]),
    );
    expect(await runEtl({ warehouse: wh, store }, etl('2026-11-21T06:00:00Z'))).toMatchObject({ rowsInserted: 400 });
    await expectRollupsMatchRebuild(wh);
    const [q0] = await wh.query<{ n: number }>('SELECT count(*)::int AS n FROM quarantined_events');
    expect(q0?.n).toBe(2);

    const erased = await eraseSubject({ warehouse: wh, store }, { kind: 'user', id: user }, { requestedBy: 'dpo' });
    expect(erased).toMatchObject({
      status: 'succeeded',
      rowsDeleted: mine.length,
      quarantinedDeleted: 1,
      lakeLinesRemoved: mine.length + 1,
    });
    const clients = new Set(mine.map((e) => e.client_id));
    const clientDays = events
      .filter((e) => clients.has(e.client_id))
      .map((e) => String(e.event_timestamp).slice(0, 10));
    expect(erased.daysRefreshed).toEqual([...new Set(clientDays)].sort());
    expect(await lakeText(store)).not.toContain(user);
    const [left] = await wh.query<{ facts: number; sessions: number; quarantined: number }>(
      `SELECT (SELECT count(*)::int FROM clickstream_events) AS facts,
         (SELECT count(*)::int FROM sessions WHERE user_id = $1) AS sessions,
         (SELECT count(*)::int FROM quarantined_events) AS quarantined`,
      [user],
    );
    expect(left).toEqual({ facts: 400 - mine.length, sessions: 0, quarantined: 1 });
    await expectDerivedTablesExact(wh);
    await expectRollupsMatchRebuild(wh);

    // The ledger holds the rewritten objects' new ETags: a run, a backfill, a rebuild load nothing back.
    const listed = new Map<string, string>();
    for await (const o of store.list('events/')) listed.set(o.key, o.etag);
    const ledger = await wh.query<{ object_key: string; etag: string }>(
      `SELECT object_key, etag FROM etl_loaded_objects WHERE object_key LIKE 'events/%'`,
    );
    expect(new Map(ledger.map((r) => [r.object_key, r.etag]))).toEqual(listed);
    expect(await runEtl({ warehouse: wh, store }, etl('2026-11-21T07:00:00Z'))).toMatchObject({ objects: 0 });
    const window = { start: new Date('2026-11-20T00:00:00Z'), end: new Date('2026-11-22T00:00:00Z') };
    expect(
      await runEtl({ warehouse: wh, store }, { ...etl('2026-11-21T08:00:00Z'), trigger: 'rebuild', window }),
    ).toMatchObject({ status: 'succeeded', rowsInserted: 0, rowsUpdated: 0 });
    const [after] = await wh.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM clickstream_events WHERE user_id = $1',
      [user],
    );
    expect(after?.n).toBe(0);

    const again = await eraseSubject({ warehouse: wh, store }, { kind: 'user', id: user });
    expect(again).toMatchObject({ status: 'succeeded', rowsDeleted: 0, lakeObjectsRewritten: 0, lakeLinesRemoved: 0 });
    const audit = await wh.query<{
      subject_kind: string;
      subject_sha256: string;
      rows_deleted: number;
      requested_by: string | null;
    }>(
      'SELECT subject_kind, subject_sha256, rows_deleted, requested_by FROM privacy_erasures ORDER BY started_at, rows_deleted DESC',
    );
    const hash = createHash('sha256').update(user).digest('hex');
    expect(audit).toEqual([
      { subject_kind: 'user', subject_sha256: hash, rows_deleted: mine.length, requested_by: 'dpo' },
      { subject_kind: 'user', subject_sha256: hash, rows_deleted: 0, requested_by: null },
    ]);
  });

  it('erases a browser (client_id), guest events included', async () => {
    const events = [...sampleEvents(200, { start: START, spanHours: 6, seed: 5 })];
    await writeSampleLake(store, events, 50);
    await runEtl({ warehouse: wh, store }, etl('2026-11-21T06:00:00Z'));
    const client = String(events[0]?.client_id);
    const theirs = events.filter((e) => e.client_id === client).length;
    const erased = await eraseSubject({ warehouse: wh, store }, { kind: 'client', id: client });
    expect(erased).toMatchObject({ rowsDeleted: theirs, lakeLinesRemoved: theirs });
    expect(await lakeText(store)).not.toContain(`"client_id":"${client}"`);
    const [rows] = await wh.query<{ n: number; hours: number }>(
      `SELECT (SELECT count(*)::int FROM clickstream_events WHERE client_id = $1) AS n,
         (SELECT count(*)::int FROM client_hours WHERE client_id = $1) AS hours`,
      [client],
    );
    expect(rows).toEqual({ n: 0, hours: 0 });
    await expectDerivedTablesExact(wh);
    await expectRollupsMatchRebuild(wh);
  });

  it('etl run enforces LAKE_RETENTION_DAYS and WAREHOUSE_RETENTION_DAYS', async () => {
    const old = [...sampleEvents(50, { start: new Date('2026-11-01T10:00:00Z'), spanHours: 1, seed: 6 })];
    const recent = [...sampleEvents(50, { start: new Date('2026-11-20T10:00:00Z'), spanHours: 1, seed: 7 })];
    await writeSampleLake(store, [...old, ...recent], 50);
    const window = { start: new Date('2026-11-01T00:00:00Z'), end: new Date('2026-11-21T00:00:00Z') };
    // A backfill of an old range never applies retention, even when given it.
    const backfill = await runEtl(
      { warehouse: wh, store },
      { ...etl('2026-11-21T00:00:00Z'), trigger: 'backfill', window, retention: { lakeDays: 10, warehouseDays: 12 } },
    );
    expect(backfill).toMatchObject({ status: 'succeeded', rowsInserted: 100 });
    expect(backfill.retention).toBeUndefined();
    const kept = await runEtl(
      { warehouse: wh, store },
      { ...etl('2026-11-21T01:00:00Z'), retention: { lakeDays: 0, warehouseDays: 0 } },
    );
    expect(kept.retention).toBeUndefined();
    const expired = await runEtl(
      { warehouse: wh, store },
      { ...etl('2026-11-21T02:00:00Z'), retention: { lakeDays: 10, warehouseDays: 12 } },
    );
    expect(expired.retention).toEqual({ lakeObjectsDeleted: 1, warehouseRowsDeleted: 50 });
    const keys: string[] = [];
    for await (const o of store.list('events/')) keys.push(o.key);
    expect(keys.map((k) => k.slice(0, 17))).toEqual(['events/2026/11/20']);
    expect(expired).toMatchObject({ status: 'succeeded' });
    const [left] = await wh.query<{ facts: number; sessions: number; ledger: number }>(
      `SELECT (SELECT count(*)::int FROM clickstream_events) AS facts,
         (SELECT count(*)::int FROM sessions WHERE started_at < '2026-11-09') AS sessions,
         (SELECT count(*)::int FROM etl_loaded_objects) AS ledger`,
    );
    expect(left).toEqual({ facts: 50, sessions: 0, ledger: 1 });
  });
});
