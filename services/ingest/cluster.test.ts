/**
 * `ingest serve` with INGEST_WORKERS=2 as a child process: both workers serve, GET /metrics counts
 * every worker's events, a worker killed outright is replaced, and SIGTERM under load drains both —
 * every acknowledged event is in the lake, and the primary exits 0 after the last worker.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import { createServer } from 'node:net';
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

/** One request on its own connection (no keep-alive), so the primary hands each to the next worker. */
function request(
  port: number,
  method: string,
  urlPath: string,
  body?: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method, path: urlPath, agent: false, headers: { 'content-type': 'application/json' } },
      (res) => {
        let text = '';
        res.on('data', (d) => {
          text += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('clickstream ingest serve with INGEST_WORKERS=2', () => {
  it('serves from both workers, sums /metrics over them, and drains both on SIGTERM', async () => {
    const lakeDir = await mkdtemp(path.join(os.tmpdir(), 'cluster-lake-'));
    try {
      const port = await freePort();
      // The bin directly (not npx) so that SIGTERM reaches the primary.
      const child = spawn(process.execPath, [path.join(ROOT, 'bin/clickstream.js'), 'ingest', 'serve'], {
        cwd: ROOT,
        env: {
          ...process.env,
          PORT: String(port),
          LAKE_URL: pathToFileURL(lakeDir).href,
          INGEST_WORKERS: '2',
        },
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
      for (let i = 0; i < 300 && !out.includes('"msg":"workers listening"'); i++)
        await new Promise((r) => setTimeout(r, 100));
      const started = /"msg":"workers listening".*"pids":\[(\d+),(\d+)\]/.exec(out);
      expect(started, out).not.toBeNull();
      expect(started![1]).not.toBe(started![2]);

      // Warm-up round, then /metrics (answered by one worker) must count both workers' events.
      const warm = Array.from({ length: 6 }, () => sampleBatch(2));
      const warmRes = await Promise.all(warm.map((b) => request(port, 'POST', '/clickstream', JSON.stringify(b))));
      expect(warmRes.map((r) => r.status)).toEqual(warm.map(() => 200));
      for (let i = 0; i < 2; i++) {
        const metrics = JSON.parse((await request(port, 'GET', '/metrics')).body) as Record<
          string,
          { accepted: number }
        >;
        expect(Object.values(metrics).reduce((n, m) => n + m.accepted, 0)).toBe(12);
      }

      // Read-your-writes across workers: each POST's events are in the next /metrics, whoever answers.
      let total = 12;
      for (let i = 0; i < 8; i++) {
        expect((await request(port, 'POST', '/clickstream', JSON.stringify(sampleBatch(1)))).status).toBe(200);
        total += 1;
        const m = JSON.parse((await request(port, 'GET', '/metrics')).body) as Record<string, { accepted: number }>;
        expect(Object.values(m).reduce((n, x) => n + x.accepted, 0)).toBe(total);
      }

      // A worker killed outright is replaced; the server keeps answering and /metrics keeps its counts.
      process.kill(Number(started![1]), 'SIGKILL');
      for (let i = 0; i < 300 && !out.includes('"msg":"worker died; starting another"'); i++)
        await new Promise((r) => setTimeout(r, 100));
      expect(out).toContain(`"msg":"worker died; starting another","service":"ingest","pid":${started![1]}`);
      const again = await Promise.all(
        Array.from({ length: 4 }, () => request(port, 'POST', '/clickstream', JSON.stringify(sampleBatch(1)))),
      );
      expect(again.map((r) => r.status)).toEqual([200, 200, 200, 200]);
      const after = JSON.parse((await request(port, 'GET', '/metrics')).body) as Record<string, { accepted: number }>;
      expect(Object.values(after).reduce((n, m) => n + m.accepted, 0)).toBe(total + 4);

      // Load: SIGTERM once 30 requests were answered, with the rest in flight or still to come.
      const batches = Array.from({ length: 120 }, () => sampleBatch(5));
      let okCount = 0;
      const results: Promise<{ ok: boolean; ids: string[] }>[] = [];
      for (let i = 0; i < batches.length; i++) {
        const b = batches[i]!;
        results.push(
          request(port, 'POST', '/clickstream', JSON.stringify(b)).then(
            (r) => {
              if (r.status === 200 && ++okCount === 30) child.kill('SIGTERM');
              return { ok: r.status === 200, ids: b.events.map((e) => e.event_id as string) };
            },
            () => ({ ok: false, ids: [] }),
          ),
        );
        if (i % 10 === 9) await new Promise((r) => setTimeout(r, 20));
      }
      const answered = await Promise.all(results);
      expect(await exited).toBe(0);
      expect(out).toMatch(/SIGTERM: draining 2 workers/);

      const acked = new Set([...warm.flatMap((b) => b.events.map((e) => e.event_id as string))]);
      // (the 4 single-event requests after the kill are not tracked; they were answered 200 above)
      for (const r of answered) if (r.ok) for (const id of r.ids) acked.add(id);
      expect(acked.size).toBeGreaterThanOrEqual(12 + 5 * 30);
      const stored = new Set<string>();
      const store = new FileRawStore(lakeDir);
      for await (const o of store.list('events/'))
        for (const l of decodeJsonl(await store.get(o.key))) stored.add(JSON.parse(l).event_id as string);
      expect([...acked].filter((id) => !stored.has(id))).toEqual([]);
    } finally {
      await rm(lakeDir, { recursive: true, force: true });
    }
  }, 60_000);

  it('exits 1 when a worker cannot listen (port taken)', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const { port } = blocker.address() as { port: number };
    try {
      const child = spawn(process.execPath, [path.join(ROOT, 'bin/clickstream.js'), 'ingest', 'serve'], {
        cwd: ROOT,
        env: { ...process.env, PORT: String(port), LAKE_URL: 'file:///tmp/cluster-unused-lake', INGEST_WORKERS: '2' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.push(child);
      let out = '';
      child.stderr!.on('data', (d) => {
        out += d;
      });
      expect(await new Promise((r) => child.once('exit', r))).toBe(1);
      expect(out).toMatch(/127\.0\.0\.1:\d+ is already in use: set PORT to another port/);
    } finally {
      await new Promise((r) => blocker.close(r));
    }
  }, 60_000);
});
