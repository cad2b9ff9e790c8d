/**
 * The "done when", as a user runs it: `ingest serve`, a POST, `etl run`, then
 * `dashboard serve` shows the event just sent — three real processes on one embedded data folder
 * (file lake + PGlite, opened one process at a time). All three run on the same clock, the
 * machine's, so the dashboard's default range ("the last 7 days") holds the event whatever the day.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../cli.ts';
import { SAMPLE_TIME } from '../ingest/sample-events.ts';
import { freePort } from '../testing/ports.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});

function start(args: string[], env: Record<string, string>, ready: string) {
  const child = spawn(process.execPath, ['bin/clickstream.js', ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d) => {
    out += d;
  });
  child.stderr!.on('data', (d) => {
    out += d;
  });
  const up = new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => {
      if (out.includes(ready)) {
        clearInterval(timer);
        resolve();
      }
    }, 50);
    child.once('exit', () => {
      clearInterval(timer);
      reject(new Error(`exited before "${ready}":\n${out}`));
    });
  });
  const stopped = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, up, stopped };
}

describe('clickstream dashboard serve', () => {
  it('lists itself in `clickstream --help` and answers --help', async () => {
    expect(await main(['dashboard', '--help'])).toBe(0);
    expect(await main(['dashboard', 'nonsense'])).toBe(2);
  });

  it('refuses a non-loopback HOST without DASHBOARD_TOKEN', async () => {
    const run = promisify(execFile);
    const err = await run(process.execPath, ['bin/clickstream.js', 'dashboard', 'serve'], {
      cwd: ROOT,
      env: { ...process.env, HOST: '0.0.0.0', DATA_DIR: os.tmpdir() },
    }).catch((e: { code: number; stderr: string }) => e);
    expect(err).toMatchObject({ code: 1 });
    expect((err as { stderr: string }).stderr).toContain('DASHBOARD_TOKEN');
  });

  it('after ingest serve and etl run, shows the event just sent', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'dash-cli-'));
    try {
      const env = { DATA_DIR: dataDir, PORT: String(await freePort()), DASHBOARD_PORT: String(await freePort()) };
      const ingest = start(['ingest', 'serve'], env, '"msg":"listening"');
      await ingest.up;
      // The browser's clock is pinned; ingest (a child on the machine clock) shifts the event by the
      // skew between sent_at and its receive time, so it lands in the dashboard's default range.
      const now = SAMPLE_TIME.toISOString();
      const eventId = randomUUID();
      const res = await fetch(`http://127.0.0.1:${env.PORT}/clickstream`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Firefox/125.0' },
        body: JSON.stringify({
          sent_at: now,
          events: [
            {
              event_name: 'page_view',
              event_version: 1,
              event_id: eventId,
              event_timestamp: now,
              client_id: 'c-cli',
              session_id: 's-cli',
              page: { url: 'https://shop.example/' },
              properties: { page_type: 'home' },
            },
          ],
        }),
      });
      expect(await res.json()).toEqual({ accepted: 1, rejected: [] });
      ingest.child.kill('SIGTERM');
      expect(await ingest.stopped).toBe(0);
      const etl = await promisify(execFile)(process.execPath, ['bin/clickstream.js', 'etl', 'run'], {
        cwd: ROOT,
        env: { ...process.env, ...env },
      });
      expect(JSON.parse(etl.stdout)).toMatchObject({ status: 'succeeded', rows_inserted: 1 });
      const dashboard = start(['dashboard', 'serve'], env, 'dashboard listening');
      await dashboard.up;
      const base = `http://127.0.0.1:${env.DASHBOARD_PORT}`;
      const events = (await (await fetch(`${base}/api/events`)).json()) as { data: { rows: { event_id: string }[] } };
      expect(events.data.rows.map((r) => r.event_id)).toEqual([eventId]);
      const kpis = (await (await fetch(`${base}/api/kpis`)).json()) as { data: { current: Record<string, number> } };
      expect(kpis.data.current).toMatchObject({ events: 1, unique_clients: 1, sessions: 1 });
      const page = await (await fetch(`${base}/sbw_dashboard`)).text();
      expect(page).toContain('s-cli');
      dashboard.child.kill('SIGTERM');
      expect(await dashboard.stopped).toBe(0);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});
