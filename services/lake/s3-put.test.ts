/**
 * The SDK-free PutObject (s3-put.ts): against s3rver, and against a
 * real node:http server on loopback that records the request and answers what a test needs
 * (S3's throttling and error answers, a dropped connection — faults s3rver cannot be made to give).
 * s3rver does not verify signatures, so the signature is checked against an independent SigV4
 * computation from the AWS documentation's steps.
 */
import { createHash, createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type S3rverHandle, startS3rver } from '../testing/s3rver.ts';
import { encodeJsonl } from './jsonl.ts';
import { MAX_ATTEMPTS, S3PutError, SignedS3Put } from './s3-put.ts';
import { S3RawStore } from './s3-store.ts';

const PINNED = new Date('2026-11-26T12:00:00.000Z');
const CREDS = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
  sessionToken: 'tok/en+=',
};

interface Seen {
  method?: string;
  url?: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** A loopback server answering each request with the next of `answers` (the last repeats). */
async function recorder(answers: ((res: http.ServerResponse) => void)[]) {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks) });
      (answers[seen.length - 1] ?? answers[answers.length - 1]!)(res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    endpoint,
    seen,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const ok = (res: http.ServerResponse) => res.writeHead(200, { ETag: '"0123456789abcdef0123456789abcdef"' }).end();
const s3Error = (status: number, code: string) => (res: http.ServerResponse) =>
  res
    .writeHead(status, { 'Content-Type': 'application/xml' })
    .end(
      `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${code} happened</Message></Error>`,
    );

const putter = (endpoint: string) =>
  new SignedS3Put({
    endpoint,
    region: 'eu-west-1',
    credentials: async () => CREDS,
    now: () => PINNED,
    sleep: async () => {},
  });

/** SigV4 as the AWS documentation spells it, computed here independently of aws4fetch. */
function expectedSignature(seen: Seen, signedHeaders: string[]): string {
  const sha = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');
  const hmac = (k: string | Buffer, s: string) => createHmac('sha256', k).update(s).digest();
  const amzDate = String(seen.headers['x-amz-date']);
  const scope = `${amzDate.slice(0, 8)}/eu-west-1/s3/aws4_request`;
  const canonical = [
    'PUT',
    seen.url,
    '',
    ...signedHeaders.map((h) => `${h}:${String(seen.headers[h]).trim()}`),
    '',
    signedHeaders.join(';'),
    sha(seen.body),
  ].join('\n');
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha(canonical)].join('\n');
  let key = hmac(`AWS4${CREDS.secretAccessKey}`, amzDate.slice(0, 8));
  for (const part of ['eu-west-1', 's3', 'aws4_request']) key = hmac(key, part);
  return createHmac('sha256', key).update(toSign).digest('hex');
}

describe('signed PUT request shape', () => {
  it('signs with the credential scope, payload hash, date and session token', async () => {
    const server = await recorder([ok]);
    try {
      const body = encodeJsonl([{ a: 1 }]);
      const { etag } = await putter(server.endpoint).put('lake', 'raw/events/2026/11/26/12/01A.jsonl.gz', body, {
        'content-type': 'application/x-ndjson',
        'content-encoding': 'gzip',
      });
      expect(etag).toBe('0123456789abcdef0123456789abcdef');
      expect(server.seen).toHaveLength(1);
      const [req] = server.seen as [Seen];
      expect(req.method).toBe('PUT');
      expect(req.url).toBe('/lake/raw/events/2026/11/26/12/01A.jsonl.gz');
      expect(req.body.equals(Buffer.from(body))).toBe(true);
      expect(req.headers).toMatchObject({
        'content-type': 'application/x-ndjson',
        'content-encoding': 'gzip',
        'content-length': String(body.byteLength),
        'x-amz-date': '20261126T120000Z',
        'x-amz-content-sha256': createHash('sha256').update(body).digest('hex'),
        'x-amz-security-token': CREDS.sessionToken,
      });
      const signed = ['content-encoding', 'host', 'x-amz-content-sha256', 'x-amz-date', 'x-amz-security-token'];
      expect(req.headers.authorization).toBe(
        `AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261126/eu-west-1/s3/aws4_request, SignedHeaders=${signed.join(';')}, Signature=${expectedSignature(req, signed)}`,
      );
    } finally {
      await server.close();
    }
  });

  it('uses virtual-hosted URLs on AWS and encodes key segments', () => {
    const aws = new SignedS3Put({ region: 'eu-west-1', credentials: async () => CREDS });
    expect(aws.url('my-lake', 'raw/events/a b+c.jsonl.gz').href).toBe(
      'https://my-lake.s3.eu-west-1.amazonaws.com/raw/events/a%20b%2Bc.jsonl.gz',
    );
  });
});

describe('signed PUT retries and errors (as the SDK standard retry rule)', () => {
  it('retries throttling and 5xx answers, then succeeds', async () => {
    const server = await recorder([s3Error(503, 'SlowDown'), s3Error(500, 'InternalError'), ok]);
    try {
      await expect(putter(server.endpoint).put('lake', 'k', new Uint8Array([1]), {})).resolves.toEqual({
        etag: '0123456789abcdef0123456789abcdef',
      });
      expect(server.seen).toHaveLength(3);
    } finally {
      await server.close();
    }
  });

  it(`gives up after ${MAX_ATTEMPTS} attempts with S3's code and status`, async () => {
    const server = await recorder([s3Error(503, 'SlowDown')]);
    try {
      const err = await putter(server.endpoint)
        .put('lake', 'k', new Uint8Array([1]), {})
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(S3PutError);
      expect(err).toMatchObject({ name: 'SlowDown', message: 'SlowDown happened', $metadata: { httpStatusCode: 503 } });
      expect(server.seen).toHaveLength(MAX_ATTEMPTS);
    } finally {
      await server.close();
    }
  });

  it('does not retry a client error', async () => {
    const server = await recorder([s3Error(403, 'AccessDenied')]);
    try {
      await expect(putter(server.endpoint).put('lake', 'k', new Uint8Array([1]), {})).rejects.toMatchObject({
        name: 'AccessDenied',
        $metadata: { httpStatusCode: 403, attempts: 1 },
      });
      expect(server.seen).toHaveLength(1);
    } finally {
      await server.close();
    }
  });

  it('retries a connection dropped before the answer', async () => {
    const server = await recorder([(res) => res.socket?.destroy(), ok]);
    try {
      await expect(putter(server.endpoint).put('lake', 'k', new Uint8Array([1]), {})).resolves.toMatchObject({
        etag: '0123456789abcdef0123456789abcdef',
      });
      expect(server.seen).toHaveLength(2);
    } finally {
      await server.close();
    }
  });
});

describe('signed PUT against s3rver', () => {
  let s3: S3rverHandle;
  beforeAll(async () => {
    s3 = await startS3rver();
  });
  afterAll(() => s3.stop());

  it('stores the object with its headers; the SDK reads it back with the same ETag', async () => {
    const store = new S3RawStore({ bucket: s3.bucket, prefix: 'raw', endpoint: s3.endpoint });
    const body = encodeJsonl([{ a: 1 }, { b: 'ü' }]);
    const { etag } = await store.put('events/2026/11/26/12/01B.jsonl.gz', body);
    expect(etag).toBe(createHash('md5').update(body).digest('hex'));
    const client = new S3Client({
      region: 'us-east-1',
      endpoint: s3.endpoint,
      forcePathStyle: true,
      credentials: s3.credentials,
    });
    const got = await client.send(
      new GetObjectCommand({ Bucket: s3.bucket, Key: 'raw/events/2026/11/26/12/01B.jsonl.gz' }),
    );
    expect(got).toMatchObject({ ContentType: 'application/x-ndjson', ContentEncoding: 'gzip', ETag: `"${etag}"` });
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(Buffer.from(body))).toBe(true);
  });

  it('maps a missing bucket to NoSuchBucket', async () => {
    const store = new S3RawStore({ bucket: 'no-such-bucket', endpoint: s3.endpoint });
    await expect(store.put('events/x.jsonl.gz', new Uint8Array([1]))).rejects.toMatchObject({
      name: 'NoSuchBucket',
      $metadata: { httpStatusCode: 404 },
    });
  });
});
