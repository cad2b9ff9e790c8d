/**
 * The built tracker in real Chromium against the real `clickstream ingest serve` (child process,
 * file lake): what arrives is counted by reading the lake's gzip JSON-lines objects.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../testing/chromium.ts';
import type { BrowserTrackerConfig } from './browser.ts';
import { buildTracker } from './build.ts';
import type { init } from './index.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** What the test pages see: the IIFE's global and the tracker a test initialised. */
type PageGlobals = { clickstream: { init: typeof init }; tracker: ReturnType<typeof init> };

interface LakeEvent {
  event_id: string;
  user_id: string | null;
  user_login_state: string;
  event_name: string;
  client_id: string;
  session_id: string;
  is_first_visit?: boolean;
  page: { url: string; referrer?: string };
  properties: Record<string, unknown>;
}

let workDir: string;
let lakeDir: string;
let bundles: Awaited<ReturnType<typeof buildTracker>>;
let shop: http.Server;
let shopOrigin: string;
let ingestPort: number;
let ingestUrl: string;
let ingest: ChildProcess | undefined;
let browser: Browser;

/** The ingest server verifies ID tokens of this issuer with a local JWKS, as it would Cognito's. */
const ISSUER = 'https://issuer.tracker-test.example';
const AUDIENCE = 'tracker-test-client';
const signingKey = generateKeyPairSync('rsa', { modulusLength: 2048 });

/** An RS256 ID token shaped like Cognito's, signed with the key the server trusts. */
function idToken(sub: string): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const signed = `${part({ alg: 'RS256', kid: 'test', typ: 'JWT' })}.${part({ sub, iss: ISSUER, aud: AUDIENCE, token_use: 'id', iat: now, exp: now + 600 })}`;
  return `${signed}.${sign('sha256', Buffer.from(signed), signingKey.privateKey).toString('base64url')}`;
}

async function listen(server: http.Server, port = 0): Promise<number> {
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function freePort(): Promise<number> {
  const probe = http.createServer();
  const port = await listen(probe);
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

async function startIngest(): Promise<void> {
  const child = spawn(process.execPath, ['bin/clickstream.js', 'ingest', 'serve'], {
    cwd: repoRoot,
    env: {
      ...process.env,
      PORT: String(ingestPort),
      HOST: '127.0.0.1',
      LAKE_URL: `file://${lakeDir}`,
      CORS_ORIGINS: shopOrigin,
      JWT_ISSUER: ISSUER,
      JWKS_URI: `file://${path.join(workDir, 'jwks.json')}`,
      COGNITO_CLIENT_ID: AUDIENCE,
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => {
    stderr += d;
  });
  ingest = child;
  for (const deadline = Date.now() + 15_000; Date.now() < deadline; ) {
    if (child.exitCode !== null) throw new Error(`ingest exited with ${child.exitCode}: ${stderr}`);
    const up = await fetch(`http://127.0.0.1:${ingestPort}/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (up) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`ingest did not start: ${stderr}`);
}

async function stopIngest(): Promise<void> {
  const child = ingest;
  ingest = undefined;
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

async function readLake(): Promise<LakeEvent[]> {
  const files = await readdir(path.join(lakeDir, 'events'), { recursive: true }).catch(() => [] as string[]);
  const events: LakeEvent[] = [];
  for (const file of files.filter((f) => f.endsWith('.jsonl.gz'))) {
    const text = gunzipSync(await readFile(path.join(lakeDir, 'events', file))).toString('utf8');
    for (const line of text.split('\n')) if (line) events.push(JSON.parse(line));
  }
  return events;
}

/** The lake's events with these ids, once every id has arrived; fails after `timeout` ms. */
async function delivered(ids: string[], timeout = 10_000): Promise<LakeEvent[]> {
  const wanted = new Set(ids);
  let found: LakeEvent[] = [];
  await expect
    .poll(
      async () => {
        found = (await readLake()).filter((e) => wanted.has(e.event_id));
        return new Set(found.map((e) => e.event_id)).size;
      },
      { timeout, interval: 100 },
    )
    .toBe(wanted.size);
  return found;
}

const countById = (events: LakeEvent[]) => {
  const counts: Record<string, number> = {};
  for (const e of events) counts[e.event_id] = (counts[e.event_id] ?? 0) + 1;
  return counts;
};

interface ProxiedPost {
  contentType?: string;
  authorization?: string;
  ids: string[];
}

/**
 * A loopback pass-through proxy in front of the real ingest server that records each POST, holds
 * it for `delayMs` (a slow network) and answers the first `failFirst` of them with 503 itself (a
 * fault the real server cannot be made to produce on demand).
 */
async function startProxy({ failFirst = 0, delayMs = 0 } = {}) {
  const posts: ProxiedPost[] = [];
  const requests: string[] = [];
  let failuresLeft = failFirst;
  const server = http.createServer((req, res) => {
    requests.push(req.method ?? '');
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      await new Promise((r) => setTimeout(r, req.method === 'POST' ? delayMs : 0));
      const body = Buffer.concat(chunks);
      if (req.method === 'POST') {
        const ids = (JSON.parse(body.toString()) as { events: LakeEvent[] }).events.map((e) => e.event_id);
        const { 'content-type': contentType, authorization } = req.headers;
        posts.push({ contentType, ids, ...(authorization && { authorization }) });
        if (failuresLeft-- > 0) {
          res.writeHead(503, {
            'content-type': 'application/json',
            'access-control-allow-origin': req.headers.origin ?? '',
            'access-control-allow-credentials': 'true',
          });
          res.end('{"error":{"code":"store_unavailable","message":"injected by the test proxy"}}');
          return;
        }
      }
      const upstream = http.request(
        { host: '127.0.0.1', port: ingestPort, method: req.method, path: req.url, headers: req.headers },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      upstream.end(body);
    });
  });
  const url = `http://127.0.0.1:${await listen(server)}/clickstream`;
  return {
    url,
    posts,
    requests,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

async function openShop(
  context: BrowserContext,
  config: BrowserTrackerConfig,
  file = 'shop.html',
  bundle = 'clickstream.min.js',
): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${shopOrigin}/${file}?bundle=${bundle}`);
  await initTracker(page, config);
  return page;
}

async function initTracker(page: Page, config: BrowserTrackerConfig): Promise<void> {
  await page.evaluate((c) => {
    const g = window as unknown as PageGlobals;
    g.tracker = g.clickstream.init(c);
  }, config);
}

/** Tracks `n` searches in the page; returns their event_ids as queued. */
async function trackSearches(page: Page, n: number, query = 'trail shoes'): Promise<string[]> {
  return page.evaluate(
    ({ n, query }) => {
      const before = new Set(
        (JSON.parse(localStorage.getItem('clickstream.q') ?? '[]') as { event_id: string }[]).map((e) => e.event_id),
      );
      for (let i = 0; i < n; i++)
        (window as unknown as PageGlobals).tracker.search({ query: `${query} ${i}`, results_count: i });
      return (JSON.parse(localStorage.getItem('clickstream.q') ?? '[]') as { event_id: string }[])
        .map((e) => e.event_id)
        .filter((id) => !before.has(id));
    },
    { n, query },
  );
}

const queueLength = (page: Page) =>
  page.evaluate(() => (JSON.parse(localStorage.getItem('clickstream.q') ?? '[]') as unknown[]).length);

beforeAll(async () => {
  workDir = await mkdtemp(path.join(tmpdir(), 'tracker-browser-'));
  lakeDir = path.join(workDir, 'lake');
  const jwk = { ...signingKey.publicKey.export({ format: 'jwk' }), kid: 'test', alg: 'RS256', use: 'sig' };
  await writeFile(path.join(workDir, 'jwks.json'), JSON.stringify({ keys: [jwk] }));
  bundles = await buildTracker(path.join(workDir, 'dist'));
  const scripts: Record<string, string> = {
    '/clickstream.min.js': await readFile(bundles.full, 'utf8'),
    '/clickstream.debug.js': await readFile(bundles.debug, 'utf8'),
  };
  // Every *.html is a shop page loading the bundle named by ?bundle=, like a site's <script src>.
  shop = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://shop');
    const script = scripts[url.pathname];
    const bundle = url.searchParams.get('bundle');
    if (script) {
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(script);
    } else if (url.pathname.endsWith('.html') && bundle && scripts[`/${bundle}`]) {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(
        `<!doctype html><title>Trail shop ${url.pathname}</title><script src="/${bundle}"></script><h1>shop</h1>`,
      );
    } else {
      res.writeHead(404).end();
    }
  });
  shopOrigin = `http://127.0.0.1:${await listen(shop)}`;
  ingestPort = await freePort();
  ingestUrl = `http://127.0.0.1:${ingestPort}/clickstream`;
  [browser] = await Promise.all([launchChromium(), startIngest()]);
});

afterAll(async () => {
  await browser?.close();
  await stopIngest();
  await new Promise((resolve) => shop?.close(resolve));
  await rm(workDir, { recursive: true, force: true });
});

describe('tracker in Chromium against clickstream ingest serve', () => {
  it('delivers events tracked just before navigating away: in flight by keepalive, the rest by sendBeacon', async () => {
    // Requests made while a page unloads are invisible to the browser's request events: a
    // pass-through proxy records what reached the server, and holds each POST for 500 ms so that
    // one is still in flight when the page goes.
    const proxy = await startProxy({ delayMs: 500 });
    const context = await browser.newContext();
    // The interval cannot trigger a send: the first two go as a batch, the third only at page hide.
    const config = {
      endpoint: proxy.url,
      consent: 'granted' as const,
      autoPageView: false,
      batchSize: 2,
      flushIntervalMs: 600_000,
    };
    const page = await openShop(context, config);
    const ids = await trackSearches(page, 3);
    await page.goto(`${shopOrigin}/next.html?bundle=clickstream.min.js`);
    // The next page starts a tracker too: it must find nothing left to resend.
    await initTracker(page, config);

    const events = await delivered(ids);
    await new Promise((r) => setTimeout(r, 1000));
    expect(countById((await readLake()).filter((e) => ids.includes(e.event_id)))).toEqual(countById(events));
    expect(Object.values(countById(events))).toEqual([1, 1, 1]);
    // Simple text/plain POSTs only, no CORS preflight; the beacon's has a charset.
    expect(proxy.requests).toEqual(['POST', 'POST']);
    expect(proxy.posts).toEqual([
      { contentType: 'text/plain', ids: ids.slice(0, 2) },
      { contentType: 'text/plain;charset=UTF-8', ids: ids.slice(2) },
    ]);
    expect(await queueLength(page)).toBe(0);
    await context.close();
    await proxy.close();
  });

  it('sends waiting events by sendBeacon when the tab is hidden, and keeps tracking when it is back', async () => {
    const proxy = await startProxy();
    const context = await browser.newContext();
    const page = await openShop(context, {
      endpoint: proxy.url,
      consent: 'granted',
      autoPageView: false,
      batchSize: 100,
      flushIntervalMs: 600_000,
    });
    // A headless page is never hidden for real: the visibility state is overridden and the
    // browser's own event dispatched, which is what a tab switch looks like to the page.
    const setVisibility = (state: 'hidden' | 'visible') =>
      page.evaluate((s) => {
        Object.defineProperty(document, 'visibilityState', { value: s, configurable: true });
        document.dispatchEvent(new Event('visibilitychange'));
      }, state);
    const first = await trackSearches(page, 2, 'before hiding');
    await setVisibility('hidden');
    await delivered(first);
    await setVisibility('visible');
    const second = await trackSearches(page, 1, 'after coming back');
    await setVisibility('hidden');
    const events = await delivered([...first, ...second]);

    expect(Object.values(countById(events))).toEqual([1, 1, 1]);
    expect(proxy.posts).toEqual([
      { contentType: 'text/plain;charset=UTF-8', ids: first },
      { contentType: 'text/plain;charset=UTF-8', ids: second },
    ]);
    await context.close();
    await proxy.close();
  });

  it('queues events while the server is down, across a reload, and delivers each exactly once when it is back', async () => {
    const context = await browser.newContext();
    const config = {
      endpoint: ingestUrl,
      consent: 'granted' as const,
      autoPageView: false,
      batchSize: 1,
      retryBaseMs: 200,
    };
    await stopIngest();
    const page = await openShop(context, { ...config, retryMaxMs: 1000 });
    const failed = new Promise((resolve) => page.once('requestfailed', resolve));
    const ids = await trackSearches(page, 2, 'offline');
    await failed;
    // Reloading while the server is down: the page-hide flush must not hand these to a beacon.
    await page.reload();
    await initTracker(page, { ...config, retryMaxMs: 1000 });
    ids.push(...(await trackSearches(page, 2, 'offline after reload')));
    expect(ids).toHaveLength(4);
    await expect.poll(() => queueLength(page), { timeout: 15_000, interval: 100 }).toBe(4);

    await startIngest();
    const events = await delivered(ids);
    await expect.poll(() => queueLength(page), { timeout: 15_000, interval: 100 }).toBe(0);
    // Anything resent late would show up as a second copy in the lake.
    await new Promise((r) => setTimeout(r, 1500));
    expect(countById((await readLake()).filter((e) => ids.includes(e.event_id)))).toEqual(countById(events));
    expect(Object.values(countById(events))).toEqual([1, 1, 1, 1]);
    await context.close();
  });

  it('retries 503 answers and then delivers the same events once', async () => {
    // The server only answers 503 when its durable write fails, which a test cannot cause safely:
    // the proxy in front of it injects the two failures.
    const proxy = await startProxy({ failFirst: 2 });
    const context = await browser.newContext();
    const page = await openShop(context, {
      endpoint: proxy.url,
      consent: 'granted',
      autoPageView: false,
      batchSize: 3,
      retryBaseMs: 200,
    });
    const ids = await trackSearches(page, 3, 'retried');

    const events = await delivered(ids);
    expect(proxy.posts.map((p) => p.ids)).toEqual([ids, ids, ids]);
    expect(Object.values(countById(events))).toEqual([1, 1, 1]);
    await context.close();
    await proxy.close();
  });

  it('sends the ID token from the auth hook as Authorization, so the server attributes events to the user', async () => {
    const proxy = await startProxy();
    const context = await browser.newContext();
    const token = idToken('user-42');
    const page = await context.newPage();
    await page.goto(`${shopOrigin}/account.html?bundle=clickstream.min.js`);
    await page.evaluate(
      ({ endpoint, token }) => {
        const g = window as unknown as PageGlobals;
        g.tracker = g.clickstream.init({
          endpoint,
          consent: 'granted',
          autoPageView: false,
          batchSize: 1,
          auth: async () => token,
        });
        g.tracker.login({ method: 'email' });
      },
      { endpoint: proxy.url, token },
    );
    await expect.poll(() => queueLength(page), { timeout: 15_000, interval: 100 }).toBe(0);

    const ids = proxy.posts.flatMap((p) => p.ids);
    const [event] = await delivered(ids);
    expect(event).toMatchObject({ event_name: 'login', user_id: 'user-42', user_login_state: 'logged_in' });
    // A header other than the CORS-safelisted ones costs a preflight; it must pass, keepalive included.
    expect(proxy.requests).toEqual(['OPTIONS', 'POST']);
    expect(proxy.posts).toEqual([{ contentType: 'application/json', authorization: `Bearer ${token}`, ids }]);
    await context.close();
    await proxy.close();
  });

  it('sends and stores nothing while consent is withheld, not even on leaving the page', async () => {
    const context = await browser.newContext();
    const requests: string[] = [];
    context.on('request', (r) => {
      if (r.url().startsWith(`http://127.0.0.1:${ingestPort}`)) requests.push(r.url());
    });
    const page = await openShop(
      context,
      { endpoint: ingestUrl, batchSize: 1, flushIntervalMs: 100 },
      'no-consent.html',
    );
    await page.evaluate(() =>
      (window as unknown as PageGlobals).tracker.search({ query: 'private', results_count: 1 }),
    );
    await new Promise((r) => setTimeout(r, 500));
    const stored = await page.evaluate(() => Object.keys(localStorage));
    await page.goto(`${shopOrigin}/next.html?bundle=clickstream.min.js`);
    await new Promise((r) => setTimeout(r, 500));

    expect(stored).toEqual([]);
    expect(requests).toEqual([]);
    expect((await readLake()).filter((e) => e.page.url.includes('no-consent'))).toEqual([]);
    await context.close();
  });

  it('keeps client_id and session across a reload, and tracks page views of history navigation', async () => {
    const context = await browser.newContext();
    const config = { endpoint: ingestUrl, consent: 'granted' as const, batchSize: 1 };
    const page = await openShop(context, config, 'landing.html');
    await page.evaluate(() => history.pushState({}, '', '/spa/cart.html?bundle=clickstream.min.js'));
    const clientId = await page.evaluate(() => localStorage.getItem('clickstream.cid'));
    const pageViews = async () =>
      (await readLake()).filter((e) => e.event_name === 'page_view' && e.client_id === clientId);
    await expect.poll(async () => (await pageViews()).length, { timeout: 10_000, interval: 100 }).toBe(2);
    await page.reload();
    await initTracker(page, config);

    await expect.poll(async () => (await pageViews()).length, { timeout: 10_000, interval: 100 }).toBe(3);
    // A copy resent late would show up here.
    await new Promise((r) => setTimeout(r, 500));
    const views = await pageViews();
    expect(views).toHaveLength(3);
    views.sort((a, b) => (a.is_first_visit ? -1 : b.is_first_visit ? 1 : 0));
    const landing = `${shopOrigin}/landing.html?bundle=clickstream.min.js`;
    expect(views.map((v) => v.is_first_visit)).toEqual([true, false, false]);
    expect(new Set(views.map((v) => v.session_id)).size).toBe(1);
    expect(views[0]!.page.url).toBe(landing);
    const spa = views.slice(1).find((v) => v.page.referrer === landing);
    expect(spa?.page.url).toBe(`${shopOrigin}/spa/cart.html?bundle=clickstream.min.js`);
    expect(views.map((v) => v.properties)).toEqual([
      { page_type: 'other' },
      { page_type: 'other' },
      { page_type: 'other' },
    ]);
    await context.close();
  });

  it('the debug build reports invalid events on the console; the production bundle has no validators', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await page.goto(`${shopOrigin}/debug.html?bundle=clickstream.debug.js`);
    await initTracker(page, { endpoint: ingestUrl, consent: 'granted', autoPageView: false, batchSize: 1 });
    await page.evaluate(() => {
      const { tracker } = window as unknown as PageGlobals;
      tracker.search({ query: 'fine', results_count: 2 });
      // A plain-JS caller can bypass the types: the debug build catches it.
      tracker.track('search', 1, { query: 'no count' } as never);
    });
    await expect.poll(() => errors.length, { timeout: 15_000, interval: 100 }).toBe(1);
    expect(errors[0]).toContain('[clickstream] invalid search v1');

    const production = await readFile(bundles.full, 'utf8');
    expect(production).not.toContain('instancePath');
    expect((await readFile(bundles.debug, 'utf8')).includes('instancePath')).toBe(true);
    await context.close();
  });
});
