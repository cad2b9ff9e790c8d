/**
 * The local stack as `clickstream start` wires it (same startStack, temp DATA_DIR, free ports):
 * `simulate` traffic lands in the warehouse exactly as acknowledged and the dashboard counts its
 * sessions; SIGINT during load loses no acknowledged event; start-up failures are one line and
 * leave nothing running. Also saves the README's dashboard screenshot (docs/images/dashboard-simulated.png).
 *
 * Clock: the in-process stack runs on a clock pinned at 2100-01-01 12:00Z that advances with the
 * monotonic clock (ingest's skew correction and the lake's hours need time to move; 2100 keeps the
 * ID tokens valid for aws-jwt-verify, which reads the real clock). The child-process stack runs on
 * the machine's clock, which the test's load uses too.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config.ts';
import { SAMPLE_TIME, sampleEvent } from '../ingest/sample-events.ts';
import { seedProducts } from '../storefront/seed.ts';
import { launchChromium } from '../testing/chromium.ts';
import { freePort } from '../testing/ports.ts';
import { createTempDatabase } from '../testing/postgres.ts';
import { startS3rver } from '../testing/s3rver.ts';
import { localTokenIssuer, planSessions, simulate } from './simulate.ts';
import { type Stack, StartupError, startStack } from './start.ts';

const T0 = Date.parse('2100-01-01T12:00:00Z');
const started = performance.now();
const clock = () => new Date(T0 + (performance.now() - started));
const ROOT = path.resolve(import.meta.dirname, '../..');
const SCREENSHOT = path.join(ROOT, 'docs/images/dashboard-simulated.png');

let work: string;
beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'stack-'));
});
afterAll(() => rm(work, { recursive: true, force: true }));

const env = (dataDir: string, extra: Record<string, string> = {}) => ({
  DATA_DIR: dataDir,
  HOST: '127.0.0.1',
  ETL_INTERVAL: '1h',
  LOG_LEVEL: 'error',
  ...extra,
});

/** Distinct event_ids of every event object in a file lake. */
async function lakeEventIds(lakeDir: string): Promise<Set<string>> {
  const dir = path.join(lakeDir, 'events');
  const files = (await readdir(dir, { recursive: true }).catch(() => [] as string[])).filter((f) =>
    f.endsWith('.jsonl.gz'),
  );
  const ids = new Set<string>();
  for (const f of files) {
    for (const line of gunzipSync(await readFile(path.join(dir, f)))
      .toString('utf8')
      .split('\n')) {
      if (line) ids.add((JSON.parse(line) as { event_id: string }).event_id);
    }
  }
  return ids;
}

describe('simulate', () => {
  it('plans the same sessions and event_ids for the same seed and clock, other ones for another seed', () => {
    const end = new Date(T0);
    const opts = { sessions: 50, days: 3, seed: 7, shopOrigin: 'http://localhost:3000' };
    const ids = (seed: number) =>
      planSessions({ ...opts, seed }, end).planned.flatMap((s) => [...s.guest, ...s.signedIn].map((e) => e.event_id));
    expect(ids(7)).toEqual(ids(7));
    expect(new Set([...ids(7), ...ids(8)]).size).toBe(ids(7).length + ids(8).length);
    const events = planSessions(opts, end).planned.flatMap((s) => [...s.guest, ...s.signedIn]);
    const times = events.map((e) => Date.parse(e.event_timestamp));
    expect(Math.min(...times)).toBeGreaterThanOrEqual(T0 - 3 * 86_400_000);
    expect(Math.max(...times)).toBeLessThan(T0);
  });
});

describe('simulate without an ingest', () => {
  it('says the connection was refused and what to start, after its retries', async () => {
    const port = await freePort();
    const run = simulate({
      target: `http://127.0.0.1:${port}/clickstream`,
      sessions: 1,
      days: 1,
      rate: 0,
      seed: 1,
      now: () => new Date('2100-01-01T12:00:00Z'),
      shopOrigin: 'http://127.0.0.1:3000',
      sleep: async () => {},
    });
    await expect(run).rejects.toThrow(
      /connection refused — is `npm start` \(or `ingest serve`\) running\? \(0 events accepted/,
    );
  });
});

describe('simulate into the stack', () => {
  let stack: Stack;
  const dataDir = () => path.join(work, 'sim');
  beforeAll(async () => {
    stack = await startStack({
      config: loadConfig(env(dataDir())),
      ports: { ingest: 0, storefront: 0, dashboard: 0 },
      now: clock,
      logLevel: 'error',
    });
  }, 60_000);
  afterAll(() => stack?.close());

  it('the warehouse holds exactly the events simulate reports accepted, and the dashboard counts its sessions', async () => {
    const config = loadConfig(env(dataDir()));
    const issueToken = await localTokenIssuer(config, clock);
    expect(issueToken).toBeDefined();
    const summary = await simulate({
      target: stack.urls.ingest,
      sessions: 200,
      days: 3,
      rate: 0,
      seed: 1,
      now: clock,
      issueToken: issueToken!,
      shopOrigin: stack.urls.storefront,
    });
    // A realistic mix: signed-in and returning shoppers, and a funnel that narrows at every step.
    expect(summary).toMatchObject({ sessions: 200, rejected: 0 });
    expect(summary.accepted).toBe(summary.events_sent);
    expect(summary.signed_in_sessions).toBeGreaterThan(30);
    expect(summary.repeat_clients).toBeGreaterThan(10);
    expect(summary.purchases).toBeGreaterThan(5);
    expect(summary.events_by_name.page_view).toBeGreaterThan(summary.events_by_name.product_view!);
    expect(summary.events_by_name.product_view).toBeGreaterThan(summary.events_by_name.add_to_cart!);
    expect(summary.events_by_name.add_to_cart).toBeGreaterThan(summary.events_by_name.purchase!);

    const run = await stack.runEtlNow();
    expect(run).toMatchObject({ status: 'succeeded', rowsInserted: summary.accepted, quarantined: 0 });
    const [facts] = await stack.warehouse.query<{ rows: number; ids: number; users: number; purchases: number }>(
      `SELECT count(*)::int AS rows, count(DISTINCT event_id)::int AS ids,
         count(DISTINCT user_id) FILTER (WHERE user_login_state = 'logged_in' AND identity_source = 'cognito')::int AS users,
         count(*) FILTER (WHERE event_name = 'purchase')::int AS purchases
       FROM clickstream_events`,
    );
    expect(facts).toEqual({
      rows: summary.accepted,
      ids: summary.accepted,
      users: summary.users,
      purchases: summary.purchases,
    });

    // The dashboard over the simulated days (its "today" is the stack's pinned clock).
    const from = new Date(Date.parse(summary.first_event_at)).toISOString().slice(0, 10);
    const to = clock().toISOString().slice(0, 10);
    const res = await fetch(`${stack.urls.dashboard}/api/kpis?from=${from}&to=${to}`);
    expect(res.status).toBe(200);
    const kpis = (await res.json()) as { data: { current: Record<string, number> } };
    expect(kpis.data.current).toMatchObject({
      sessions: summary.sessions,
      events: summary.accepted,
      orders: summary.purchases,
      revenue: summary.revenue,
    });

    // The README's picture of a dashboard filled by simulate.
    const browser = await launchChromium();
    try {
      // A browser locale of its own: from LANG=C Chromium derives en-US@posix, which Intl rejects.
      const page = await browser.newPage({
        viewport: { width: 1280, height: 1500 },
        locale: 'en-US',
        timezoneId: 'UTC',
      });
      await page.goto(`${stack.urls.dashboard}/?from=${from}&to=${to}&granularity=hour`);
      await page.waitForSelector('#chart-events-over-time canvas');
      await page.waitForLoadState('networkidle');
      await page.screenshot({ path: SCREENSHOT });
    } finally {
      await browser.close();
    }
  }, 90_000);
});

describe("the stack's ETL ticks", () => {
  it('apply LAKE_RETENTION_DAYS and WAREHOUSE_RETENTION_DAYS, as etl run does', async () => {
    const config = loadConfig(
      env(path.join(work, 'retention'), { LAKE_RETENTION_DAYS: '1', WAREHOUSE_RETENTION_DAYS: '1' }),
    );
    const stack = await startStack({
      config,
      ports: { ingest: 0, storefront: 0, dashboard: 0 },
      now: clock,
      logLevel: 'error',
    });
    try {
      // Sessions over the last three days: the events of the first two are past the retention.
      const summary = await simulate({
        target: stack.urls.ingest,
        sessions: 30,
        days: 3,
        rate: 0,
        seed: 5,
        now: clock,
        issueToken: (await localTokenIssuer(config, clock))!,
        shopOrigin: stack.urls.storefront,
      });
      expect(summary.accepted).toBe(summary.events_sent);
      const run = await stack.runEtlNow();
      expect(run).toMatchObject({ status: 'succeeded', trigger: 'manual', rowsInserted: summary.accepted });
      expect(run.retention?.lakeObjectsDeleted).toBe(0);
      expect(run.retention?.warehouseRowsDeleted).toBeGreaterThan(0);
      const [left] = await stack.warehouse.query<{ n: number; oldest: Date }>(
        'SELECT count(*)::int AS n, min(event_timestamp) AS oldest FROM clickstream_events',
      );
      expect(left!.n).toBe(summary.accepted - run.retention!.warehouseRowsDeleted);
      expect(left!.oldest.getTime()).toBeGreaterThanOrEqual(T0 - 86_400_000);
    } finally {
      await stack.close();
    }
  }, 90_000);
});

describe('the stack on real servers', () => {
  it('uses DATABASE_URL, OLTP_DATABASE_URL and an S3 LAKE_URL instead of the embedded parts, and loads on its ETL timer', async () => {
    const [dwh, oltp, s3] = await Promise.all([
      createTempDatabase('stack_dwh'),
      createTempDatabase('stack_oltp'),
      startS3rver(),
    ]);
    const config = loadConfig(
      env(path.join(work, 'servers'), {
        DATABASE_URL: dwh.url,
        OLTP_DATABASE_URL: oltp.url,
        LAKE_URL: `s3://${s3.bucket}/raw`,
        S3_ENDPOINT: s3.endpoint,
        ETL_INTERVAL: '1s',
      }),
    );
    const stack = await startStack({
      config,
      ports: { ingest: 0, storefront: 0, dashboard: 0 },
      now: clock,
      logLevel: 'error',
    });
    try {
      // Only the local identity provider's keys are still embedded (Cognito is not configured).
      expect(Object.keys(stack.embedded)).toEqual(['identityKeys']);
      expect(stack.warehouse.kind).toBe('postgres');
      expect(stack.storefront.oltp.kind).toBe('postgres');
      const summary = await simulate({
        target: stack.urls.ingest,
        sessions: 20,
        days: 1,
        rate: 0,
        seed: 3,
        now: clock,
        issueToken: (await localTokenIssuer(config, clock))!,
        shopOrigin: stack.urls.storefront,
      });
      // No manual run: the timer (a tick at start-up, then every second) loads what simulate sent.
      const pool = new pg.Pool({ connectionString: dwh.url });
      try {
        const loaded = async () =>
          (await pool.query<{ n: number }>('SELECT count(DISTINCT event_id)::int AS n FROM clickstream_events'))
            .rows[0]!.n;
        // At most 30 s (150 polls of 200 ms) for the timer's ticks to load it all.
        for (let poll = 0; poll < 150 && (await loaded()) < summary.accepted; poll++) {
          await new Promise((r) => setTimeout(r, 200));
        }
        expect(await loaded()).toBe(summary.accepted);
      } finally {
        await pool.end();
      }
      const shop = new pg.Pool({ connectionString: oltp.url });
      try {
        const { rows } = await shop.query<{ n: number }>('SELECT count(*)::int AS n FROM shop.products');
        expect(rows[0]!.n).toBe(seedProducts().length);
      } finally {
        await shop.end();
      }
    } finally {
      await stack.close();
      await Promise.all([dwh.drop(), oltp.drop(), s3.stop()]);
    }
  }, 60_000);
});

describe('clickstream start as a process', () => {
  let child: ChildProcess | undefined;
  afterAll(() => {
    child?.kill('SIGKILL');
  });

  it('stops cleanly on SIGINT during load: every acknowledged event is in the lake, exit 0', async () => {
    // The simulate test's folder, migrated and seeded: a warm start, as a user's second `npm start`.
    const dataDir = path.join(work, 'sim');
    const [port, shopPort, dashPort] = [await freePort(), await freePort(), await freePort()];
    const proc = spawn(process.execPath, [path.join(ROOT, 'bin/clickstream.js'), 'start'], {
      cwd: ROOT,
      env: {
        ...process.env,
        ...env(dataDir, { PORT: String(port), STOREFRONT_PORT: String(shopPort), DASHBOARD_PORT: String(dashPort) }),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = proc;
    let stdout = '';
    let stderr = '';
    proc.stdout!.on('data', (d) => {
      stdout += d;
    });
    proc.stderr!.on('data', (d) => {
      stderr += d;
    });
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    await expect.poll(() => stdout, { timeout: 60_000, interval: 100 }).toContain('Ctrl-C stops.');
    expect(stdout).toContain(`ingest      http://127.0.0.1:${port}/clickstream`);
    expect(stdout).toContain(`raw lake    file://${dataDir}/lake`);

    // While it runs, a second stack on the same DATA_DIR fails at once with the lock's message.
    const second = await startStack({
      config: loadConfig(env(dataDir)),
      ports: { ingest: 0, storefront: 0, dashboard: 0 },
    })
      .then(() => 'started')
      .catch((err: Error) => err);
    expect(second).toBeInstanceOf(StartupError);
    expect((second as Error).message).toMatch(/dwh is in use by process \d+: .*DATABASE_URL/);

    // Load: four senders posting batches of 20 until the server stops answering.
    const acknowledged = new Set<string>();
    /** `accepted` of every 200 answer: each must be the whole batch (checked after the load). */
    const acceptedCounts: number[] = [];
    const failedBeforeSigint: string[] = [];
    let stop = false;
    let sigintSent = false;
    const sender = async () => {
      while (!stop) {
        // A tracker whose clock is pinned: the stack's ingest (a child on the machine clock) corrects the skew.
        const at = SAMPLE_TIME;
        const events = Array.from({ length: 20 }, () => sampleEvent('page_view', {}, at));
        let body: { accepted: number } | undefined;
        try {
          const res = await fetch(`http://127.0.0.1:${port}/clickstream`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ sent_at: at.toISOString(), events }),
          });
          if (res.status === 200) body = (await res.json()) as { accepted: number };
          else await res.body?.cancel();
        } catch (err) {
          // Refused or reset: the server is stopping — only after the SIGINT.
          if (sigintSent) stop = true;
          else failedBeforeSigint.push(String(err));
          if (!sigintSent && failedBeforeSigint.length > 10) stop = true;
        }
        if (body) {
          acceptedCounts.push(body.accepted);
          for (const e of events) acknowledged.add(e.event_id as string);
        }
      }
    };
    const senders = Array.from({ length: 4 }, sender);
    await expect.poll(() => acknowledged.size, { timeout: 20_000, interval: 50 }).toBeGreaterThan(400);
    const sigintAt = performance.now();
    proc.kill('SIGINT');
    sigintSent = true;
    const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), 20_000))]);
    stop = true;
    await Promise.all(senders);
    expect(failedBeforeSigint).toEqual([]);
    expect(acceptedCounts.length).toBeGreaterThan(20);
    expect(acceptedCounts.filter((n) => n !== 20)).toEqual([]);
    expect(code, stderr).toBe(0);
    expect(performance.now() - sigintAt).toBeLessThan(20_000);
    expect(stderr).toContain('SIGINT: stopping');

    const inLake = await lakeEventIds(path.join(dataDir, 'lake'));
    const lost = [...acknowledged].filter((id) => !inLake.has(id));
    expect(lost).toEqual([]);
    expect(inLake.size).toBeGreaterThanOrEqual(acknowledged.size);
  }, 90_000);

  it('a port in use stops start-up with one line naming its variable, exit 1, nothing left running', async () => {
    const dataDir = path.join(work, 'busy-port');
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const busy = (blocker.address() as { port: number }).port;
    const shopPort = await freePort();
    try {
      const proc = spawn(process.execPath, [path.join(ROOT, 'bin/clickstream.js'), 'start'], {
        cwd: ROOT,
        env: {
          ...process.env,
          ...env(dataDir, {
            PORT: String(busy),
            STOREFRONT_PORT: String(shopPort),
            DASHBOARD_PORT: String(await freePort()),
          }),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      proc.stderr!.on('data', (d) => {
        stderr += d;
      });
      const code = await new Promise<number | null>((resolve) => proc.once('exit', resolve));
      expect(code).toBe(1);
      expect(stderr.trim().split('\n')).toEqual([
        `clickstream start: port ${busy} is already in use (PORT, the ingest): stop what listens there or set PORT to another port`,
      ]);
      // Nothing was left running: the shop's port is free, no PGlite folder is locked.
      await new Promise<void>((resolve, reject) => {
        const probe = createServer().once('error', reject);
        probe.listen(shopPort, '127.0.0.1', () => probe.close(() => resolve()));
      });
      for (const folder of ['oltp', 'dwh']) {
        const files = await readdir(path.join(dataDir, folder)).catch(() => [] as string[]);
        expect(files).not.toContain('.clickstream.lock');
      }
    } finally {
      await new Promise((r) => blocker.close(r));
    }
  }, 60_000);

  it('a part failing after others started closes them again: ports free, PGlite folders unlocked', async () => {
    // The dashboard refuses a non-loopback HOST without DASHBOARD_TOKEN — after the shop and the ingest listen.
    const dataDir = path.join(work, 'sim');
    const [shopPort, ingestPort] = [await freePort(), await freePort()];
    const err = (await startStack({
      config: loadConfig(env(dataDir, { HOST: '0.0.0.0' })),
      ports: { storefront: shopPort, ingest: ingestPort, dashboard: 0 },
      logLevel: 'error',
    }).catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(/^HOST=0\.0\.0\.0 is not loopback: set DASHBOARD_TOKEN/);
    for (const port of [shopPort, ingestPort]) {
      await new Promise<void>((resolve, reject) => {
        const probe = createServer().once('error', reject);
        probe.listen(port, '0.0.0.0', () => probe.close(() => resolve()));
      });
    }
    for (const folder of ['oltp', 'dwh'])
      expect(await readdir(path.join(dataDir, folder))).not.toContain('.clickstream.lock');
  }, 60_000);

  it('an unwritable DATA_DIR and a bad ETL_INTERVAL stop start-up before anything starts', async () => {
    const file = path.join(work, 'a-file');
    await writeFile(file, 'not a folder');
    const err = (await startStack({ config: loadConfig(env(path.join(file, 'data'))) }).catch(
      (e: unknown) => e,
    )) as Error;
    expect(err).toBeInstanceOf(StartupError);
    expect(err.message).toBe(
      `DATA_DIR=${path.join(file, 'data')} is not a writable folder (ENOTDIR): set DATA_DIR to a folder this user can write`,
    );
    const proc = spawn(process.execPath, [path.join(ROOT, 'bin/clickstream.js'), 'start'], {
      cwd: ROOT,
      env: { ...process.env, ...env(path.join(work, 'bad-config'), { ETL_INTERVAL: '5 minutes' }) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    proc.stderr!.on('data', (d) => {
      stderr += d;
    });
    expect(await new Promise((resolve) => proc.once('exit', resolve))).toBe(1);
    expect(stderr.trim().split('\n')).toEqual([
      `clickstream start: invalid configuration: ETL_INTERVAL="5 minutes": Expected string to match '^[1-9][0-9]*(s|m|h)?$'`,
    ]);
  }, 30_000);
});
