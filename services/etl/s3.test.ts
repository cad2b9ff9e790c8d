/**
 * The ETL over the real S3 API (s3rver on loopback, in a child process): the lake is listed and
 * read over HTTP, and when the S3 endpoint goes away mid-life the run retries, fails, and records
 * nothing it did not load.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { S3RawStore } from '../lake/s3-store.ts';
import { type S3rverHandle, startS3rver } from '../testing/s3rver.ts';
import { runEtl } from './core.ts';
import { sampleEvents, writeSampleLake } from './sample-lake.ts';
import { expectDerivedTablesExact } from './test-helpers.ts';
import { openWarehouse, type Warehouse } from './warehouse.ts';

let s3: S3rverHandle;
let wh: Warehouse;

beforeAll(async () => {
  s3 = await startS3rver();
  wh = await openWarehouse({ pgliteDir: 'memory://' });
  await wh.migrate();
});
afterAll(async () => {
  await s3.stop();
  await wh.close();
});

it('loads a lake served over the S3 API; with S3 down the run retries, fails and records nothing new', async () => {
  const store = new S3RawStore({ bucket: s3.bucket, endpoint: s3.endpoint });
  const start = new Date('2026-11-20T08:00:00Z');
  await writeSampleLake(store, sampleEvents(300, { start, spanHours: 3 }), 50);
  const opts = {
    trigger: 'manual' as const,
    lookbackHours: 24,
    retry: { attempts: 2, baseDelayMs: 1 },
    now: () => new Date('2026-11-21T00:00:00Z'),
  };
  const loaded = await runEtl({ warehouse: wh, store }, opts);
  expect(loaded).toMatchObject({ status: 'succeeded', objects: 6, rowsInserted: 300 });
  await expectDerivedTablesExact(wh);

  await writeSampleLake(
    store,
    sampleEvents(100, { start: new Date('2026-11-20T12:00:00Z'), spanHours: 1, seed: 9 }),
    50,
  );
  await s3.stop();
  const failed = await runEtl({ warehouse: wh, store }, opts);
  expect(failed.status).toBe('failed');
  expect(failed.error).toMatch(/failed after 2 attempts/);
  const [state] = await wh.query<{ objects: number; facts: number }>(
    `SELECT (SELECT count(*)::int FROM etl_loaded_objects) AS objects, (SELECT count(*)::int FROM clickstream_events) AS facts`,
  );
  expect(state).toEqual({ objects: 6, facts: 300 });
});
