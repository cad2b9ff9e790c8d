/**
 * The raw lake on S3 (or any S3-compatible server via `endpoint`, path-style). A PUT that
 * resolved is durable by S3's guarantee. Listing follows ListObjectsV2 continuation tokens to the
 * end — the seed's ETL read only the first page (1000 keys) and silently lost the rest.
 * PUT (ingest's only call) is a SigV4-signed request without the SDK (s3-put.ts), with the
 * environment's credentials (Lambda's, or AWS_ACCESS_KEY_ID/… locally); without them it asks the
 * SDK's default credential chain. Get and list use the SDK, imported on first use: importing
 * @aws-sdk/client-s3 takes ~250 ms, which the ingest Lambda's cold start should not pay.
 * Metadata is S3 user metadata: the registry hash is `x-amz-meta-registry-hash`.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { LakeObject, ObjectMetadata, RawStore } from './raw-store.ts';
import { environmentCredentials, SignedS3Put } from './s3-put.ts';

export interface S3RawStoreOptions {
  bucket: string;
  /** Key prefix inside the bucket, without leading or trailing slash ('' for the bucket root). */
  prefix?: string;
  /** S3-compatible endpoint, e.g. `http://127.0.0.1:4569`; unset for AWS S3. */
  endpoint?: string;
  region?: string;
  client?: S3Client;
  /** Clock of the PUT signatures (tests pin it). */
  now?: () => Date;
}

export class S3RawStore implements RawStore {
  readonly url: string;
  private readonly bucket: string;
  private readonly keyPrefix: string;
  private sdk: Promise<{ sdk: typeof import('@aws-sdk/client-s3'); client: S3Client }> | undefined;
  private readonly putter: SignedS3Put;

  constructor(private readonly opts: S3RawStoreOptions) {
    this.bucket = opts.bucket;
    const prefix = (opts.prefix ?? '').replace(/^\/+|\/+$/g, '');
    this.keyPrefix = prefix ? `${prefix}/` : '';
    this.url = `s3://${opts.bucket}${prefix ? `/${prefix}` : ''}`;
    const fromEnv = environmentCredentials();
    this.putter = new SignedS3Put({
      endpoint: opts.endpoint,
      region: opts.region ?? 'us-east-1',
      now: opts.now,
      credentials: fromEnv
        ? async () => fromEnv
        : async () => {
            const { client } = await this.connect();
            return client.config.credentials();
          },
    });
  }

  /** The SDK module and the client, both created once on first use. */
  private connect() {
    this.sdk ??= import('@aws-sdk/client-s3').then((sdk) => ({
      sdk,
      client:
        this.opts.client ??
        new sdk.S3Client({
          region: this.opts.region ?? 'us-east-1',
          ...(this.opts.endpoint ? { endpoint: this.opts.endpoint, forcePathStyle: true } : {}),
          // Checksums only where S3 requires them: S3-compatible servers reject the newer defaults.
          requestChecksumCalculation: 'WHEN_REQUIRED',
          responseChecksumValidation: 'WHEN_REQUIRED',
        }),
    }));
    return this.sdk;
  }

  put(key: string, body: Uint8Array, metadata?: ObjectMetadata): Promise<{ etag: string }> {
    return this.putter.put(this.bucket, this.keyPrefix + key, body, {
      'content-type': 'application/x-ndjson',
      'content-encoding': 'gzip',
      ...(metadata?.registryHash ? { [REGISTRY_HASH_HEADER]: metadata.registryHash } : {}),
    });
  }

  async get(key: string): Promise<Uint8Array> {
    return (await this.getWithMetadata(key)).body;
  }

  async getWithMetadata(key: string): Promise<{ body: Uint8Array; metadata: ObjectMetadata }> {
    const { sdk, client } = await this.connect();
    const out = await client.send(new sdk.GetObjectCommand({ Bucket: this.bucket, Key: this.keyPrefix + key }));
    if (!out.Body) throw new Error(`empty body for s3://${this.bucket}/${this.keyPrefix}${key}`);
    const hash = out.Metadata?.[REGISTRY_HASH_HEADER.slice('x-amz-meta-'.length)];
    return { body: await out.Body.transformToByteArray(), metadata: hash ? { registryHash: hash } : {} };
  }

  async delete(key: string): Promise<void> {
    const { sdk, client } = await this.connect();
    await client.send(new sdk.DeleteObjectCommand({ Bucket: this.bucket, Key: this.keyPrefix + key }));
  }

  async *list(prefix: string): AsyncIterable<LakeObject> {
    const { sdk, client } = await this.connect();
    let token: string | undefined;
    do {
      const page = await client.send(
        new sdk.ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: this.keyPrefix + prefix,
          ContinuationToken: token,
        }),
      );
      for (const o of page.Contents ?? []) {
        if (!o.Key) continue;
        yield { key: o.Key.slice(this.keyPrefix.length), etag: unquote(o.ETag ?? ''), size: o.Size ?? 0 };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }
}

const REGISTRY_HASH_HEADER = 'x-amz-meta-registry-hash';

/** S3 returns ETags in double quotes; the ledger stores the bare hash, like the file store's. */
function unquote(etag: string): string {
  return etag.replace(/^"|"$/g, '');
}
