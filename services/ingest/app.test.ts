import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FileRawStore } from '../lake/file-store.ts';
import { decodeJsonl } from '../lake/jsonl.ts';
import type { RawStore } from '../lake/raw-store.ts';
import { createLogger } from '../log.ts';
import { createIngestApp, type IngestAppDeps, parseOrigins } from './app.ts';
import { GUEST } from './core.ts';
import { createIdentityResolver } from './identity.ts';
import { LakeWriter } from './lake-writer.ts';
import { createRateLimiter } from './rate-limit.ts';
import { SAMPLE_TIME, sampleBatch, sampleEvent } from './sample-events.ts';

const ORIGIN = 'https://shop.example';
let dir: string;
let store: FileRawStore;
const logLines: string[] = [];
const logger = createLogger('info', (l) => logLines.push(l));

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'ingest-app-'));
  store = new FileRawStore(dir);
  logLines.length = 0;
});
afterEach(() => rm(dir, { recursive: true, force: true }));

function makeApp(overrides: Partial<IngestAppDeps> = {}) {
  return createIngestApp({
    writer: new LakeWriter(store),
    resolveIdentity: async () => ({ identity: GUEST }),
    logger,
    corsOrigins: [ORIGIN],
    // The samples' own clock: received 5 s after they were sent.
    now: () => new Date(SAMPLE_TIME.getTime() + 5000),
    ...overrides,
  });
}

async function lakeLines(s: RawStore, prefix: string): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  for await (const o of s.list(prefix)) for (const l of decodeJsonl(await s.get(o.key))) out.push(JSON.parse(l));
  return out;
}

const post = (body: BodyInit, headers: Record<string, string> = {}) => ({
  method: 'POST',
  body,
  headers: { 'content-type': 'application/json', ...headers },
});

describe('POST /clickstream', () => {
  it('stores accepted events and quarantines rejected ones before answering 200', async () => {
    const batch = sampleBatch(3);
    (batch.events[1]!.properties as Record<string, unknown>).nonsense = 1;
    const res = await makeApp().request('/clickstream', post(JSON.stringify(batch), { 'user-agent': 'UA/1.0' }));
    expect(res.status).toBe(200);
    const answer = await res.json();
    expect(answer).toEqual({
      accepted: 2,
      rejected: [
        {
          index: 1,
          event_id: batch.events[1]!.event_id,
          errors: [
            {
              path: '/properties/nonsense',
              rule: 'additionalProperties',
              message: 'must NOT have additional properties',
            },
          ],
        },
      ],
    });
    const events = await lakeLines(store, 'events/');
    expect(events.map((e) => e.event_id)).toEqual([batch.events[0]!.event_id, batch.events[2]!.event_id]);
    expect(events[0]).toMatchObject({ user_agent: 'UA/1.0', user_login_state: 'guest' });
    const quarantined = await lakeLines(store, 'quarantine/');
    expect(quarantined).toEqual([
      { raw: batch.events[1], errors: answer.rejected[0].errors, received_at: events[0]!.received_at },
    ]);
    expect(JSON.parse(logLines.at(-1)!)).toMatchObject({ msg: 'request', status: 200, accepted: 2, rejected: 1 });
  });

  it('accepts sendBeacon bodies (text/plain) and gzip-encoded bodies', async () => {
    const app = makeApp();
    const beacon = await app.request(
      '/clickstream',
      post(JSON.stringify(sampleBatch(1)), { 'content-type': 'text/plain;charset=UTF-8', origin: ORIGIN }),
    );
    expect(beacon.status).toBe(200);
    expect(beacon.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    const gz = await app.request(
      '/clickstream',
      post(gzipSync(JSON.stringify(sampleBatch(2))), { 'content-encoding': 'gzip' }),
    );
    expect(await gz.json()).toMatchObject({ accepted: 2 });
    expect(await lakeLines(store, 'events/')).toHaveLength(3);
  });

  it('answers CORS preflight for allowed origins only, and refuses posts from other origins', async () => {
    const app = makeApp();
    const preflight = (origin: string) =>
      app.request('/clickstream', {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
      });
    const ok = await preflight(ORIGIN);
    expect(ok.status).toBe(204);
    expect(ok.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(ok.headers.get('access-control-allow-methods')).toContain('POST');
    expect(ok.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('content-type');
    const evil = await preflight('https://evil.example');
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
    const res = await app.request(
      '/clickstream',
      post(JSON.stringify(sampleBatch(1)), { origin: 'https://evil.example' }),
    );
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ error: { code: 'origin_not_allowed' } });
    expect(await lakeLines(store, 'events/')).toEqual([]);
  });

  it('answers 503 and reports nothing accepted when the lake cannot be written', async () => {
    // A regular file where the lake root should be: every put fails for real (ENOTDIR).
    const root = path.join(dir, 'blocked');
    await writeFile(root, '');
    const app = makeApp({ writer: new LakeWriter(new FileRawStore(root)) });
    const responses = await Promise.all(
      [1, 2, 3].map(() => app.request('/clickstream', post(JSON.stringify(sampleBatch(2))))),
    );
    for (const res of responses) {
      expect(res.status).toBe(503);
      const body = await res.json();
      expect(body).toEqual({ error: { code: 'store_unavailable', message: expect.any(String) } });
      expect(body).not.toHaveProperty('accepted');
    }
    expect(await lakeLines(store, 'events/')).toEqual([]);
    expect(await lakeLines(store, 'quarantine/')).toEqual([]);
  });

  it('throttles a client over its per-minute limit with 429 and Retry-After', async () => {
    const app = makeApp({ rateLimiter: createRateLimiter(2), clientIp: () => '198.51.100.7' });
    const statuses: number[] = [];
    let last: Response | undefined;
    for (let i = 0; i < 3; i++) {
      last = await app.request('/clickstream', post(JSON.stringify(sampleBatch(1))));
      statuses.push(last.status);
    }
    expect(statuses).toEqual([200, 200, 429]);
    expect(Number(last!.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await last!.json()).toMatchObject({ error: { code: 'rate_limited' } });
  });

  it('exposes Retry-After to cross-origin pages, so the tracker can honour it', async () => {
    const app = makeApp({ rateLimiter: createRateLimiter(1), clientIp: () => '198.51.100.8' });
    await app.request('/clickstream', post(JSON.stringify(sampleBatch(1)), { origin: ORIGIN }));
    const res = await app.request('/clickstream', post(JSON.stringify(sampleBatch(1)), { origin: ORIGIN }));
    expect(res.status).toBe(429);
    expect(res.headers.get('access-control-expose-headers')).toContain('Retry-After');
  });

  it('logs the count of events the tracker reports it dropped', async () => {
    const app = makeApp();
    const res = await app.request('/clickstream', post(JSON.stringify({ ...sampleBatch(1), dropped: 7 })));
    expect(res.status).toBe(200);
    const entry = logLines.map((l) => JSON.parse(l)).find((l) => l.msg === 'request' && l.status === 200);
    expect(entry).toMatchObject({ tracker_dropped: 7 });
  });

  it('stores only the truncated client IP', async () => {
    const app = makeApp({ clientIp: () => '2001:db8:1234:5678:9abc:def0:1234:5678' });
    await app.request('/clickstream', post(JSON.stringify(sampleBatch(1))));
    const [event] = await lakeLines(store, 'events/');
    expect(event!.ip).toBe('2001:db8:1234::');
  });

  it('answers unknown routes with a JSON 404', async () => {
    const res = await makeApp().request('/nope');
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { code: 'not_found' } });
  });
});

describe('rejection detail in the answer', () => {
  it('is bounded: 500 invalid events in ~1 MB get a smaller answer with counts, the quarantine keeps all', async () => {
    // Each event fails many rules at once (ajv reports them all).
    const bad = (i: number) => ({
      ...sampleEvent('add_to_cart', { client_id: '', session_id: '' }),
      properties: Object.fromEntries(Array.from({ length: 20 }, (_, k) => [`unexpected_${k}_${'x'.repeat(60)}`, i])),
    });
    const body = JSON.stringify({
      sent_at: SAMPLE_TIME.toISOString(),
      events: Array.from({ length: 500 }, (_, i) => bad(i)),
    });
    expect(body.length).toBeGreaterThan(900_000);
    const res = await makeApp({
      limits: { maxBodyBytes: 2_000_000, maxEventBytes: 32_768, maxEventsPerRequest: 500 },
    }).request('/clickstream', post(body));
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text.length).toBeLessThan(body.length);
    const answer = JSON.parse(text);
    expect(answer).toMatchObject({ accepted: 0, rejected_count: 500 });
    expect(answer.rejected.length).toBeGreaterThan(0);
    expect(answer.rejected.length).toBeLessThanOrEqual(50);
    expect(answer.rejected[0]).toMatchObject({ index: 0, errors_count: expect.any(Number) });
    expect(answer.rejected[0].errors_count).toBeGreaterThan(5);
    expect(answer.rejected[0].errors).toHaveLength(5);
    expect(await lakeLines(store, 'quarantine/')).toHaveLength(500);
  });

  it('of a small request stays whole and carries no counts', async () => {
    const body = JSON.stringify({
      sent_at: SAMPLE_TIME.toISOString(),
      events: [sampleEvent('page_view', { client_id: '' })],
    });
    const answer = await (await makeApp().request('/clickstream', post(body))).json();
    expect(answer).toEqual({
      accepted: 0,
      rejected: [{ index: 0, event_id: expect.any(String), errors: [expect.objectContaining({ rule: 'minLength' })] }],
    });
  });
});

describe('identity from a verified JWT', () => {
  const ISSUER = 'https://auth.test.example';
  const AUDIENCE = 'tracker-client';
  let privateKey: KeyObject;
  let jwksDir: string;
  let resolveIdentity: IngestAppDeps['resolveIdentity'];

  // Tokens are issued and checked on a clock pinned in 2100: ahead of any real day the suite runs
  // on, so the verifier's own expiry check (which reads the real clock) never fires for them.
  const ISSUED_AT = Math.floor(Date.UTC(2100, 0, 1) / 1000);
  const receiveClock = () => new Date(ISSUED_AT * 1000);

  function token(claims: Record<string, unknown>, key: KeyObject = privateKey): string {
    const now = ISSUED_AT;
    const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const data = `${enc({ alg: 'RS256', kid: 'test-key', typ: 'JWT' })}.${enc({
      iss: ISSUER,
      aud: AUDIENCE,
      token_use: 'id',
      iat: now,
      exp: now + 600,
      ...claims,
    })}`;
    return `${data}.${sign('sha256', Buffer.from(data), key).toString('base64url')}`;
  }

  beforeAll(async () => {
    const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
    privateKey = pair.privateKey;
    jwksDir = await mkdtemp(path.join(os.tmpdir(), 'jwks-'));
    const jwksFile = path.join(jwksDir, 'jwks.json');
    const jwk = { ...pair.publicKey.export({ format: 'jwk' }), kid: 'test-key', alg: 'RS256', use: 'sig' };
    await writeFile(jwksFile, JSON.stringify({ keys: [jwk] }));
    resolveIdentity = await createIdentityResolver(
      {
        COGNITO_USER_POOL_ID: '',
        COGNITO_CLIENT_ID: AUDIENCE,
        JWT_ISSUER: ISSUER,
        JWKS_URI: pathToFileURL(jwksFile).href,
      },
      { now: receiveClock },
    );
  });
  afterAll(() => rm(jwksDir, { recursive: true, force: true }));

  async function send(authorization: string | undefined) {
    const batch = { sent_at: SAMPLE_TIME.toISOString(), events: [sampleEvent('login', { user_id: 'body-claim' })] };
    const res = await makeApp({ resolveIdentity }).request(
      '/clickstream',
      post(JSON.stringify(batch), authorization ? { authorization } : {}),
    );
    expect(res.status).toBe(200);
    const events = await lakeLines(store, 'events/');
    return { answer: await res.json(), event: events.find((e) => e.event_id === batch.events[0]!.event_id)! };
  }

  it('a valid token makes the events logged_in with the token sub', async () => {
    const { answer, event } = await send(`Bearer ${token({ sub: 'user-42' })}`);
    expect(answer).toMatchObject({ accepted: 1, token: { accepted: true } });
    expect(event).toMatchObject({ user_id: 'user-42', user_login_state: 'logged_in', identity_source: 'cognito' });
  });

  it('a federated sign-in keeps its provider as identity_source', async () => {
    const { event } = await send(`Bearer ${token({ sub: 'u-7', identities: [{ providerType: 'Google' }] })}`);
    expect(event).toMatchObject({ user_id: 'u-7', identity_source: 'google' });
  });

  it.each([
    ['expired', () => token({ sub: 'u', iat: 1_600_000_000, exp: 1_600_000_600 }), 'expired'],
    ['forged', () => token({ sub: 'u' }, generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey), 'invalid'],
    ['wrong audience', () => token({ sub: 'u', aud: 'someone-else' }), 'wrong_audience'],
    ['wrong issuer', () => token({ sub: 'u', iss: 'https://evil.example' }), 'wrong_issuer'],
    ['garbage', () => 'not.a.jwt', 'invalid'],
    // Only what a Cognito ID token carries identifies a user, whichever verifier mode is configured.
    ['access', () => token({ sub: 'u', token_use: 'access' }), 'not_an_id_token'],
    ['unmarked (no token_use)', () => token({ sub: 'u', token_use: undefined }), 'not_an_id_token'],
    ['unexpiring (no exp)', () => token({ sub: 'u', exp: undefined }), 'no_expiry'],
    ['undated (no iat)', () => token({ sub: 'u', iat: undefined }), 'no_issued_at'],
    ['issued-in-the-future', () => token({ sub: 'u', iat: ISSUED_AT + 3600 }), 'issued_in_future'],
    ['audience-less', () => token({ sub: 'u', aud: undefined }), 'wrong_audience'],
    ['issuer-less', () => token({ sub: 'u', iss: undefined }), 'wrong_issuer'],
    ['subject-less', () => token({}), 'no_subject'],
    ['over-long subject (129 code points)', () => token({ sub: '😀'.repeat(129) }), 'unstorable_subject'],
    ['NUL-subject', () => token({ sub: 'u\u0000' }), 'unstorable_subject'],
  ])('an %s token leaves the events guest and says why', async (_, make, reason) => {
    const { answer, event } = await send(`Bearer ${make()}`);
    expect(answer).toMatchObject({ accepted: 1, token: { accepted: false, reason } });
    expect(event).toMatchObject({ user_id: null, user_login_state: 'guest', identity_source: 'anonymous' });
  });

  it('a subject of 128 code points (256 UTF-16 units) is kept whole', async () => {
    const { event } = await send(`Bearer ${token({ sub: '😀'.repeat(128) })}`);
    expect(event).toMatchObject({ user_id: '😀'.repeat(128), user_login_state: 'logged_in' });
  });

  it('refuses to start verifying without an audience, or with half an issuer', async () => {
    const none = { COGNITO_USER_POOL_ID: '', COGNITO_CLIENT_ID: '', JWT_ISSUER: '', JWKS_URI: '' };
    await expect(createIdentityResolver({ ...none, JWT_ISSUER: ISSUER, JWKS_URI: 'file:///x' })).rejects.toThrow(
      /COGNITO_CLIENT_ID/,
    );
    await expect(createIdentityResolver({ ...none, COGNITO_USER_POOL_ID: 'eu-west-1_AbCdEfGhI' })).rejects.toThrow(
      /COGNITO_CLIENT_ID/,
    );
    await expect(createIdentityResolver({ ...none, JWT_ISSUER: ISSUER, COGNITO_CLIENT_ID: AUDIENCE })).rejects.toThrow(
      /JWKS_URI/,
    );
  });

  it('no token: guest, and the answer does not mention a token', async () => {
    const { answer, event } = await send(undefined);
    expect(answer).not.toHaveProperty('token');
    expect(event).toMatchObject({ user_id: null, user_login_state: 'guest' });
  });
});

describe('parseOrigins', () => {
  it('accepts exact origins and refuses * and paths', () => {
    expect(parseOrigins(' https://a.example, http://localhost:3000 ,')).toEqual([
      'https://a.example',
      'http://localhost:3000',
    ]);
    expect(() => parseOrigins('*')).toThrow(/CORS_ORIGINS/);
    expect(() => parseOrigins('https://a.example/path')).toThrow(/CORS_ORIGINS/);
  });
});
