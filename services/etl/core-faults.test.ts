/**
 * Crashes in the middle of a load transaction, on the real PostgreSQL server: the connection
 * killed with pg_terminate_backend, and the ETL process SIGKILLed. To hit "mid-load" every time
 * (not by timing luck), the test holds an uncommitted insert of one key that only a later batch
 * also inserts: the ETL blocks inside that batch's transaction, after its fact
 * rows are written but before COMMIT, and the fault strikes exactly there. The held key is the
 * second day's etl_dirty_days mark, which a load transaction writes right after its fact rows.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FileRawStore } from '../lake/file-store.ts';
import { createTempDatabase, type TempDatabase } from '../testing/postgres.ts';
import { runEtl } from './core.ts';
import { type SampleEvent, sampleEvents, writeSampleLake } from './sample-lake.ts';
import { expectDerivedTablesExact } from './test-helpers.ts';
import { openWarehouse, type Warehouse } from './warehouse.ts';

const START = new Date('2026-11-20T12:00:00Z');
const TOTAL = 1200;
const PER_OBJECT = 40;
/** The ETL's clock: after the whole sample lake (the real one could be any day). */
const now = () => new Date('2026-11-22T00:00:00Z');

let temp: TempDatabase;
let wh: Warehouse;
let lakeDir: string;
let store: FileRawStore;
let events: SampleEvent[];
let keys: string[];

beforeAll(async () => {
  temp = await createTempDatabase('etl_faults');
  wh = await openWarehouse({ databaseUrl: temp.url });
  await wh.migrate();
});
afterAll(async () => {
  await wh.close();
  await temp.drop();
});
beforeEach(async () => {
  await wh.query('TRUNCATE clickstream_events, daily_event_counts, sessions, etl_loaded_objects, etl_runs');
  lakeDir = await mkdtemp(path.join(os.tmpdir(), 'etl-faults-'));
  store = new FileRawStore(lakeDir);
  // 24 hours from noon: half the objects are on the 20th, half on the 21st.
  events = [...sampleEvents(TOTAL, { start: START, spanHours: 24, seed: 3 })];
  keys = await writeSampleLake(store, events, PER_OBJECT);
  return () => rm(lakeDir, { recursive: true, force: true });
});

/** Holds an uncommitted dirty-day mark for the second day: the first batch with its rows waits there. */
async function blockSecondDay(): Promise<pg.Client> {
  const blocker = new pg.Client({ connectionString: temp.url });
  await blocker.connect();
  await blocker.query('BEGIN');
  await blocker.query(`INSERT INTO etl_dirty_days (day, marked_at) VALUES ('2026-11-21', now())`);
  return blocker;
}

async function waitForBlockedBackend(): Promise<number> {
  for (let i = 0; i < 400; i++) {
    const rows = await wh.query<{ pid: number }>(
      `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
    );
    if (rows[0]) return rows[0].pid;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('the ETL never blocked on the held dirty-day mark');
}

async function committedState() {
  const [row] = await wh.query<{ objects: number; facts: number; ledger_lines: number }>(
    `SELECT (SELECT count(*)::int FROM etl_loaded_objects) AS objects,
            (SELECT coalesce(sum(lines), 0)::int FROM etl_loaded_objects) AS ledger_lines,
            (SELECT count(*)::int FROM clickstream_events) AS facts`,
  );
  return row as { objects: number; facts: number; ledger_lines: number };
}

async function expectNextRunExact() {
  const next = await runEtl({ warehouse: wh, store }, { trigger: 'manual', lookbackHours: 24, now });
  expect(next.status).toBe('succeeded');
  const state = await committedState();
  expect(state.facts).toBe(TOTAL);
  expect(state.objects).toBe(keys.length);
  const [distinct] = await wh.query<{ n: number }>('SELECT count(DISTINCT event_id)::int AS n FROM clickstream_events');
  expect(distinct?.n).toBe(TOTAL);
  await expectDerivedTablesExact(wh);
}

describe('etl crash safety on PostgreSQL', () => {
  it('connection killed mid-load (pg_terminate_backend): the run fails, the next run loads each event once', async () => {
    const blocker = await blockSecondDay();
    const running = runEtl({ warehouse: wh, store }, { trigger: 'manual', lookbackHours: 24, batchObjects: 2, now });
    const pid = await waitForBlockedBackend();
    await wh.query('SELECT pg_terminate_backend($1)', [pid]);
    await blocker.query('ROLLBACK');
    await blocker.end();
    const failed = await running;
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatch(/terminat/i);

    const state = await committedState();
    expect(state.objects).toBeGreaterThan(0);
    expect(state.objects).toBeLessThan(keys.length);
    expect(state.facts).toBe(state.ledger_lines); // whole objects only
    const [runRow] = await wh.query<{ status: string }>('SELECT status FROM etl_runs');
    expect(runRow?.status).toBe('failed');
    await expectNextRunExact();
  });

  it('ETL process SIGKILLed mid-load: nothing half-loaded, the next run is exact', async () => {
    const blocker = await blockSecondDay();
    const child: ChildProcess = spawn(
      process.execPath,
      // A backfill of the lake's days: `etl run` would plan up to the real clock.
      [
        '--import',
        'tsx',
        path.join(import.meta.dirname, 'cli.ts'),
        'backfill',
        '--from',
        '2026-11-20T00:00:00Z',
        '--to',
        now().toISOString(),
        '--batch-objects',
        '2',
      ],
      {
        env: {
          ...process.env,
          DATABASE_URL: temp.url,
          LAKE_URL: pathToFileURL(lakeDir).href,
          DATA_DIR: lakeDir,
          LOG_LEVEL: 'error',
        },
        stdio: 'ignore',
      },
    );
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.once('exit', (_code, signal) => resolve(signal)),
    );
    const pid = await waitForBlockedBackend();
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    await blocker.query('ROLLBACK');
    await blocker.end();
    // The orphaned backend finishes its statement, then finds its client gone and aborts.
    for (let i = 0; i < 200; i++) {
      const rows = await wh.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid]);
      if (!rows.length) break;
      await new Promise((r) => setTimeout(r, 25));
    }

    const state = await committedState();
    expect(state.objects).toBeGreaterThan(0);
    expect(state.objects).toBeLessThan(keys.length);
    expect(state.facts).toBe(state.ledger_lines);
    const [killed] = await wh.query<{ status: string }>('SELECT status FROM etl_runs');
    expect(killed?.status).toBe('running');

    await expectNextRunExact();
    // By trigger, not start time: the killed CLI ran on the real clock, the next run on the pinned one.
    const runs = await wh.query('SELECT trigger, status FROM etl_runs ORDER BY trigger');
    expect(runs).toEqual([
      { trigger: 'backfill', status: 'abandoned' },
      { trigger: 'manual', status: 'succeeded' },
    ]);
  });
});
