/**
 * `npm run bench:stack`: figures of the local stack as a user meets it, on a temp DATA_DIR and free
 * ports — the cold start of `clickstream start` (empty folder: initdb, migrations, seed, key pair)
 * until every URL answers, a warm start, `clickstream simulate` throughput into it, the time until
 * the dashboard shows every simulated event (ETL_INTERVAL=5s), and the stop after SIGINT.
 *
 *   npm run bench:stack [-- --sessions 2000]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { freePort } from '../testing/ports.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const BIN = path.join(ROOT, 'bin/clickstream.js');
const { values } = parseArgs({ options: { sessions: { type: 'string', default: '2000' } } });
const sessions = Number(values.sessions);

const dataDir = await mkdtemp(path.join(tmpdir(), 'bench-stack-'));
const ports = { PORT: await freePort(), STOREFRONT_PORT: await freePort(), DASHBOARD_PORT: await freePort() };
const env = {
  ...process.env,
  DATA_DIR: dataDir,
  HOST: '127.0.0.1',
  ETL_INTERVAL: '5s',
  ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])),
};
const urls = [
  `http://127.0.0.1:${ports.STOREFRONT_PORT}/`,
  `http://127.0.0.1:${ports.DASHBOARD_PORT}/health`,
  `http://127.0.0.1:${ports.PORT}/health`,
];

async function answers(url: string): Promise<boolean> {
  try {
    const res = await fetch(url);
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false;
  }
}

/** Spawns `clickstream start`; resolves with the seconds until every URL answered. */
async function start(): Promise<{ child: ChildProcess; seconds: number }> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [BIN, 'start'], { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'inherit'] });
  for (;;) {
    if (child.exitCode !== null) throw new Error(`clickstream start exited with ${child.exitCode}`);
    if ((await Promise.all(urls.map(answers))).every(Boolean)) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, seconds: (performance.now() - t0) / 1000 };
}

async function stop(child: ChildProcess): Promise<{ seconds: number; code: number | null }> {
  const t0 = performance.now();
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  child.kill('SIGINT');
  const code = await exited;
  return { seconds: (performance.now() - t0) / 1000, code };
}

const rows: [string, string][] = [];
try {
  const cold = await start();
  rows.push(['cold start (empty DATA_DIR) until shop, dashboard and ingest answer', `${cold.seconds.toFixed(1)} s`]);
  const stopped = await stop(cold.child);
  rows.push(['stop after SIGINT (idle)', `${stopped.seconds.toFixed(2)} s, exit ${stopped.code}`]);
  const warm = await start();
  rows.push(['warm start (migrated, seeded)', `${warm.seconds.toFixed(1)} s`]);

  const t0 = performance.now();
  const sim = spawn(
    process.execPath,
    [BIN, 'simulate', '--sessions', String(sessions), '--days', '3', '--seed', '2', '--json'],
    {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'ignore'],
    },
  );
  let out = '';
  sim.stdout!.on('data', (d) => {
    out += d;
  });
  await new Promise((resolve) => sim.once('exit', resolve));
  const wall = (performance.now() - t0) / 1000;
  const summary = JSON.parse(out) as { accepted: number; events_per_second: number; requests: number };
  rows.push([
    `simulate --sessions ${sessions} (${summary.accepted} events, ${summary.requests} requests)`,
    `${summary.events_per_second} events/s sending; ${wall.toFixed(1)} s wall with the CLI's start`,
  ]);

  // Until the dashboard's key figures count every accepted event (the ETL runs every 5 s).
  const t1 = performance.now();
  const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
  const kpis = `http://127.0.0.1:${ports.DASHBOARD_PORT}/api/kpis?from=${day(-4)}&to=${day(0)}`;
  for (;;) {
    const body = (await (await fetch(kpis)).json()) as { data: { current: { events: number } } };
    if (body.data.current.events >= summary.accepted) break;
    if (performance.now() - t1 > 120_000) throw new Error('the dashboard did not show the events within 120 s');
    await new Promise((r) => setTimeout(r, 200));
  }
  rows.push([
    'from the last event sent until the dashboard counts all (ETL_INTERVAL=5s)',
    `${((performance.now() - t1) / 1000).toFixed(1)} s`,
  ]);
  const end = await stop(warm.child);
  rows.push(['stop after SIGINT (after load)', `${end.seconds.toFixed(2)} s, exit ${end.code}`]);
} finally {
  await rm(dataDir, { recursive: true, force: true });
}

const width = Math.max(...rows.map(([k]) => k.length));
console.log(
  `local stack (${process.platform}, ${(await import('node:os')).cpus().length} cores, Node ${process.version})`,
);
for (const [k, v] of rows) console.log(`  ${k.padEnd(width)}  ${v}`);
