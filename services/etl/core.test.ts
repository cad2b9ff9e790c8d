/**
 * The ETL against both warehouses it supports — real PostgreSQL (127.0.0.1:5432) and embedded
 * PGlite — over a real file lake. Faults that need a server process (pg_terminate_backend, a
 * SIGKILLed ETL process) are in core-faults.test.ts.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { processBody, type RequestContext } from '../ingest/core.ts';
import { LakeWriter } from '../ingest/lake-writer.ts';
import { sampleBatch } from '../ingest/sample-events.ts';
import { FileRawStore } from '../lake/file-store.ts';
import { decodeJsonl, encodeJsonlLines } from '../lake/jsonl.ts';
import { objectKey, type RawStore } from '../lake/raw-store.ts';
import { type EtlOptions, runEtl } from './core.ts';
import { sampleEvents, writeSampleLake } from './sample-lake.ts';
import { expectDerivedTablesExact, testWarehouse } from './test-helpers.ts';
import type { Warehouse } from './warehouse.ts';

const DAY = new Date('2026-11-20T00:00:00Z');
const hoursAfter = (base: Date, h: number) => new Date(base.getTime() + h * 3_600_000);
const NOW = hoursAfter(DAY, 72);
const base: EtlOptions = {
  trigger: 'manual',
  lookbackHours: 24,
  now: () => NOW,
  retry: { attempts: 3, baseDelayMs: 1 },
};

async function factFingerprint(wh: Warehouse) {
  const [row] = await wh.query<{ n: number; h: string }>(
    `SELECT count(*)::int AS n, md5(coalesce(string_agg(t::text, '|' ORDER BY event_id), '')) AS h FROM clickstream_events t`,
  );
  return row;
}

/** Wraps a store so that chosen operations fail: S3 errors we cannot make s3rver produce on demand. */
class FailingStore implements RawStore {
  gets = new Map<string, number>();
  constructor(
    private readonly inner: RawStore,
    private readonly failGet: (key: string, attempt: number) => boolean,
  ) {}
  get url() {
    return this.inner.url;
  }
  put(key: string, body: Uint8Array) {
    return this.inner.put(key, body);
  }
  delete(key: string) {
    return this.inner.delete(key);
  }
  list(prefix: string) {
    return this.inner.list(prefix);
  }
  async get(key: string) {
    const attempt = (this.gets.get(key) ?? 0) + 1;
    this.gets.set(key, attempt);
    if (this.failGet(key, attempt))
      throw Object.assign(new Error(`SlowDown: injected for ${key}`), { name: 'SlowDown' });
    return this.inner.get(key);
  }
}

describe.each(['postgres', 'pglite'] as const)('etl core on %s', (kind) => {
  const warehouse = testWarehouse(kind, 'etl');
  let wh: Warehouse;
  let lakeDir: string;
  let store: FileRawStore;

  beforeAll(async () => {
    wh = warehouse.current;
  });
  beforeEach(async () => {
    await wh.query('TRUNCATE clickstream_events, daily_event_counts, sessions, etl_loaded_objects, etl_runs');
    lakeDir = await mkdtemp(path.join(os.tmpdir(), 'etl-lake-'));
    store = new FileRawStore(lakeDir);
    return () => rm(lakeDir, { recursive: true, force: true });
  });

  it('round trip: events through the ingest core and lake writer land column by column', async () => {
    const receivedAt = hoursAfter(DAY, 10.25);
    const writer = new LakeWriter(store);
    const accepted: Record<string, unknown>[] = [];
    const contexts: RequestContext[] = [
      { receivedAt, identity: { user_id: null, user_login_state: 'guest', identity_source: 'anonymous' } },
      {
        receivedAt: hoursAfter(receivedAt, 1),
        identity: { user_id: 'sub-42', user_login_state: 'logged_in', identity_source: 'cognito' },
        userAgent: 'Mozilla/5.0',
        ip: '198.51.100.7',
      },
    ];
    for (const ctx of contexts) {
      const body = sampleBatch(28, ctx.receivedAt);
      body.events.push({ ...body.events[0], event_version: 99, event_id: crypto.randomUUID() }); // ingest rejects it
      const result = processBody(JSON.stringify(body), ctx);
      if (!result.ok) throw new Error(result.message);
      await writer.write(
        result.accepted.map((a) => a.line),
        result.rejected.map((r) => r.line),
        ctx.receivedAt,
      );
      accepted.push(...result.accepted.map((a) => JSON.parse(a.line) as Record<string, unknown>));
    }
    await writer.drain();
    expect(accepted).toHaveLength(56);

    const run = await runEtl({ warehouse: wh, store }, base);
    expect(run).toMatchObject({ status: 'succeeded', objects: 2, rowsInserted: 56, duplicates: 0, quarantined: 0 });

    const rows = await wh.query<Record<string, unknown>>(
      `SELECT event_id::text, to_char(event_timestamp AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS event_timestamp,
         event_name, user_id, user_login_state, identity_source, client_id, session_id, is_first_visit,
         context_product_id, context_product_name, context_product_category, context_product_brand,
         context_product_price::float8 AS context_product_price,
         context_product_discount_price::float8 AS context_product_discount_price, context_product_url_path,
         event_version, to_char(received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS received_at,
         page_url, page_referrer, order_id, order_total::float8 AS order_total, currency, quantity, properties
       FROM clickstream_events ORDER BY event_id`,
    );
    // Expected values written from the wire contract, not from the generated mapper under test.
    const expected = accepted
      .map((e) => {
        type Money = { order_id?: string; total?: number; currency?: string };
        const p = e.properties as Record<string, unknown> & { order?: Money } & Money & { quantity?: number };
        const product = p.product as Record<string, unknown> | undefined;
        const page = e.page as { url: string; referrer?: string };
        return {
          event_id: e.event_id,
          event_timestamp: e.event_timestamp,
          event_name: e.event_name,
          user_id: e.user_id,
          user_login_state: e.user_login_state,
          identity_source: e.identity_source,
          client_id: e.client_id,
          session_id: e.session_id,
          is_first_visit: e.is_first_visit ?? false,
          context_product_id: product?.id ?? null,
          context_product_name: product?.name ?? null,
          context_product_category: product?.category ?? null,
          context_product_brand: product?.brand ?? null,
          context_product_price: product?.price ?? null,
          context_product_discount_price: product?.discount_price ?? null,
          context_product_url_path: product?.url_path ?? null,
          event_version: e.event_version,
          received_at: e.received_at,
          page_url: page.url,
          page_referrer: page.referrer ?? null,
          order_id: p.order?.order_id ?? null,
          order_total: p.order?.total ?? p.total ?? null,
          currency: p.order?.currency ?? p.currency ?? null,
          quantity: e.event_name === 'add_to_cart' || e.event_name === 'remove_from_cart' ? p.quantity : null,
          properties: p,
        };
      })
      .sort((a, b) => String(a.event_id).localeCompare(String(b.event_id)));
    expect(rows).toEqual(expected);
    expect(rows.some((r) => r.context_product_id !== null && r.user_id === 'sub-42')).toBe(true);
    await expectDerivedTablesExact(wh);
  });

  it('is idempotent: a second run loads nothing and an overlapping backfill changes nothing', async () => {
    await writeSampleLake(store, sampleEvents(1500, { start: hoursAfter(DAY, 3), spanHours: 40 }), 60);
    const first = await runEtl({ warehouse: wh, store }, base);
    expect(first).toMatchObject({ status: 'succeeded', rowsInserted: 1500, quarantined: 0 });
    expect(first.daysTouched).toEqual(['2026-11-20', '2026-11-21']);
    const before = await factFingerprint(wh);

    const second = await runEtl({ warehouse: wh, store }, base);
    expect(second).toMatchObject({ status: 'succeeded', objects: 0, rowsInserted: 0 });

    // Forget the ledger of the first day: the backfill re-reads those objects, and event_id dedupes.
    await wh.query(`DELETE FROM etl_loaded_objects WHERE object_key LIKE 'events/2026/11/20/%'`);
    const backfill = await runEtl(
      { warehouse: wh, store },
      { ...base, trigger: 'backfill', window: { start: DAY, end: hoursAfter(DAY, 30) } },
    );
    expect(backfill.status).toBe('succeeded');
    expect(backfill.objects).toBeGreaterThan(0);
    expect(backfill.rowsInserted).toBe(0);
    expect(backfill.duplicates).toBe(backfill.lines);
    expect(await factFingerprint(wh)).toEqual(before);
    await expectDerivedTablesExact(wh);
  });

  it('overlapping backfills in any order give the same rows as one run', async () => {
    await writeSampleLake(store, sampleEvents(900, { start: hoursAfter(DAY, 1), spanHours: 30 }), 40);
    const a = await runEtl(
      { warehouse: wh, store },
      { ...base, trigger: 'backfill', window: { start: hoursAfter(DAY, 8), end: hoursAfter(DAY, 20) } },
    );
    const b = await runEtl(
      { warehouse: wh, store },
      { ...base, trigger: 'backfill', window: { start: DAY, end: hoursAfter(DAY, 12) } },
    );
    const c = await runEtl({ warehouse: wh, store }, base);
    expect([a.status, b.status, c.status]).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect(a.rowsInserted + b.rowsInserted + c.rowsInserted).toBe(900);
    expect(a.rowsInserted).toBeGreaterThan(0);
    expect(b.rowsInserted).toBeGreaterThan(0);
    const [count] = await wh.query<{ n: number }>('SELECT count(*)::int AS n FROM clickstream_events');
    expect(count?.n).toBe(900);
    await expectDerivedTablesExact(wh);
  });

  it('loads an event written twice by a tracker retry once, and counts the duplicate', async () => {
    const events = [...sampleEvents(30, { start: hoursAfter(DAY, 5), spanHours: 1 })];
    await writeSampleLake(store, events, 30);
    await writeSampleLake(store, events.slice(0, 5), 30);
    const run = await runEtl({ warehouse: wh, store }, base);
    expect(run).toMatchObject({ status: 'succeeded', objects: 2, lines: 35, rowsInserted: 30, duplicates: 5 });
    // Whichever object sorts first gets the shared events; the other counts them as duplicates.
    const ledger = await wh.query<{ lines: number; rows_inserted: number; duplicates: number }>(
      'SELECT lines, rows_inserted, duplicates FROM etl_loaded_objects',
    );
    expect(ledger.every((o) => o.rows_inserted + o.duplicates === o.lines)).toBe(true);
    expect(ledger.reduce((n, o) => n + o.duplicates, 0)).toBe(5);
    await expectDerivedTablesExact(wh);
  });

  it('picks up a late object for an hour already loaded, within the look-back', async () => {
    await writeSampleLake(store, sampleEvents(200, { start: hoursAfter(DAY, 50), spanHours: 20 }), 50);
    const first = await runEtl({ warehouse: wh, store }, base);
    expect(first.rowsInserted).toBe(200);
    const late = [...sampleEvents(20, { start: hoursAfter(DAY, 60), spanHours: 1, seed: 7 })];
    const [lateKey] = await writeSampleLake(store, late, 100);
    expect(lateKey).toMatch(/^events\/2026\/11\/22\/12\//);
    const later = () => hoursAfter(NOW, 1);
    const second = await runEtl({ warehouse: wh, store }, { ...base, now: later });
    expect(second).toMatchObject({ status: 'succeeded', objects: 1, rowsInserted: 20 });
    const [ledger] = await wh.query<{ run_id: string }>(
      'SELECT run_id::text FROM etl_loaded_objects WHERE object_key = $1',
      [lateKey],
    );
    expect(ledger?.run_id).toBe(second.runId);
    await expectDerivedTablesExact(wh);
  });

  it('quarantines bad lines with their reason and loads the rest', async () => {
    const good = [...sampleEvents(10, { start: hoursAfter(DAY, 7), spanHours: 1 })];
    const badValue = { ...good[0], event_id: crypto.randomUUID(), client_id: '' };
    const unknownVersion = { ...good[1], event_id: crypto.randomUUID(), event_version: 2 };
    const unknownName = { ...good[2], event_id: crypto.randomUUID(), event_name: 'teleport' };
    const noEnrichment = { ...good[3], event_id: crypto.randomUUID(), user_login_state: 'admin' };
    const lines = [
      ...good.map((e) => JSON.stringify(e)),
      '{"event_name": "page_view", truncated',
      JSON.stringify(badValue),
      JSON.stringify(unknownVersion),
      JSON.stringify(unknownName),
      JSON.stringify(noEnrichment),
    ];
    const key = objectKey('events', hoursAfter(DAY, 7), '01JDQ0000000000000000000AA');
    await store.put(key, encodeJsonlLines(lines));
    const run = await runEtl({ warehouse: wh, store }, base);
    expect(run).toMatchObject({ status: 'succeeded', objects: 1, lines: 15, rowsInserted: 10, quarantined: 5 });

    const quarantined: string[] = [];
    for await (const o of store.list('quarantine/')) quarantined.push(o.key);
    expect(quarantined).toEqual([objectKey('quarantine', hoursAfter(DAY, 7), 'etl-01JDQ0000000000000000000AA')]);
    const records = decodeJsonl(await store.get(quarantined[0] as string)).map(
      (l) => JSON.parse(l) as { raw: string; errors: { path: string; rule: string }[]; source_object: string },
    );
    expect(records.map((r) => r.errors.map((e) => `${e.rule}@${e.path}`))).toEqual([
      ['json@'],
      ['minLength@/client_id'],
      ['unknown_event_version@/event_version'],
      ['unknown_event_version@/event_version'],
      ['enum@/user_login_state'],
    ]);
    expect(records.every((r) => r.source_object === key)).toBe(true);
    expect(records[0]?.raw).toBe('{"event_name": "page_view", truncated');
    const [ledger] = await wh.query('SELECT lines, rows_inserted, duplicates, quarantined FROM etl_loaded_objects');
    expect(ledger).toEqual({ lines: 15, rows_inserted: 10, duplicates: 0, quarantined: 5 });
  });

  it('retries store errors, then fails the run without recording the objects it did not load', async () => {
    const keys = await writeSampleLake(store, sampleEvents(400, { start: hoursAfter(DAY, 2), spanHours: 8 }), 50);
    expect(keys).toHaveLength(8);
    const broken = keys[5] as string;
    const flaky = keys[1] as string;
    const failing = new FailingStore(
      store,
      (key, attempt) => key === broken || (key === flaky && attempt < 3), // flaky recovers on its 3rd try
    );
    const run = await runEtl({ warehouse: wh, store: failing }, { ...base, batchObjects: 2 });
    expect(run.status).toBe('failed');
    expect(run.error).toContain(`get ${broken} failed after 3 attempts`);
    expect(failing.gets.get(broken)).toBe(3);
    expect(failing.gets.get(flaky)).toBe(3);

    const ledger = (await wh.query<{ object_key: string }>('SELECT object_key FROM etl_loaded_objects ORDER BY 1')).map(
      (r) => r.object_key,
    );
    expect(ledger).not.toContain(broken);
    expect(ledger).toEqual(keys.slice(0, ledger.length));
    const [facts] = await wh.query<{ n: number }>('SELECT count(*)::int AS n FROM clickstream_events');
    expect(facts?.n).toBe(ledger.length * 50);
    const [runRow] = await wh.query<{ status: string; error: string }>('SELECT status, error FROM etl_runs');
    expect(runRow?.status).toBe('failed');
    expect(runRow?.error).toContain('SlowDown');

    const retry = await runEtl({ warehouse: wh, store }, base);
    expect(retry).toMatchObject({ status: 'succeeded', objects: 8 - ledger.length, duplicates: 0 });
    const [after] = await wh.query<{ n: number }>('SELECT count(*)::int AS n FROM clickstream_events');
    expect(after?.n).toBe(400);
    await expectDerivedTablesExact(wh);
  });

  it('lets only one of two concurrent runs load; the other is skipped', async () => {
    await writeSampleLake(store, sampleEvents(600, { start: hoursAfter(DAY, 2), spanHours: 10 }), 30);
    const [a, b] = await Promise.all([
      runEtl({ warehouse: wh, store }, { ...base, batchObjects: 2 }),
      runEtl({ warehouse: wh, store }, { ...base, batchObjects: 2 }),
    ]);
    expect([a.status, b.status].sort()).toEqual(['skipped', 'succeeded']);
    expect(a.rowsInserted + b.rowsInserted).toBe(600);
    await expectDerivedTablesExact(wh);
  });

  it('reports progress with totals known up front', async () => {
    await writeSampleLake(store, sampleEvents(300, { start: hoursAfter(DAY, 2), spanHours: 5 }), 30);
    const seen: { objectsDone: number; objectsTotal: number; bytesDone: number; bytesTotal: number }[] = [];
    const run = await runEtl({ warehouse: wh, store }, { ...base, batchObjects: 3, onProgress: (p) => seen.push(p) });
    expect(run.objects).toBe(10);
    expect(seen[0]).toMatchObject({ objectsDone: 0, objectsTotal: 10 });
    expect(seen.at(-1)).toMatchObject({ objectsDone: 10, objectsTotal: 10 });
    expect(seen.at(-1)?.bytesDone).toBe(seen.at(-1)?.bytesTotal);
    expect(seen.map((p) => p.objectsDone)).toEqual([0, 3, 6, 9, 10]);
  });

  it('answers a one-day query from the time index without scanning other days', async () => {
    await writeSampleLake(store, sampleEvents(4000, { start: DAY, spanHours: 24 * 5 }), 500);
    const run = await runEtl({ warehouse: wh, store }, { ...base, now: () => hoursAfter(DAY, 24 * 6) });
    expect(run.rowsInserted).toBe(4000);
    await wh.query('ANALYZE clickstream_events');
    const plan = await wh.query<{ 'QUERY PLAN': string }>(
      `EXPLAIN SELECT event_name, count(*) FROM clickstream_events
       WHERE event_timestamp >= '2026-11-22T00:00:00Z' AND event_timestamp < '2026-11-23T00:00:00Z' GROUP BY 1`,
    );
    const text = plan.map((r) => r['QUERY PLAN']).join('\n');
    expect(text).toMatch(/Index (Only )?Scan|Bitmap Index Scan/);
    expect(text).toContain('clickstream_events_time_idx');
    expect(text).not.toMatch(/Seq Scan on clickstream_events/);
  });
});
