/**
 * The Lambda handler, fed API Gateway HTTP API (payload 2.0) events as API Gateway delivers them
 * (fixtures/apigw-v2: a sendBeacon text/plain post, a base64 gzip JSON post, a CORS preflight, a
 * wrong content type), writing to a real S3 API (s3rver) — the deployed shape minus AWS.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJsonl } from '../lake/jsonl.ts';
import { S3RawStore } from '../lake/s3-store.ts';
import { type S3rverHandle, startS3rver } from '../testing/s3rver.ts';

type LambdaResult = { statusCode: number; body: string; headers: Record<string, string> };
type Handler = (event: unknown, context: unknown) => Promise<LambdaResult>;

const fixture = (name: string) =>
  JSON.parse(readFileSync(path.join(import.meta.dirname, 'fixtures/apigw-v2', `${name}.json`), 'utf8'));
const lambdaContext = {
  functionName: 'clickstream-ingest',
  awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
  getRemainingTimeInMillis: () => 10_000,
};

let s3: S3rverHandle;
let handler: Handler;
let store: S3RawStore;
const stdout: string[] = [];

/** Runs `fn` while collecting what the handler prints (logs and EMF lines go to stdout). */
async function capture<T>(fn: () => Promise<T>): Promise<T> {
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array) => {
    stdout.push(...String(chunk).split('\n').filter(Boolean));
    return true;
  }) as typeof process.stdout.write;
  try {
    return await fn();
  } finally {
    process.stdout.write = write;
  }
}

async function lake(prefix: string): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  for await (const o of store.list(prefix))
    for (const l of decodeJsonl(await store.get(o.key))) out.push(JSON.parse(l));
  return out;
}

beforeAll(async () => {
  s3 = await startS3rver('clickstream-raw');
  Object.assign(process.env, {
    LAKE_URL: `s3://${s3.bucket}/raw`,
    S3_ENDPOINT: s3.endpoint,
    CORS_ORIGINS: 'https://shop.example',
  });
  ({ handler } = (await import('./lambda.ts')) as unknown as { handler: Handler });
  store = new S3RawStore({ bucket: s3.bucket, prefix: 'raw', endpoint: s3.endpoint });
});
afterAll(() => s3?.stop());

describe('Lambda adapter (API Gateway HTTP API v2)', () => {
  it('stores a sendBeacon text/plain batch in S3, quarantines the invalid event, emits EMF counters', async () => {
    stdout.length = 0;
    const res = await capture(() => handler(fixture('post-beacon-text-plain'), lambdaContext));
    expect(res.statusCode).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBe('https://shop.example');
    expect(JSON.parse(res.body)).toEqual({
      accepted: 1,
      rejected: [
        {
          index: 1,
          event_id: '7a2e4d3b-0c9f-4a8b-9d7e-6f5a4b3c2d1e',
          errors: [{ path: '/properties/quantity', rule: 'minimum', message: 'must be >= 1' }],
        },
      ],
    });
    const [stored] = await lake('events/');
    expect(stored).toMatchObject({
      event_id: '6f1d3c2a-9b8e-4f7a-8c6d-5e4f3a2b1c0d',
      client_event_timestamp: '2026-11-20T09:14:58.120Z',
      ip: '203.0.113.0',
      user_login_state: 'guest',
    });
    // Skew-corrected: 4.29 s before the server received the request (sent_at − event_timestamp).
    expect(Date.parse(stored!.received_at as string) - Date.parse(stored!.event_timestamp as string)).toBe(4290);
    expect(await lake('quarantine/')).toEqual([
      expect.objectContaining({ raw: expect.objectContaining({ event_id: '7a2e4d3b-0c9f-4a8b-9d7e-6f5a4b3c2d1e' }) }),
    ]);
    const emf = stdout.map((l) => JSON.parse(l)).filter((l) => l._aws);
    expect(emf.map((m) => [m.EventName, m.Accepted, m.Rejected]).sort()).toEqual([
      ['add_to_cart', 0, 1],
      ['product_view', 1, 0],
    ]);
    expect(emf[0]._aws.CloudWatchMetrics[0]).toMatchObject({
      Namespace: 'Clickstream/Ingest',
      Dimensions: [['EventName']],
    });
  });

  it('decodes a base64 gzip JSON body', async () => {
    const res = await handler(fixture('post-json-gzip-base64'), lambdaContext);
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ accepted: 2, rejected: [] });
    const ids = (await lake('events/')).map((e) => e.event_id);
    expect(ids).toEqual(
      expect.arrayContaining(['8b3f5e4c-1d0a-4b9c-8e8f-7a6b5c4d3e2f', '9c4a6f5d-2e1b-4cad-9f90-8b7c6d5e4f3a']),
    );
  });

  it('answers the CORS preflight', async () => {
    const res = await handler(fixture('options-preflight'), lambdaContext);
    expect(res.statusCode).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe('https://shop.example');
    expect(res.headers['access-control-allow-methods']).toContain('POST');
  });

  it('refuses a wrong content type with 415', async () => {
    const res = await handler(fixture('post-wrong-content-type'), lambdaContext);
    expect(res.statusCode).toBe(415);
    expect(JSON.parse(res.body)).toMatchObject({ error: { code: 'unsupported_media_type' } });
  });

  it('answers 503 when S3 is unreachable', async () => {
    await s3.stop();
    const res = await capture(() => handler(fixture('post-json-gzip-base64'), lambdaContext));
    expect(res.statusCode).toBe(503);
    expect(JSON.parse(res.body)).toMatchObject({ error: { code: 'store_unavailable' } });
  });
});
