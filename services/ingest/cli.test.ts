/**
 * `npx clickstream ingest serve` as other services and tests start it: a child process
 * configured by environment variables, answering sendBeacon posts, stopped by a signal.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { FileRawStore } from '../lake/file-store.ts';
import { decodeJsonl } from '../lake/jsonl.ts';
import { freePort } from '../testing/ports.ts';
import { sampleBatch } from './sample-events.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});

function serve(env: Record<string, string>) {
  const child = spawn('npx', ['clickstream', 'ingest', 'serve'], {
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
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const listening = new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => {
      if (!out.includes('"msg":"listening"')) return;
      clearInterval(timer);
      resolve();
    }, 50);
    exited.then(() => {
      clearInterval(timer);
      reject(new Error(`exited before listening:\n${out}`));
    });
  });
  // Awaited only by the tests that expect the server to come up.
  listening.catch(() => {});
  return { child, listening, exited, output: () => out };
}

async function portIsClosed(port: number): Promise<boolean> {
  try {
    await fetch(`http://127.0.0.1:${port}/health`);
    return false;
  } catch {
    return true;
  }
}

describe('clickstream ingest serve', () => {
  it('serves POST /clickstream from env config and stops when its npx parent is terminated', async () => {
    const lakeDir = await mkdtemp(path.join(os.tmpdir(), 'cli-lake-'));
    try {
      const port = await freePort();
      const srv = serve({
        PORT: String(port),
        LAKE_URL: pathToFileURL(lakeDir).href,
        CORS_ORIGINS: 'http://localhost:5173',
      });
      await srv.listening;
      const preflight = await fetch(`http://127.0.0.1:${port}/clickstream`, {
        method: 'OPTIONS',
        headers: { origin: 'http://localhost:5173', 'access-control-request-method': 'POST' },
      });
      expect(preflight.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
      const batch = sampleBatch(3);
      const res = await fetch(`http://127.0.0.1:${port}/clickstream`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain;charset=UTF-8', origin: 'http://localhost:5173' },
        body: JSON.stringify(batch),
      });
      expect(await res.json()).toEqual({ accepted: 3, rejected: [] });
      const store = new FileRawStore(lakeDir);
      const ids: string[] = [];
      for await (const o of store.list('events/'))
        for (const l of decodeJsonl(await store.get(o.key))) ids.push(JSON.parse(l).event_id);
      expect(ids).toEqual(batch.events.map((e) => e.event_id));
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).json();
      expect(metrics).toMatchObject({ add_to_cart: { accepted: 1, rejected: 0 }, begin_checkout: { accepted: 1 } });

      srv.child.kill('SIGTERM');
      await srv.exited;
      for (let i = 0; i < 50 && !(await portIsClosed(port)); i++) await new Promise((r) => setTimeout(r, 100));
      expect(await portIsClosed(port)).toBe(true);
    } finally {
      await rm(lakeDir, { recursive: true, force: true });
    }
  }, 30_000);

  it('refuses bad configuration with a message naming the variable', async () => {
    const srv = serve({ PORT: 'eighty', LAKE_URL: 'file:///tmp/x' });
    expect(await srv.exited).toBe(1);
    expect(srv.output()).toMatch(/PORT="eighty"/);
  }, 30_000);
});
