/**
 * The lake's PutObject without the AWS SDK: a SigV4-signed request (sigv4.ts: node:crypto, the
 * headers and signature aws4fetch's `AwsV4Signer` gives, without its Fetch `Headers` and WebCrypto)
 * over node:http(s) with a keep-alive agent. Ingest's only S3 call is this PUT, and importing
 * `@aws-sdk/client-s3` cost ≈ 250 ms of a Lambda cold start and several ms of CPU per PUT;
 * listing and reading (the ETL) keep the SDK (s3-store.ts).
 *
 * Same behaviour as the SDK's PutObject as we configured it: up to 3 attempts with the SDK's
 * "standard" retry rule (network errors, 5xx, 429 and S3's throttling codes; backoff a random
 * share of 100 ms × 2^attempt, 500 ms base when throttled, capped at 20 s), and the error S3
 * returns thrown with its code as `name` and its message (`$metadata.httpStatusCode` as the SDK
 * does). One deliberate addition: an attempt whose socket is idle for 30 s fails (retryable),
 * where the SDK would wait forever.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { signS3Request } from './sigv4.ts';

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface SignedPutOptions {
  /** S3-compatible endpoint (path-style URLs), or unset for AWS S3 (virtual-hosted URLs). */
  endpoint?: string;
  region: string;
  credentials: () => Promise<S3Credentials>;
  /** Clock for the signature's date (tests pin it); S3 refuses requests 15 min off its clock. */
  now?: () => Date;
  /** Sleep between attempts (tests shorten it). */
  sleep?: (ms: number) => Promise<void>;
}

/** An error answered by S3 (or the network), shaped like the SDK's service exceptions. */
export class S3PutError extends Error {
  readonly $metadata: { httpStatusCode?: number; attempts: number };
  constructor(name: string, message: string, status: number | undefined, attempts: number, options?: ErrorOptions) {
    super(message, options);
    this.name = name;
    this.$metadata = { httpStatusCode: status, attempts };
  }
}

export const MAX_ATTEMPTS = 3;
export const SOCKET_IDLE_TIMEOUT_MS = 30_000;
const THROTTLING_CODES = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottledException',
  'TooManyRequestsException',
  'ProvisionedThroughputExceededException',
  'TransactionInProgressException',
  'RequestLimitExceeded',
  'BandwidthLimitExceeded',
  'LimitExceededException',
  'RequestThrottled',
  'SlowDown',
  'PriorRequestNotComplete',
  'EC2ThrottledException',
]);
const TRANSIENT_CODES = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException']);
const TRANSIENT_STATUS = new Set([500, 502, 503, 504]);
const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'TimeoutError']);

const agents = { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) };

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export class SignedS3Put {
  /** Derived signing keys by (secret, date, region, service): one HMAC chain per day, not per PUT. */
  private readonly keyCache = new Map<string, Buffer>();

  constructor(private readonly opts: SignedPutOptions) {}

  /** The object's URL: path-style on an endpoint, virtual-hosted on AWS. */
  url(bucket: string, key: string): URL {
    const path = key.split('/').map(encodeURIComponent).join('/');
    return this.opts.endpoint
      ? new URL(`${this.opts.endpoint.replace(/\/+$/, '')}/${bucket}/${path}`)
      : new URL(`https://${bucket}.s3.${this.opts.region}.amazonaws.com/${path}`);
  }

  /** The signed request (method, URL, headers) for one attempt. */
  async sign(bucket: string, key: string, body: Uint8Array, headers: Record<string, string>) {
    const creds = await this.opts.credentials();
    const datetime = (this.opts.now?.() ?? new Date()).toISOString().replace(/[:-]|\.\d{3}/g, '');
    const url = this.url(bucket, key);
    const out = signS3Request({
      method: 'PUT',
      url,
      headers,
      payloadHash: createHash('sha256').update(body).digest('hex'),
      credentials: creds,
      region: this.opts.region,
      datetime,
      cache: this.keyCache,
    });
    out['content-length'] = String(body.byteLength);
    return { url, headers: out };
  }

  /** PUTs the object; resolves with S3's ETag (quotes removed) once S3 answered 200. */
  async put(bucket: string, key: string, body: Uint8Array, headers: Record<string, string>): Promise<{ etag: string }> {
    const sleep = this.opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    for (let attempt = 1; ; attempt++) {
      let error: S3PutError;
      try {
        const req = await this.sign(bucket, key, body, headers);
        const answer = await send(req.url, req.headers, body);
        if (answer.status >= 200 && answer.status < 300) {
          return { etag: String(answer.headers.etag ?? '').replace(/^"|"$/g, '') };
        }
        const code = /<Code>([^<]*)<\/Code>/.exec(answer.body)?.[1] ?? `Http${answer.status}`;
        const message = /<Message>([^<]*)<\/Message>/.exec(answer.body)?.[1] ?? `S3 answered ${answer.status}`;
        error = new S3PutError(code, message, answer.status, attempt);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? '';
        // Anything but the network (a signing or credentials failure) is not worth a retry.
        if (!NETWORK_CODES.has(code)) throw err;
        error = new S3PutError(code, (err as Error).message, undefined, attempt, { cause: err });
      }
      const status = error.$metadata.httpStatusCode;
      const throttled = status === 429 || THROTTLING_CODES.has(error.name);
      const transient = status === undefined || TRANSIENT_STATUS.has(status) || TRANSIENT_CODES.has(error.name);
      if ((!throttled && !transient) || attempt >= MAX_ATTEMPTS) throw error;
      await sleep(Math.floor(Math.min(20_000, Math.random() * 2 ** attempt * (throttled ? 500 : 100))));
    }
  }
}

function send(url: URL, headers: Record<string, string>, body: Uint8Array): Promise<Answer> {
  const https_ = url.protocol === 'https:';
  return new Promise((resolve, reject) => {
    const req = (https_ ? https : http).request(url, {
      method: 'PUT',
      headers,
      agent: https_ ? agents.https : agents.http,
    });
    req.setTimeout(SOCKET_IDLE_TIMEOUT_MS, () => {
      const err = Object.assign(new Error(`no progress on the PUT for ${SOCKET_IDLE_TIMEOUT_MS} ms`), {
        code: 'TimeoutError',
      });
      req.destroy(err);
    });
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
      );
    });
    req.end(body);
  });
}

/** Credentials from the environment, as Lambda provides them (and as tests set them for s3rver). */
export function environmentCredentials(env: NodeJS.ProcessEnv = process.env): S3Credentials | undefined {
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey) return undefined;
  return { accessKeyId, secretAccessKey, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) };
}
