/**
 * sigv4.ts signs exactly as aws4fetch's AwsV4Signer (the library the lake PUT used before): same
 * headers, same Authorization, on generated requests — keys with characters that need encoding,
 * extra and unsignable headers, with and without a session token, any region and date.
 */
import { AwsV4Signer } from 'aws4fetch';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SignedS3Put } from './s3-put.ts';
import { signS3Request } from './sigv4.ts';

async function viaAws4fetch(input: Parameters<typeof signS3Request>[0]): Promise<Record<string, string>> {
  const signer = new AwsV4Signer({
    method: input.method,
    url: input.url.href,
    headers: { ...input.headers, 'x-amz-content-sha256': input.payloadHash },
    accessKeyId: input.credentials.accessKeyId,
    secretAccessKey: input.credentials.secretAccessKey,
    sessionToken: input.credentials.sessionToken,
    service: 's3',
    region: input.region,
    datetime: input.datetime,
  });
  const out: Record<string, string> = {};
  (await signer.sign()).headers.forEach((value, name) => {
    out[name] = value;
  });
  return out;
}

describe('signS3Request', () => {
  it('gives the headers and signature aws4fetch gives', async () => {
    const segment = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }).filter((s) => !s.includes('/'));
    const request = fc.record({
      key: fc.array(segment, { minLength: 1, maxLength: 4 }).map((parts) => parts.join('/')),
      bucket: fc.constantFrom('lake', 'my-lake.example', 'a1'),
      endpoint: fc.option(fc.constantFrom('http://127.0.0.1:4568', 'https://minio.local:9000/'), { nil: undefined }),
      region: fc.constantFrom('eu-west-1', 'us-east-1', 'ap-southeast-2'),
      headers: fc.dictionary(
        fc.constantFrom(
          'content-type',
          'Content-Encoding',
          'x-amz-meta-registry',
          'cache-control',
          'user-agent',
          'X-Amz-Acl',
        ),
        fc.string({ unit: fc.constantFrom('a', 'B', '1', ' ', '\t', '/', '=', ';', 'x'), maxLength: 20 }),
      ),
      sessionToken: fc.option(fc.string({ minLength: 1, maxLength: 30 }), { nil: undefined }),
      secret: fc.string({ minLength: 1, maxLength: 40 }),
      instant: fc.date({
        min: new Date('2000-01-01T00:00:00Z'),
        max: new Date('2099-12-31T23:59:59Z'),
        noInvalidDate: true,
      }),
      payloadHash: fc.stringMatching(/^[0-9a-f]{64}$/),
    });
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const put = new SignedS3Put({
          endpoint: r.endpoint,
          region: r.region,
          credentials: async () => ({ accessKeyId: 'AKID', secretAccessKey: r.secret }),
        });
        const input = {
          method: 'PUT',
          url: put.url(r.bucket, r.key),
          headers: r.headers,
          payloadHash: r.payloadHash,
          credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: r.secret, sessionToken: r.sessionToken },
          region: r.region,
          datetime: r.instant.toISOString().replace(/[:-]|\.\d{3}/g, ''),
        };
        expect(signS3Request({ ...input, cache: new Map() })).toEqual(await viaAws4fetch(input));
      }),
      { seed: 20261201, numRuns: 300 },
    );
  });

  it('reuses the derived key of the day and region', () => {
    const cache = new Map<string, Buffer>();
    const input = {
      method: 'PUT',
      url: new URL('https://lake.s3.eu-west-1.amazonaws.com/raw/a.jsonl.gz'),
      headers: {},
      payloadHash: '0'.repeat(64),
      credentials: { accessKeyId: 'AKID', secretAccessKey: 'secret' },
      region: 'eu-west-1',
      datetime: '20261126T120000Z',
      cache,
    };
    const first = signS3Request(input);
    expect(cache.size).toBe(1);
    expect(signS3Request(input)).toEqual(first);
    signS3Request({ ...input, datetime: '20261127T000000Z' });
    expect(cache.size).toBe(2);
  });
});
