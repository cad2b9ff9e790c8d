/**
 * `npm run bench:soak [-- --seconds 60 --etl-every 10 --connections 32]`: sustained load on the
 * whole local pipeline, on 127.0.0.1 only, bounded in time. `clickstream ingest serve` (a child
 * process, file lake) takes 25-event requests from `--connections` keep-alive connections for
 * `--seconds`, while `clickstream etl run` (a child process, as a scheduler would start it) loads
 * the lake into PostgreSQL every `--etl-every` seconds. Prints, every 5 s, the request rate, p50/p99
 * latency and the server's RSS; then each ETL run; then loss = acknowledged events missing from the
 * warehouse after a final run (must be 0) and how flat the RSS stayed.
 *
 * PostgreSQL: TEST_PG_URL or the server on 127.0.0.1:5432 (a temp database, dropped afterwards).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { openWarehouse } from './etl/warehouse.ts';
import { EVENT_NAMES, SAMPLE_TIME, sampleEvent } from './ingest/sample-events.ts';
import { freePort } from './testing/ports.ts';
import { createTempDatabase } from './testing/postgres.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    'etl-every': { type: 'string', default: '10' },
    connections: { type: 'string', default: '32' },
  },
});
const SECONDS = Number(values.seconds);
const ETL_EVERY_S = Number(values['etl-every']);
const CONNECTIONS = Number(values.connections);
const EVENTS_PER_REQUEST = 25;
const SAMPLE_EVERY_MS = 5000;
const ROOT = path.resolve(import.meta.dirname, '..');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function rssMiB(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Number(kb) / 1024 : 0;
  } catch {
    return 0;
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted.length ? (sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] as number) : 0;
}

const lakeDir = await mkdtemp(path.join(os.tmpdir(), 'soak-lake-'));
const db = await createTempDatabase('soak');
const env = {
  ...process.env,
  LAKE_URL: pathToFileURL(lakeDir).href,
  DATA_DIR: lakeDir,
  DATABASE_URL: db.url,
  LOG_LEVEL: 'error',
};
const port = await freePort();
const children: ChildProcess[] = [];
const spawnCli = (args: string[], extra: Record<string, string> = {}) => {
  const child = spawn(process.execPath, ['bin/clickstream.js', ...args], {
    cwd: ROOT,
    env: { ...env, ...extra },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  return child;
};

const wh = await openWarehouse({ databaseUrl: db.url });
try {
  await wh.migrate();
  // One client address sends everything here: the per-IP rate limit would measure itself.
  const ingest = spawnCli(['ingest', 'serve'], {
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    RATE_LIMIT_PER_MINUTE: '100000000',
    // One process, so the RSS read from its pid is the server's (workers are separate processes).
    INGEST_WORKERS: '1',
  });
  for (let up = false; !up; await sleep(100)) {
    up = await fetch(`http://127.0.0.1:${port}/health`).then(
      (r) => r.ok,
      () => false,
    );
  }

  // ---- load: CONNECTIONS keep-alive connections, one request in flight each ----
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const acknowledged: string[] = [];
  let latencies: number[] = [];
  let requests = 0;
  let failures = 0;
  const failureStatuses = new Map<number, number>();
  let stop = false;
  const post = (body: string) =>
    new Promise<number>((resolve) => {
      const req = http.request(
        {
          agent,
          host: '127.0.0.1',
          port,
          path: '/clickstream',
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          res.resume();
          res.once('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.once('error', () => resolve(0));
      req.end(body);
    });
  const worker = async (w: number) => {
    for (let n = 0; !stop; n++) {
      const events = Array.from({ length: EVENTS_PER_REQUEST }, (_, i) =>
        sampleEvent(EVENT_NAMES[(n + i + w) % EVENT_NAMES.length], { event_id: randomUUID() }),
      );
      const started = performance.now();
      const status = await post(JSON.stringify({ sent_at: SAMPLE_TIME.toISOString(), events }));
      latencies.push(performance.now() - started);
      requests++;
      if (status === 200) for (const e of events) acknowledged.push(e.event_id as string);
      else {
        failures++;
        failureStatuses.set(status, (failureStatuses.get(status) ?? 0) + 1);
      }
    }
  };

  // ---- ETL every ETL_EVERY_S seconds, as a timer would start it (not while one still runs) ----
  const etlRuns: { at: number; seconds: number; status: string; rows: number; peakMiB: number }[] = [];
  let etlBusy = false;
  let etlTicksSkipped = 0;
  const runEtlOnce = async (at: number) => {
    const started = performance.now();
    const child = spawnCli(['etl', 'run']);
    let out = '';
    child.stdout?.on('data', (d) => {
      out += d;
    });
    let peak = 0;
    const sampler = setInterval(() => {
      peak = Math.max(peak, rssMiB(child.pid));
    }, 200);
    await new Promise((r) => child.once('exit', r));
    clearInterval(sampler);
    const summary = JSON.parse(out.trim().split('\n').at(-1) || '{}') as { status?: string; rows_inserted?: number };
    etlRuns.push({
      at,
      seconds: (performance.now() - started) / 1000,
      status: summary.status ?? `exit ${child.exitCode}`,
      rows: summary.rows_inserted ?? 0,
      peakMiB: peak,
    });
  };

  console.log(
    `soak: ${SECONDS} s, ${CONNECTIONS} connections × ${EVENTS_PER_REQUEST}-event requests to ingest serve (file lake), etl run every ${ETL_EVERY_S} s into PostgreSQL; load average ${os.loadavg()[0]?.toFixed(1)}`,
  );
  console.log('| t (s) | req/s | events/s | p50 ms | p99 ms | non-2xx | ingest RSS MiB |');
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  const t0 = performance.now();
  const workers = Array.from({ length: CONNECTIONS }, (_, w) => worker(w));
  const rss: number[] = [];
  let etl: Promise<void> = Promise.resolve();
  let lastSample = t0;
  let lastRequests = 0;
  let lastFailures = 0;
  let nextEtl = ETL_EVERY_S;
  while (performance.now() - t0 < SECONDS * 1000) {
    await sleep(250);
    const t = (performance.now() - t0) / 1000;
    if (t >= nextEtl) {
      nextEtl += ETL_EVERY_S;
      if (etlBusy) {
        etlTicksSkipped++;
      } else {
        etlBusy = true;
        etl = runEtlOnce(Math.round(t)).finally(() => {
          etlBusy = false;
        });
      }
    }
    if (performance.now() - lastSample >= SAMPLE_EVERY_MS) {
      const interval = (performance.now() - lastSample) / 1000;
      const sorted = latencies.sort((a, b) => a - b);
      latencies = [];
      const mib = rssMiB(ingest.pid);
      rss.push(mib);
      const rate = (requests - lastRequests) / interval;
      console.log(
        `| ${Math.round(t)} | ${rate.toFixed(0)} | ${(rate * EVENTS_PER_REQUEST).toFixed(0)} | ${percentile(sorted, 50).toFixed(0)} | ${percentile(sorted, 99).toFixed(0)} | ${failures - lastFailures} | ${mib.toFixed(0)} |`,
      );
      lastSample = performance.now();
      lastRequests = requests;
      lastFailures = failures;
    }
  }
  stop = true;
  await Promise.all(workers);
  const loadSeconds = (performance.now() - t0) / 1000;
  await etl;
  agent.destroy();
  ingest.kill('SIGTERM');
  await new Promise((r) => ingest.once('exit', r));
  await runEtlOnce(Math.round((performance.now() - t0) / 1000));

  console.log(
    `\netl run every ${ETL_EVERY_S} s: ${etlRuns.length} runs (the last after the load stopped), ${etlTicksSkipped} ticks skipped while a run was still going`,
  );
  console.log('| ETL run started at (s) | status | rows inserted | seconds | peak RSS MiB |');
  console.log('| ---: | --- | ---: | ---: | ---: |');
  for (const r of etlRuns) {
    console.log(`| ${r.at} | ${r.status} | ${r.rows} | ${r.seconds.toFixed(1)} | ${r.peakMiB.toFixed(0)} |`);
  }

  let found = 0;
  for (let i = 0; i < acknowledged.length; i += 10_000) {
    const [row] = await wh.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM clickstream_events WHERE event_id = ANY($1::uuid[])',
      [acknowledged.slice(i, i + 10_000)],
    );
    found += row?.n ?? 0;
  }
  const [total] = await wh.query<{ n: number }>('SELECT count(*)::int AS n FROM clickstream_events');
  const steady = rss.slice(1);
  console.log(
    `\nrequests ${requests} in ${loadSeconds.toFixed(1)} s = ${(requests / loadSeconds).toFixed(0)} req/s (${((requests * EVENTS_PER_REQUEST) / loadSeconds).toFixed(0)} events/s), non-2xx/errors ${failures}${failures ? ` ${JSON.stringify(Object.fromEntries(failureStatuses))} (0 = connection error)` : ''}`,
  );
  console.log(
    `ingest RSS after the first sample: min ${Math.min(...steady).toFixed(0)} / max ${Math.max(...steady).toFixed(0)} MiB`,
  );
  console.log(
    `acknowledged events ${acknowledged.length}, in the warehouse ${found}, warehouse rows ${total?.n}: loss = ${acknowledged.length - found}`,
  );
  process.exitCode = acknowledged.length === found ? 0 : 1;
} finally {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await wh.close();
  await db.drop();
  await rm(lakeDir, { recursive: true, force: true });
}
