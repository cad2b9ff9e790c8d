/**
 * `npm run bench:ingest` — the ingest benchmarks of issue #4, printed as one Markdown table.
 *
 *   P1  CPU per 25-event batch: JSON.parse alone vs the whole core (parse + validate + enrich +
 *       lake lines from the received text); gzip level 1 vs 6 for the lake object (encodeJsonl).
 *   P2  HTTP on loopback: `clickstream ingest serve` (file lake, fsync per group commit) pinned to
 *       core 0 with taskset, autocannon in a second process pinned to core 1, against a no-op
 *       node:http server answering 200 to the same body, in the same run. ~20 s in total.
 *       The same with the lake on s3rver (a local S3 API in another process, not pinned).
 *       Afterwards each lake is counted: every 2xx response's 25 events must be stored.
 *   P5  The Lambda bundle (esbuild, minified, @aws-sdk external as the runtime provides it) and
 *       a cold process that imports it and handles one request, vs `node -e ''` in alternating
 *       rounds: with the lake on s3rver (as deployed: one signed PUT) and on a folder.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { validatorFor } from '../../generated/validators/index.ts';
import { decodeJsonl, GZIP_LEVEL } from '../lake/jsonl.ts';
import { openRawStore } from '../lake/open.ts';
import type { RawStore } from '../lake/raw-store.ts';
import { freePort } from '../testing/ports.ts';
import { startS3rver } from '../testing/s3rver.ts';
import { bundleIngestLambda } from './bundle.ts';
import { GUEST, processBody } from './core.ts';
import { scanBatch } from './event-text.ts';
import { sampleBatch } from './sample-events.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const BATCH = 25;
type Row = [string, string, string];
const rows: Row[] = [];
const row = (bench: string, metric: string, value: string) => rows.push([bench, metric, value]);

/** Mean µs per call of `fn`, after warm-up, over at least `ms` milliseconds. */
function time(fn: () => unknown, ms = 1500): number {
  for (let i = 0; i < 2000; i++) fn();
  let n = 0;
  const start = process.hrtime.bigint();
  const until = start + BigInt(ms) * 1_000_000n;
  let now = start;
  while (now < until) {
    for (let i = 0; i < 200; i++) fn();
    n += 200;
    now = process.hrtime.bigint();
  }
  return Number(now - start) / 1000 / n;
}

function p1(): void {
  row(
    'P1',
    'load average (1/5/15 min) at the start',
    os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' / '),
  );
  const body = JSON.stringify(sampleBatch(BATCH));
  const ctx = { receivedAt: new Date(), identity: GUEST, userAgent: 'Mozilla/5.0 (bench)', ip: '203.0.113.9' };
  // Interleaved short slices, medians: other jobs' load hits both alike (sequential 1.5 s runs
  // on a busy machine gave ratios from 1.6× to 3.3×).
  const parses: number[] = [];
  const cores: number[] = [];
  for (let i = 0; i < 9; i++) {
    parses.push(time(() => JSON.parse(body), 150));
    cores.push(time(() => processBody(body, ctx), 150));
  }
  const parse = median(parses);
  const core = median(cores);
  const result = processBody(body, ctx);
  if (!result.ok || result.accepted.length !== BATCH) throw new Error('P1 batch is not fully valid');
  row('P1', `body: ${BATCH} events`, `${body.length} B`);
  row('P1', 'JSON.parse', `${parse.toFixed(1)} µs`);
  row('P1', 'core processBody (parse+validate+enrich+serialise)', `${core.toFixed(1)} µs`);
  row('P1', 'validate+enrich+serialise beyond parse', `${(core - parse).toFixed(1)} µs`);
  row('P1', '(core − parse) / parse  (goal ≤ 1.5×)', `${((core - parse) / parse).toFixed(2)}×`);
  const pairs = parses.map((p, i) => (cores[i]! - p) / p).sort((a, b) => a - b);
  row(
    'P1',
    '(core − parse) / parse, range over 9 interleaved slices',
    `${pairs[0]!.toFixed(2)}–${pairs[8]!.toFixed(2)}×`,
  );
  row('P1', 'core / parse', `${(core / parse).toFixed(2)}×`);
  const events = (JSON.parse(body) as { events: { event_name: string }[] }).events;
  const validators = events.map((e) => validatorFor(e.event_name, 1)!);
  const validate = time(() => events.every((e, i) => validators[i]!(e)));
  row('P1', 'of which generated validators alone', `${validate.toFixed(1)} µs`);
  // The lake lines are built from the received text: scanBatch finds each event's span (the
  // line is then a few slices). JSON.stringify of the events is what the lines cost before.
  const scan = time(() => scanBatch(body));
  row('P1', 'of which scanBatch: event spans in the text, for the lake lines', `${scan.toFixed(1)} µs`);
  const wire = (JSON.parse(body) as { events: unknown[] }).events;
  const serialise = time(() => wire.map((e) => JSON.stringify(e)));
  row('P1', 'JSON.stringify of the 25 events (how the lines were built before)', `${serialise.toFixed(1)} µs`);
  const bytes = Buffer.from(body);
  const coreBytes = time(() => processBody(bytes, ctx));
  row(
    'P1',
    'core with the body as bytes, as the servers call it (UTF-8 decode included)',
    `${coreBytes.toFixed(1)} µs`,
  );
  // A lake object holds a group of requests (P2 sees 100–400 events per object): 13 batches,
  // each with its own event ids and timestamps, as the writer would encode them.
  const group: string[] = [];
  for (let i = 0; i < 13; i++) {
    const r = processBody(JSON.stringify(sampleBatch(BATCH)), ctx);
    if (r.ok) group.push(...r.accepted.map((a) => a.line));
  }
  const raw = Buffer.from(`${group.join('\n')}\n`);
  for (const level of [1, 3, 6]) {
    const us = time(() => gzipSync(raw, { level }), 1000);
    const chosen = level === GZIP_LEVEL ? ' (chosen)' : '';
    row(
      'P1',
      `gzip level ${level}${chosen}, ${group.length}-event object of ${raw.length} B`,
      `${us.toFixed(0)} µs, ${gzipSync(raw, { level }).length} B`,
    );
  }
}

/** Starts `cmd` pinned to `cpu`, resolves once its output contains `ready`. */
async function startPinned(cpu: number, cmd: string[], env: Record<string, string>, ready: string) {
  const child = spawn('taskset', ['-c', String(cpu), ...cmd], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += d;
      if (out.includes(ready)) resolve();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${cmd.join(' ')} exited ${code}: ${out}`)));
  });
  return child;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

interface Cannon {
  requests: { average: number };
  latency: { p50: number; p99: number };
  '2xx': number;
  non2xx: number;
  errors: number;
}

function autocannon(url: string, bodyFile: string, seconds: number): Cannon {
  const out = execFileSync(
    'taskset',
    [
      '-c',
      '1',
      process.execPath,
      path.join(ROOT, 'node_modules/autocannon/autocannon.js'),
      '--json',
      '-c',
      String(CONNECTIONS),
      '-d',
      String(seconds),
      '-m',
      'POST',
      '-H',
      'content-type=application/json',
      '-i',
      bodyFile,
      url,
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: (seconds + 10) * 1000 },
  );
  return JSON.parse(out) as Cannon;
}

const NOOP_SERVER = `
const http = require('node:http');
const answer = JSON.stringify({ accepted: ${BATCH}, rejected: [] });
http.createServer((req, res) => {
  req.on('data', () => {});
  req.on('end', () => { res.writeHead(200, { 'content-type': 'application/json' }); res.end(answer); });
}).listen(Number(process.env.PORT), '127.0.0.1', () => console.log('listening'));
`;

/** The same no-op server with one node:cluster worker per core (the all-cores comparison). */
const NOOP_CLUSTER = `
const cluster = require('node:cluster');
if (cluster.isPrimary) {
  let ready = 0;
  for (let i = 0; i < require('node:os').availableParallelism(); i++)
    cluster.fork().once('listening', () => { if (++ready === require('node:os').availableParallelism()) console.log('listening'); });
  process.on('SIGTERM', () => { for (const w of Object.values(cluster.workers)) w.process.kill('SIGTERM'); process.exit(0); });
} else {
${NOOP_SERVER.replace("console.log('listening')", '0')}
}
`;

const ROUNDS = 3;
const CONNECTIONS = 32;

interface Measured {
  run: Cannon;
  warmup2xx: number;
  /** Server process CPU (user + system, its libuv threads included) per answered request. */
  cpuMsPerRequest: number;
}

async function p2(): Promise<void> {
  const work = await mkdtemp(path.join(os.tmpdir(), 'bench-ingest-'));
  const bodyFile = path.join(work, 'body.json');
  await writeFile(bodyFile, JSON.stringify(sampleBatch(BATCH)));
  const s3 = await startS3rver('bench-lake');
  const allCoresLake = pathToFileURL(path.join(work, 'lake-all-cores')).href;
  const noopCluster = path.join(work, 'noop-cluster.cjs');
  await writeFile(noopCluster, NOOP_CLUSTER);
  const lakes = [
    { name: 'file lake', url: pathToFileURL(path.join(work, 'lake')).href, endpoint: undefined },
    { name: 's3rver lake', url: `s3://${s3.bucket}`, endpoint: s3.endpoint },
  ];
  try {
    // Rounds alternate the servers, so load from other jobs on the machine hits each alike; the
    // ratio is taken within a round, then the median over rounds is reported.
    const noops: Measured[] = [];
    const ingests = new Map<string, Measured[]>(lakes.map((l) => [l.name, []]));
    const loads: string[] = [];
    const cores = os.availableParallelism();
    const noopsAll: Measured[] = [];
    const ingestsAll: Measured[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      loads.push(os.loadavg()[0]!.toFixed(1));
      noops.push(
        await loadTest(bodyFile, (port) =>
          startPinned(0, [process.execPath, '-e', NOOP_SERVER], { PORT: String(port) }, 'listening'),
        ),
      );
      for (const lake of lakes) {
        ingests.get(lake.name)!.push(await loadTest(bodyFile, (port) => startIngest(port, lake.url, lake.endpoint)));
      }
      noopsAll.push(
        await loadTest(bodyFile, async (port) => {
          // A file, not -e: cluster.fork() runs the primary's script again.
          const child = spawn(process.execPath, [noopCluster], {
            env: { ...process.env, PORT: String(port) },
            stdio: ['ignore', 'pipe', 'inherit'],
          });
          await new Promise<void>((resolve, reject) => {
            child.stdout!.once('data', () => resolve());
            child.once('exit', (code) => reject(new Error(`no-op cluster exited ${code}`)));
          });
          return child;
        }),
      );
      ingestsAll.push(await loadTest(bodyFile, (port) => startIngest(port, allCoresLake, undefined, cores)));
    }
    row('P2', `load average (1 min) at the start of each round`, loads.join(', '));
    row('P2', `no-op node:http: req/s, p50/p99 ms (median of ${ROUNDS})`, fmtRuns(noops));
    row('P2', 'no-op node:http: server CPU per request', fmtCpu(noops));
    for (const lake of lakes) {
      const runs = ingests.get(lake.name)!;
      const store = openRawStore(lake.url, { s3Endpoint: lake.endpoint });
      const stored = await countLake(store);
      // Requests still in flight when autocannon stops are stored but not counted as answered.
      const acknowledged = runs.reduce((sum, r) => sum + r.warmup2xx + r.run['2xx'], 0) * BATCH;
      const lost = stored.events < acknowledged ? ' ✗ ACKNOWLEDGED EVENTS LOST' : '';
      const ratios = runs.map((r, i) => (100 * r.run.requests.average) / noops[i]!.run.requests.average);
      row('P2', `ingest serve (${lake.name}): req/s, p50/p99 ms (median of ${ROUNDS})`, fmtRuns(runs));
      row(
        'P2',
        `ingest (${lake.name}) events/s`,
        `${Math.round(median(runs.map((r) => r.run.requests.average)) * BATCH)}`,
      );
      row(
        'P2',
        `ingest (${lake.name}) / no-op req/s, per round  (goal ≥ 25%)`,
        `${ratios.map((x) => `${x.toFixed(1)}%`).join(', ')} (median ${median(ratios).toFixed(1)}%)`,
      );
      row('P2', `ingest (${lake.name}): server CPU per request`, fmtCpu(runs));
      row(
        'P2',
        `durability (${lake.name}): events stored ≥ 25 × 2xx (all rounds)`,
        `${stored.events} / ${acknowledged}${lost} (non-2xx ${sum(runs, (r) => r.run.non2xx)}, errors ${sum(runs, (r) => r.run.errors)})`,
      );
      row(
        'P2',
        `objects written (${lake.name})`,
        `${stored.objects} (${(stored.events / stored.objects).toFixed(0)} events/object)`,
      );
    }
    const stored = await countLake(openRawStore(allCoresLake));
    const acknowledged = ingestsAll.reduce((n, r) => n + r.warmup2xx + r.run['2xx'], 0) * BATCH;
    const allRatios = ingestsAll.map((r, i) => (100 * r.run.requests.average) / noopsAll[i]!.run.requests.average);
    row('P2', `all ${cores} cores: no-op node:http, ${cores} cluster workers: req/s, p50/p99 ms`, fmtRuns(noopsAll));
    row('P2', `all ${cores} cores: ingest serve (file lake), ${cores} workers: req/s, p50/p99 ms`, fmtRuns(ingestsAll));
    row(
      'P2',
      `all ${cores} cores: ingest / no-op req/s, per round`,
      `${allRatios.map((x) => `${x.toFixed(1)}%`).join(', ')} (median ${median(allRatios).toFixed(1)}%)`,
    );
    row('P2', `all ${cores} cores: ingest server CPU per request (all workers)`, fmtCpu(ingestsAll));
    row(
      'P2',
      `all ${cores} cores: durability, events stored ≥ 25 × 2xx`,
      `${stored.events} / ${acknowledged}${stored.events < acknowledged ? ' ✗ ACKNOWLEDGED EVENTS LOST' : ''}`,
    );
  } finally {
    await s3.stop();
    await rm(work, { recursive: true, force: true });
  }
}

const sum = <T>(xs: T[], f: (x: T) => number) => xs.reduce((acc, x) => acc + f(x), 0);

/**
 * User + system CPU in ms of a process and its child processes (cluster workers), from Linux
 * /proc (clock ticks are 10 ms).
 */
async function cpuMs(pid: number): Promise<number> {
  let total = 0;
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    const fields = stat.split(') ')[1]?.split(' ');
    if (!fields) continue;
    // fields[1] is the parent pid.
    if (Number(entry) === pid || Number(fields[1]) === pid) total += (Number(fields[11]) + Number(fields[12])) * 10;
  }
  return total;
}

/** Starts a server on a free port, warms it up for 1 s (not reported), then loads it for 4 s. */
async function loadTest(bodyFile: string, start: (port: number) => Promise<ChildProcess>): Promise<Measured> {
  const port = await freePort();
  const child = await start(port);
  try {
    const url = `http://127.0.0.1:${port}/clickstream`;
    const warmup2xx = autocannon(url, bodyFile, 1)['2xx'];
    const before = await cpuMs(child.pid!);
    const run = autocannon(url, bodyFile, 4);
    const cpuMsPerRequest = ((await cpuMs(child.pid!)) - before) / Math.max(1, run['2xx']);
    return { run, warmup2xx, cpuMsPerRequest };
  } finally {
    await stop(child);
  }
}

/**
 * `clickstream ingest serve`: one process pinned to core 0 (`workers` 1), or `workers` cluster
 * workers on every core; LOG_LEVEL=warn (no per-request log line), so /health tells readiness.
 */
async function startIngest(
  port: number,
  lakeUrl: string,
  s3Endpoint: string | undefined,
  workers = 1,
): Promise<ChildProcess> {
  const node = [process.execPath, 'bin/clickstream.js', 'ingest', 'serve'];
  const [cmd, ...args] = workers === 1 ? ['taskset', '-c', '0', ...node] : node;
  const child = spawn(cmd!, args, {
    cwd: ROOT,
    env: {
      ...process.env,
      PORT: String(port),
      INGEST_WORKERS: String(workers),
      LAKE_URL: lakeUrl,
      ...(s3Endpoint ? { S3_ENDPOINT: s3Endpoint } : {}),
      LOG_LEVEL: 'warn',
      RATE_LIMIT_PER_MINUTE: '1000000000',
    },
    stdio: 'ignore',
  });
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/health`)).ok) return child;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error('ingest server did not become healthy');
}

function fmtRuns(runs: Measured[]): string {
  const m = (f: (c: Cannon) => number) => median(runs.map((r) => f(r.run)));
  return `${Math.round(m((c) => c.requests.average))} req/s, ${m((c) => c.latency.p50)}/${m((c) => c.latency.p99)} ms`;
}

function fmtCpu(runs: Measured[]): string {
  return `${median(runs.map((r) => r.cpuMsPerRequest * 1000)).toFixed(0)} µs (median)`;
}

async function countLake(store: RawStore): Promise<{ objects: number; events: number }> {
  let objects = 0;
  let events = 0;
  for await (const o of store.list('events/')) {
    objects++;
    events += decodeJsonl(await store.get(o.key)).length;
  }
  return { objects, events };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Wall time in ms of one fresh `node` process running `args`. */
function processMs(args: string[], env: Record<string, string>): number {
  const start = performance.now();
  execFileSync(process.execPath, args, { env: { PATH: process.env.PATH ?? '', ...env }, stdio: 'ignore' });
  return performance.now() - start;
}

const P5_ROUNDS = 9;

async function p5(): Promise<void> {
  // Inside node_modules/.cache so the external @aws-sdk/* resolve from the project, as in Lambda.
  const outdir = path.join(ROOT, 'node_modules/.cache/clickstream-ingest-bench');
  await mkdir(outdir, { recursive: true });
  const bundle = await bundleIngestLambda(outdir);
  const event = JSON.parse(
    await readFile(path.join(import.meta.dirname, 'fixtures/apigw-v2/post-json-gzip-base64.json'), 'utf8'),
  );
  const lakeDir = await mkdtemp(path.join(os.tmpdir(), 'bench-p5-'));
  const s3 = await startS3rver('bench-p5');
  const script = `
    const { handler } = await import(${JSON.stringify(pathToFileURL(bundle.file).href)});
    const res = await handler(${JSON.stringify(event)}, {});
    if (res.statusCode !== 200) { console.error(res); process.exit(1); }
    process.exit(0);`;
  const env = { LOG_LEVEL: 'warn', CORS_ORIGINS: 'https://shop.example' };
  try {
    row(
      'P5',
      'load average (1/5/15 min) at the start',
      os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(' / '),
    );
    row(
      'P5',
      'Lambda bundle (minified, @aws-sdk external)  (goal ≤ 400 KB)',
      `${(bundle.bytes / 1024).toFixed(0)} KB (${bundle.bytes} B)`,
    );
    // The deployed Lambda's lake is S3: its first invocation signs and PUTs (here to s3rver on
    // loopback). The file lake shows the code's own share without the S3 client.
    const lakes: { name: string; env: Record<string, string> }[] = [
      { name: 's3rver lake, as deployed', env: { LAKE_URL: `s3://${s3.bucket}`, S3_ENDPOINT: s3.endpoint } },
      { name: 'file lake', env: { LAKE_URL: pathToFileURL(lakeDir).href } },
    ];
    // Rounds alternate the bare process and the cold ones, so load from other jobs hits each
    // alike; ratios are taken within a round, then the median over rounds is reported.
    const bare: number[] = [];
    const cold = lakes.map(() => [] as number[]);
    for (let round = 0; round < P5_ROUNDS; round++) {
      bare.push(processMs(['-e', ''], {}));
      lakes.forEach((lake, i) => {
        cold[i]!.push(
          processMs(['--input-type=module', '-e', script], {
            ...env,
            ...lake.env,
            AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
            AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
          }),
        );
      });
    }
    row('P5', `node -e '' (median of ${P5_ROUNDS})`, `${median(bare).toFixed(0)} ms`);
    lakes.forEach((lake, i) => {
      const ratios = cold[i]!.map((ms, r) => ms / bare[r]!).sort((a, b) => a - b);
      row(
        'P5',
        `cold import + first invocation, ${lake.name} (median of ${P5_ROUNDS})`,
        `${median(cold[i]!).toFixed(0)} ms`,
      );
      row(
        'P5',
        `cold / bare, ${lake.name}, median of per-round ratios  (goal ≤ 3×)`,
        `${median(ratios).toFixed(2)}× (${ratios[0]!.toFixed(2)}–${ratios[ratios.length - 1]!.toFixed(2)}×)`,
      );
    });
  } finally {
    await s3.stop();
    await rm(lakeDir, { recursive: true, force: true });
  }
}

// `npm run bench:ingest -- p2` runs only P2 (any subset of p1 p2 p5); no argument runs all.
const only = new Set(process.argv.slice(2).map((a) => a.toLowerCase()));
const wanted = (name: string) => only.size === 0 || only.has(name);
if (wanted('p1')) p1();
if (wanted('p2')) await p2();
if (wanted('p5')) await p5();
const header: Row = ['bench', 'metric', 'value'];
const widths = header.map((_, i) => Math.max(...[header, ...rows].map((r) => r[i]!.length)));
const line = (r: Row) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
console.log(
  [
    `ingest benchmarks — node ${process.version}, ${os.cpus().length}× ${os.cpus()[0]?.model.trim()}`,
    '',
    line(header),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...rows.map(line),
  ].join('\n'),
);
