/**
 * AWS Signature Version 4 for one S3 request with a precomputed payload hash, over node:crypto:
 * the same headers and signature as aws4fetch's `AwsV4Signer` (sigv4.test.ts compares them on
 * generated requests), without what that class builds on — the Fetch API's `Headers` (undici,
 * ≈ 30 ms of a Lambda cold start to load) and WebCrypto (`crypto.subtle`).
 *
 *   signS3Request({ method, url, headers, payloadHash, credentials, region, datetime, cache })
 *     → the headers to send: the given ones (names lower-case) plus x-amz-content-sha256,
 *       x-amz-date, x-amz-security-token (with a session token) and authorization
 */
import { createHash, createHmac } from 'node:crypto';

export interface SigV4Request {
  method: string;
  url: URL;
  headers: Record<string, string>;
  /** Hex SHA-256 of the body (sent as x-amz-content-sha256). */
  payloadHash: string;
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  region: string;
  /** `YYYYMMDDTHHMMSSZ`. */
  datetime: string;
  /** Derived signing keys by (secret, date, region): one HMAC chain per day, not per request. */
  cache?: Map<string, Buffer>;
}

const SERVICE = 's3';
/** Headers aws4fetch leaves out of the signature (proxies and clients may change them). */
const UNSIGNABLE = new Set([
  'authorization',
  'content-type',
  'content-length',
  'user-agent',
  'presigned-expires',
  'expect',
  'x-amzn-trace-id',
  'range',
  'connection',
]);

/** A header value as `Headers` keeps it: leading and trailing HTTP whitespace removed. */
const httpTrim = (value: string) => value.replace(/^[\t\n\r ]+|[\t\n\r ]+$/g, '');

const sha256 = (data: string) => createHash('sha256').update(data, 'utf8').digest('hex');
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();

/** RFC 3986 unreserved set: encodeURIComponent leaves !'()* as they are, SigV4 does not. */
const rfc3986 = (s: string) => s.replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** S3's canonical URI: the path decoded once and encoded once (aws4fetch's rule for s3). */
function canonicalPath(url: URL): string {
  let decoded: string;
  try {
    decoded = decodeURIComponent(url.pathname.replace(/\+/g, ' '));
  } catch {
    decoded = url.pathname;
  }
  return rfc3986(encodeURIComponent(decoded).replace(/%2F/g, '/'));
}

/** The query as SigV4 sorts it; S3 keeps only the first of repeated keys (as aws4fetch). */
function canonicalQuery(url: URL): string {
  const seen = new Set<string>();
  return [...url.searchParams]
    .filter(([k]) => {
      if (!k || seen.has(k)) return false;
      seen.add(k);
      return true;
    })
    .map((pair) => pair.map((p) => rfc3986(encodeURIComponent(p))))
    .sort(([k1, v1], [k2, v2]) => (k1! < k2! ? -1 : k1! > k2! ? 1 : v1! < v2! ? -1 : v1! > v2! ? 1 : 0))
    .map((pair) => pair.join('='))
    .join('&');
}

export function signS3Request(req: SigV4Request): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    const key = name.toLowerCase();
    if (key !== 'host') headers[key] = httpTrim(value);
  }
  headers['x-amz-content-sha256'] = req.payloadHash;
  headers['x-amz-date'] = req.datetime;
  if (req.credentials.sessionToken) headers['x-amz-security-token'] = httpTrim(req.credentials.sessionToken);

  const signable = ['host', ...Object.keys(headers).filter((h) => !UNSIGNABLE.has(h))].sort();
  const signedHeaders = signable.join(';');
  const canonicalHeaders = signable
    .map((h) => `${h}:${h === 'host' ? req.url.host : headers[h]!.replace(/\s+/g, ' ')}`)
    .join('\n');
  const date = req.datetime.slice(0, 8);
  const scope = `${date}/${req.region}/${SERVICE}/aws4_request`;
  const canonical = [
    req.method.toUpperCase(),
    canonicalPath(req.url),
    canonicalQuery(req.url),
    `${canonicalHeaders}\n`,
    signedHeaders,
    req.payloadHash,
  ].join('\n');
  const toSign = ['AWS4-HMAC-SHA256', req.datetime, scope, sha256(canonical)].join('\n');

  const cacheKey = [req.credentials.secretAccessKey, date, req.region, SERVICE].join();
  let key = req.cache?.get(cacheKey);
  if (!key) {
    key = hmac(hmac(hmac(hmac(`AWS4${req.credentials.secretAccessKey}`, date), req.region), SERVICE), 'aws4_request');
    req.cache?.set(cacheKey, key);
  }
  const signature = createHmac('sha256', key).update(toSign, 'utf8').digest('hex');
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${req.credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
  return headers;
}
