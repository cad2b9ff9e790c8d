/**
 * The whole pipeline under faults, with real parts only: N events through the ingest HTTP API
 * (`clickstream ingest serve`, a child process) into s3rver behind a real HTTP proxy that fails
 * ~10% of S3 requests (503 SlowDown, connection resets before and after the server did the work,
 * slow answers); the ingest SIGKILLed while a group commit's PUT is in flight and restarted;
 * tracker-style retries (same event_ids, backoff) of every request not acknowledged; then the ETL
 * over the same faulty S3 into real PostgreSQL, SIGKILLed mid-run (`clickstream etl run`, a child
 * process), its backends terminated mid-load, and run again until it succeeds.
 *
 * Then: every acknowledged event is in the warehouse; the warehouse holds exactly the distinct
 * event_ids the lake stores; every lake line is accounted for once (inserted, duplicate or
 * quarantined); no run is left `running`; every quarantined line has a reason.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runEtl } from './etl/core.ts';
import { openWarehouse, type Warehouse } from './etl/warehouse.ts';
import { SAMPLE_TIME, sampleEvent } from './ingest/sample-events.ts';
import { decodeJsonl, encodeJsonlLines } from './lake/jsonl.ts';
import { S3RawStore } from './lake/s3-store.ts';
import { type FaultProxy, startFaultProxy } from './testing/fault-proxy.ts';
import { freePort } from './testing/ports.ts';
import { createTempDatabase, type TempDatabase } from './testing/postgres.ts';
import { type S3rverHandle, startS3rver } from './testing/s3rver.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const N = 3000;
const PER_REQUEST = 20;
const CONCURRENCY = 8;
/** Every 50th event is invalid (empty client_id): ingest quarantines it with its reason. */
const INVALID_EVERY = 50;

let s3: S3rverHandle;
let proxy: FaultProxy;
let temp: TempDatabase;
let wh: Warehouse;
const children = new Set<ChildProcess>();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  s3 = await startS3rver();
  proxy = await startFaultProxy({ target: s3.endpoint, faultRate: 0.1, seed: 10, slowMs: 600 });
  temp = await createTempDatabase('pipeline_faults');
  wh = await openWarehouse({ databaseUrl: temp.url });
  await wh.migrate();
});
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await wh?.close();
  await temp?.drop();
  await proxy?.close();
  await s3?.stop();
});

function spawnChild(args: string[], env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'error', ...env },
    stdio: 'ignore',
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

const exitOf = (child: ChildProcess) =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve(child.signalCode)
    : new Promise<NodeJS.Signals | null>((r) => child.once('exit', (_code, signal) => r(signal)));

async function startIngest(port: number): Promise<ChildProcess> {
  const child = spawnChild(['bin/clickstream.js', 'ingest', 'serve'], {
    PORT: String(port),
    HOST: '127.0.0.1',
    LAKE_URL: `s3://${s3.bucket}`,
    S3_ENDPOINT: proxy.endpoint,
  });
  for (let i = 0; i < 300; i++) {
    const up = await fetch(`http://127.0.0.1:${port}/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (up) return child;
    await sleep(50);
  }
  throw new Error('ingest serve did not come up');
}

describe('the pipeline under faults', () => {
  it('loses no acknowledged event and stores every distinct event once', async () => {
    // ---- ingest: N events, tracker-style retries, one SIGKILL mid-group-commit ----
    const port = await freePort();
    let ingest = await startIngest(port);
    const batches = Array.from({ length: N / PER_REQUEST }, (_, b) =>
      Array.from({ length: PER_REQUEST }, (_, i) => {
        const n = b * PER_REQUEST + i;
        return sampleEvent('page_view', n % INVALID_EVERY === 0 ? { client_id: '' } : {});
      }),
    );
    const acknowledged = new Set<string>();
    let attempts = 0;
    let acked = 0;
    let restarting: Promise<void> | undefined;
    let killed = false;

    const sendOnce = async (events: Record<string, unknown>[]): Promise<boolean> => {
      attempts++;
      try {
        const res = await fetch(`http://127.0.0.1:${port}/clickstream`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ sent_at: SAMPLE_TIME.toISOString(), events }),
        });
        if (res.status !== 200) {
          await res.body?.cancel();
          return false;
        }
        const answer = (await res.json()) as { accepted: number };
        const valid = events.filter((e) => e.client_id !== '');
        expect(answer.accepted).toBe(valid.length);
        for (const e of valid) acknowledged.add(String(e.event_id));
        return true;
      } catch {
        return false; // connection refused or reset: not acknowledged
      }
    };
    let next = 0;
    const worker = async () => {
      while (next < batches.length) {
        const events = batches[next++] as Record<string, unknown>[];
        for (let attempt = 0; !(await sendOnce(events)); attempt++) {
          if (attempt > 80) throw new Error('a request was never acknowledged');
          await sleep(Math.min(50 * 2 ** attempt, 500) * (0.5 + Math.random()));
        }
        acked++;
        if (!killed && acked >= batches.length * 0.3 && (proxy.inFlight.get('PUT') ?? 0) > 0) {
          // A group commit's PUT is in flight through the proxy: kill the server under it.
          killed = true;
          ingest.kill('SIGKILL');
          restarting = exitOf(ingest).then(async (signal) => {
            expect(signal).toBe('SIGKILL');
            ingest = await startIngest(port);
          });
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    await restarting;
    expect(killed).toBe(true);
    ingest.kill('SIGTERM');
    await exitOf(ingest);

    // A foreign writer's object in the lake: one line the warehouse cannot store.
    const direct = new S3RawStore({ bucket: s3.bucket, endpoint: s3.endpoint });
    let firstKey: string | undefined;
    for await (const o of direct.list('events/')) {
      firstKey ??= o.key;
    }
    const foreignKey = `${(firstKey as string).slice(0, (firstKey as string).lastIndexOf('/') + 1)}foreign.jsonl.gz`;
    await direct.put(
      foreignKey,
      encodeJsonlLines([JSON.stringify({ event_id: 'urn:uuid:x', event_name: 'page_view' })]),
    );

    // ---- ETL: SIGKILLed mid-run, backends terminated mid-load, then run until done ----
    const etlEnv = { DATABASE_URL: temp.url, LAKE_URL: `s3://${s3.bucket}`, S3_ENDPOINT: proxy.endpoint };
    const ledger = async () =>
      (await wh.query<{ n: number }>('SELECT count(*)::int AS n FROM etl_loaded_objects'))[0]?.n ?? 0;
    const cli = spawnChild(['--import', 'tsx', 'services/etl/cli.ts', 'run', '--batch-objects', '1'], etlEnv);
    while ((await ledger()) < 2 && cli.exitCode === null) await sleep(20);
    cli.kill('SIGKILL');
    expect(await exitOf(cli)).toBe('SIGKILL');
    const afterKill = await ledger();
    let inLake = 0;
    for await (const _ of direct.list('events/')) inLake++;
    expect(afterKill, 'the SIGKILLed run left objects to load').toBeLessThan(inLake);

    const opts = { trigger: 'manual' as const, lookbackHours: 24, retry: { attempts: 4, baseDelayMs: 50 } };
    const store = new S3RawStore({ bucket: s3.bucket, endpoint: proxy.endpoint });
    // The run is held at its first object read (the real store behind a gate, no fake data), so its
    // backends are terminated mid-run whatever the machine's speed: polling the ledger instead
    // raced the run to its end on a fast or a loaded box.
    let reads = 0;
    let reachedGate!: () => void;
    const atGate = new Promise<void>((r) => {
      reachedGate = r;
    });
    let openGate!: () => void;
    const gate = new Promise<void>((r) => {
      openGate = r;
    });
    const gated: typeof store = Object.assign(Object.create(store) as typeof store, {
      get: async (key: string) => {
        if (++reads === 1) {
          reachedGate();
          await gate;
        }
        return store.get(key);
      },
    });
    const interrupted = runEtl({ warehouse: wh, store: gated }, { ...opts, batchObjects: 1 });
    await Promise.race([atGate, interrupted]);
    const terminated = (
      await wh.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`,
      )
    ).length;
    openGate();
    const failed = await interrupted;
    expect(terminated).toBeGreaterThan(0);
    expect(failed.status).toBe('failed');

    const runs = [];
    for (let i = 0; i < 10; i++) {
      const r = await runEtl({ warehouse: wh, store }, opts);
      runs.push(r.status);
      if (r.status === 'succeeded' && r.objects === 0) break;
    }
    expect(runs.at(-1)).toBe('succeeded');

    // ---- verify against the lake itself (read past the proxy) ----
    const lakeIds: string[] = [];
    for await (const o of direct.list('events/')) {
      if (o.key === foreignKey) continue;
      for (const line of decodeJsonl(await direct.get(o.key))) lakeIds.push(String(JSON.parse(line).event_id));
    }
    const distinct = new Set(lakeIds);
    const quarantine: { errors?: { rule?: string; message?: string }[] }[] = [];
    for await (const o of direct.list('quarantine/')) {
      for (const line of decodeJsonl(await direct.get(o.key))) quarantine.push(JSON.parse(line));
    }
    const stored = new Set(
      (await wh.query<{ id: string }>('SELECT event_id::text AS id FROM clickstream_events')).map((r) => r.id),
    );
    const [accounting] = await wh.query<{ objects: number; lines: number; inserted: number; dups: number; q: number }>(
      `SELECT count(*)::int AS objects, sum(lines)::int AS lines, sum(rows_inserted)::int AS inserted,
              sum(duplicates)::int AS dups, sum(quarantined)::int AS q FROM etl_loaded_objects`,
    );
    const statuses = await wh.query<{ status: string; n: number }>(
      'SELECT status, count(*)::int AS n FROM etl_runs GROUP BY 1 ORDER BY 1',
    );

    console.log(
      [
        `pipeline under faults: N=${N} events in ${batches.length} requests (${attempts} attempts incl. retries)`,
        `  S3 proxy: ${JSON.stringify(proxy.counts)}`,
        `  acknowledged=${acknowledged.size} (valid events: ${N - N / INVALID_EVERY})`,
        `  lake event lines=${lakeIds.length} distinct=${distinct.size} (duplicates from retries: ${lakeIds.length - distinct.size})`,
        `  warehouse rows=${stored.size} duplicates skipped=${accounting?.dups} quarantined by ETL=${accounting?.q} quarantine lines=${quarantine.length}`,
        `  etl runs: ${statuses.map((s) => `${s.status}=${s.n}`).join(' ')}; pg backends terminated=${terminated}`,
      ].join('\n'),
    );

    expect(acknowledged.size).toBe(N - N / INVALID_EVERY);
    expect([...acknowledged].filter((id) => !stored.has(id))).toEqual([]);
    expect(stored).toEqual(distinct);
    expect(accounting?.inserted).toBe(stored.size);
    expect((accounting?.inserted ?? 0) + (accounting?.dups ?? 0) + (accounting?.q ?? 0)).toBe(accounting?.lines);
    expect(statuses.find((s) => s.status === 'running')).toBeUndefined();
    expect(statuses.find((s) => s.status === 'abandoned')?.n).toBeGreaterThan(0);
    expect(quarantine.length).toBeGreaterThanOrEqual(N / INVALID_EVERY + 1);
    expect(quarantine.every((q) => q.errors?.length && q.errors.every((e) => e.rule && e.message))).toBe(true);
    expect(proxy.counts.unavailable + proxy.counts.resetBefore + proxy.counts.resetAfter).toBeGreaterThan(0);
  }, 180_000);
});
