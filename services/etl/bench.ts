/**
 * `npm run bench:etl [-- --events N] [--runs R] [--small N] [--seed-events N]` (or
 * BENCH_ETL_EVENTS=N): loads N generated events (default 1,000,000) from a file lake written the
 * way ingest writes it (each object with this build's registry hash) into a fresh database on the
 * local PostgreSQL and compares, side by side in one run and against the same fact table and
 * indexes:
 *
 *   etl run      this ETL (parse + map + COPY, ledger, then the refresh of the touched days'
 *                daily counts, sessions and dashboard rollups), in a child process; R runs
 *   psql \copy   the same rows already flattened to CSV, COPYed straight into the fact table:
 *                the physical limit of this machine; one right after each ETL run
 *   smaller lake the ETL on N/4 events (`--small`), with and without the registry hash (peak RSS
 *                flat in lake size; what re-validating costs), and into PGlite (in memory)
 *   seed         the seed's approach on a subset: one GET per object in turn, 200-row multi-value
 *                INSERTs
 *
 * Each loader runs in its own process so its peak RSS is its own. Prints Markdown tables and the
 * load average before and after (the machine is shared: only ratios within one run compare).
 */
import { execFile, spawn } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import pg from 'pg';
import { clickstreamEventsColumns } from '../../generated/db/schema.ts';
import { mapperFor } from '../../generated/mappers/clickstream_events.ts';
import { REGISTRY_HASH } from '../../generated/registry-hash.ts';
import { FileRawStore } from '../lake/file-store.ts';
import { decodeJsonl } from '../lake/jsonl.ts';
import type { RawStore } from '../lake/raw-store.ts';
import { createTempDatabase } from '../testing/postgres.ts';
import { runEtl } from './core.ts';
import { sampleEvents, writeSampleLake } from './sample-lake.ts';
import { openWarehouse } from './warehouse.ts';

const run = promisify(execFile);
const SELF = fileURLToPath(import.meta.url);

interface ChildReport {
  rows: number;
  ms: number;
  maxRssKb: number;
  /** ETL: until the last batch committed (the rest refreshes the touched days). */
  loadMs?: number;
}

const START = new Date('2026-11-20T00:00:00Z');

async function listKeys(store: RawStore): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of store.list('events/')) keys.push(o.key);
  return keys;
}

/** Child: this ETL, exactly as `etl run` drives it; an empty `databaseUrl` is PGlite in memory. */
async function childEtl(databaseUrl: string, lakeDir: string): Promise<ChildReport> {
  const warehouse = await openWarehouse(databaseUrl ? { databaseUrl } : { pgliteDir: 'memory://' });
  try {
    if (!databaseUrl) await warehouse.migrate();
    const started = performance.now();
    let loaded = started;
    const result = await runEtl(
      { warehouse, store: new FileRawStore(lakeDir) },
      {
        trigger: 'manual',
        lookbackHours: 24,
        window: { start: START, end: new Date(START.getTime() + 7 * 86_400_000) },
        onProgress: () => {
          loaded = performance.now();
        },
      },
    );
    if (result.status !== 'succeeded') throw new Error(`etl run failed: ${result.error}`);
    const ms = performance.now() - started;
    return { rows: result.rowsInserted, ms, loadMs: loaded - started, maxRssKb: process.resourceUsage().maxRSS };
  } finally {
    await warehouse.close();
  }
}

/** Child: the seed's loader — sequential GET per object, map each line, 200-row INSERTs. */
async function childSeed(databaseUrl: string, lakeDir: string, maxEvents: number): Promise<ChildReport> {
  const store = new FileRawStore(lakeDir);
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  const started = performance.now();
  let rows = 0;
  const columns = clickstreamEventsColumns.join(', ');
  const width = clickstreamEventsColumns.length;
  try {
    for (const key of await listKeys(store)) {
      if (rows >= maxEvents) break;
      const lines = decodeJsonl(await store.get(key));
      for (let i = 0; i < lines.length; i += 200) {
        const params: unknown[] = [];
        const tuples: string[] = [];
        for (const line of lines.slice(i, i + 200)) {
          const e = JSON.parse(line) as { event_name: string; event_version: number };
          const row = mapperFor(e.event_name, e.event_version)?.(e);
          if (!row) continue;
          const base = params.length;
          tuples.push(`(${clickstreamEventsColumns.map((_, c) => `$${base + c + 1}`).join(', ')})`);
          for (const c of clickstreamEventsColumns) params.push(c === 'properties' ? JSON.stringify(row[c]) : row[c]);
        }
        if (params.length / width !== tuples.length) throw new Error('parameter count mismatch');
        const res = await client.query(
          `INSERT INTO clickstream_events (${columns}) VALUES ${tuples.join(', ')} ON CONFLICT (event_id) DO NOTHING`,
          params,
        );
        rows += res.rowCount ?? 0;
      }
    }
  } finally {
    await client.end();
  }
  return { rows, ms: performance.now() - started, maxRssKb: process.resourceUsage().maxRSS };
}

function csvField(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'object' ? JSON.stringify(v) : String(v);
  return /[",\n\r]/.test(s) || s === '' ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The lake's rows flattened to CSV (done once, outside the timed \copy). */
async function writeCsv(store: RawStore, file: string): Promise<number> {
  const out = createWriteStream(file);
  let rows = 0;
  for (const key of await listKeys(store)) {
    let chunk = '';
    for (const line of decodeJsonl(await store.get(key))) {
      const e = JSON.parse(line) as { event_name: string; event_version: number };
      const row = mapperFor(e.event_name, e.event_version)?.(e);
      if (!row) continue;
      chunk += `${clickstreamEventsColumns.map((c) => csvField(row[c])).join(',')}\n`;
      rows++;
    }
    if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  return rows;
}

async function psqlCopy(databaseUrl: string, csv: string): Promise<ChildReport & { maxRssKb: number }> {
  const copy = `\\copy clickstream_events (${clickstreamEventsColumns.join(', ')}) FROM '${csv}' WITH (FORMAT csv)`;
  const timeBin = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
  const started = performance.now();
  const args = ['-X', '-v', 'ON_ERROR_STOP=1', '-d', databaseUrl, '-c', copy];
  const { stdout, stderr } = timeBin
    ? await run(timeBin, ['-f', 'maxrss=%M', 'psql', ...args])
    : await run('psql', args);
  const ms = performance.now() - started;
  const rows = Number(/COPY (\d+)/.exec(stdout)?.[1] ?? Number.NaN);
  const maxRssKb = Number(/maxrss=(\d+)/.exec(stderr)?.[1] ?? Number.NaN);
  return { rows, ms, maxRssKb };
}

function spawnChild(mode: string, databaseUrl: string, lakeDir: string, extra: string[] = []): Promise<ChildReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', SELF, '--child', mode, '--db', databaseUrl, '--lake', lakeDir, ...extra],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`${mode} child exited with ${code}`));
      resolve(JSON.parse(out.trim().split('\n').at(-1) as string) as ChildReport);
    });
  });
}

const seconds = (ms: number) => (ms / 1000).toFixed(1);
const count = (n: number) => Math.round(n).toLocaleString('en-US');
const rate = (r: ChildReport) => r.rows / (r.ms / 1000);
const mib = (r: ChildReport) => (Number.isFinite(r.maxRssKb) ? String(Math.round(r.maxRssKb / 1024)) : 'n/a');
const loadAverage = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' / ');

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      events: { type: 'string', default: process.env.BENCH_ETL_EVENTS ?? '1000000' },
      runs: { type: 'string', default: '3' },
      small: { type: 'string' },
      'seed-events': { type: 'string', default: '100000' },
      'per-object': { type: 'string', default: '1000' },
      child: { type: 'string' },
      db: { type: 'string' },
      lake: { type: 'string' },
    },
  });
  if (values.child) {
    const db = values.db as string;
    const lake = values.lake as string;
    const report =
      values.child === 'etl' ? await childEtl(db, lake) : await childSeed(db, lake, Number(values['seed-events']));
    console.log(JSON.stringify(report));
    return;
  }

  const events = Number(values.events);
  const small = Number(values.small ?? Math.round(events / 4));
  const runs = Number(values.runs);
  const seedEvents = Math.min(Number(values['seed-events']), events);
  const perObject = Number(values['per-object']);
  const work = await mkdtemp(path.join(os.tmpdir(), 'bench-etl-'));
  const lakeDir = path.join(work, 'lake');
  const smallDir = path.join(work, 'lake-small');
  const unhashedDir = path.join(work, 'lake-small-unhashed');
  const store = new FileRawStore(lakeDir);
  const temp = await createTempDatabase('bench_etl');
  const say = (s: string) => process.stderr.write(`${s}\n`);
  const loadBefore = loadAverage();
  try {
    let t = performance.now();
    // As ingest writes them: every object carries this build's registry hash.
    const written = { registryHash: REGISTRY_HASH };
    const keys = await writeSampleLake(
      store,
      sampleEvents(events, { start: START, spanHours: 48 }),
      perObject,
      written,
    );
    await writeSampleLake(
      new FileRawStore(smallDir),
      sampleEvents(small, { start: START, spanHours: 48 }),
      perObject,
      written,
    );
    await writeSampleLake(
      new FileRawStore(unhashedDir),
      sampleEvents(small, { start: START, spanHours: 48 }),
      perObject,
    );
    say(
      `lakes: ${count(events)} events in ${keys.length} objects, twice ${count(small)} (${seconds(performance.now() - t)} s)`,
    );
    const csv = path.join(work, 'rows.csv');
    t = performance.now();
    const csvRows = await writeCsv(store, csv);
    say(
      `csv: ${csvRows} rows, ${((await stat(csv)).size / 1_048_576).toFixed(0)} MiB (${seconds(performance.now() - t)} s)`,
    );

    const warehouse = await openWarehouse({ databaseUrl: temp.url });
    await warehouse.migrate();
    // Every table of the warehouse (facts, ledger, every derived table; migrations live in the
    // drizzle schema): each loader starts from the same empty warehouse.
    const tables = (
      await warehouse.query<{ t: string }>(
        `SELECT quote_ident(tablename) AS t FROM pg_tables WHERE schemaname = 'public'`,
      )
    ).map((r) => r.t);
    const reset = async () => {
      await warehouse.query(`TRUNCATE ${tables.join(', ')}`);
      await warehouse.query('CHECKPOINT');
    };
    const etlInto = async (dir: string, expected: number) => {
      const r = await spawnChild('etl', temp.url, dir);
      const [check] = await warehouse.query<{ n: number }>('SELECT count(*)::int AS n FROM clickstream_events');
      if (check?.n !== expected) throw new Error(`etl loaded ${check?.n} rows, expected ${expected}`);
      await reset();
      return r;
    };

    const pairs: { etl: ChildReport; copy: ChildReport }[] = [];
    for (let run = 1; run <= runs; run++) {
      say(`run ${run}/${runs}: etl run …`);
      const etl = await etlInto(lakeDir, events);
      say(`run ${run}/${runs}: psql \\copy …`);
      const copy = await psqlCopy(temp.url, csv);
      await reset();
      pairs.push({ etl, copy });
    }
    say(`etl run on ${count(small)} events, with and without the registry hash …`);
    const smallEtl = await etlInto(smallDir, small);
    const unhashedEtl = await etlInto(unhashedDir, small);
    say(`etl run into PGlite on ${count(small)} events …`);
    const pglite = await spawnChild('etl', '', smallDir);
    say(`seed approach on ${count(seedEvents)} events …`);
    const seed = await spawnChild('seed', temp.url, lakeDir, ['--seed-events', String(seedEvents)]);
    await warehouse.close();

    const version = (await run('psql', ['-XtAc', 'SHOW server_version', '-d', temp.url])).stdout.trim();
    const ratio = (r: ChildReport, copy: ChildReport) => `${((rate(r) / rate(copy)) * 100).toFixed(0)}%`;
    const copy1 = (pairs[0] as { copy: ChildReport }).copy;
    const row = (name: string, r: ChildReport, vs?: ChildReport) =>
      `| ${name} | ${count(r.rows)} | ${seconds(r.ms)} | ${count(rate(r))} | ${vs ? ratio(r, vs) : ''} | ${mib(r)} |`;
    console.log(
      [
        `ETL benchmark: ${count(events)} events, ${keys.length} lake objects, PostgreSQL ${version}, ${os.cpus().length} cores; load average (1/5/15 min) ${loadBefore} before, ${loadAverage()} after`,
        '',
        '| run | etl run s | of which loading s | etl rows/s | psql \\copy s | \\copy rows/s | etl vs \\copy | loading vs \\copy |',
        '|---|---:|---:|---:|---:|---:|---:|---:|',
        ...pairs.map(({ etl, copy }, i) => {
          const loading = { ...etl, ms: etl.loadMs ?? etl.ms };
          return `| ${i + 1} | ${seconds(etl.ms)} | ${seconds(loading.ms)} | ${count(rate(etl))} | ${seconds(copy.ms)} | ${count(rate(copy))} | ${ratio(etl, copy)} | ${ratio(loading, copy)} |`;
        }),
        '',
        '| loader | rows | seconds | rows/s | vs \\copy (run 1) | peak RSS MiB |',
        '|---|---:|---:|---:|---:|---:|',
        row(`etl run, ${count(events)} events (run 1)`, (pairs[0] as { etl: ChildReport }).etl, copy1),
        row(`etl run, ${count(small)} events`, smallEtl),
        row(`etl run, ${count(small)} events, objects without registry hash (every line validated)`, unhashedEtl),
        row(`etl run into PGlite (memory), ${count(small)} events`, pglite),
        row('psql \\copy of CSV (run 1)', copy1, copy1),
        row('seed: GET per object + 200-row INSERT', seed, copy1),
      ].join('\n'),
    );
  } finally {
    await temp.drop();
    await rm(work, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
