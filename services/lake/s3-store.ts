/**
 * The raw lake on S3 (or any S3-compatible server via `endpoint`, path-style). A PUT that
 * resolved is durable by S3's guarantee. Listing follows ListObjectsV2 continuation tokens to the
 * end — the seed's ETL read only the first page (1000 keys) and silently lost the rest.
 */
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { LakeObject, RawStore } from './raw-store.ts';

export interface S3RawStoreOptions {
  bucket: string;
  /** Key prefix inside the bucket, without leading or trailing slash ('' for the bucket root). */
  prefix?: string;
  /** S3-compatible endpoint, e.g. `http://127.0.0.1:4569`; unset for AWS S3. */
  endpoint?: string;
  region?: string;
  client?: S3Client;
}

export class S3RawStore implements RawStore {
  readonly url: string;
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly keyPrefix: string;

  constructor(opts: S3RawStoreOptions) {
    this.bucket = opts.bucket;
    const prefix = (opts.prefix ?? '').replace(/^\/+|\/+$/g, '');
    this.keyPrefix = prefix ? `${prefix}/` : '';
    this.url = `s3://${opts.bucket}${prefix ? `/${prefix}` : ''}`;
    this.client =
      opts.client ??
      new S3Client({
        region: opts.region ?? 'us-east-1',
        ...(opts.endpoint ? { endpoint: opts.endpoint, forcePathStyle: true } : {}),
        // Checksums only where S3 requires them: S3-compatible servers reject the newer defaults.
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
      });
  }

  async put(key: string, body: Uint8Array): Promise<{ etag: string }> {
    const out = await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: this.keyPrefix + key,
        Body: body,
        ContentType: 'application/x-ndjson',
        ContentEncoding: 'gzip',
      }),
    );
    return { etag: unquote(out.ETag ?? '') };
  }

  async get(key: string): Promise<Uint8Array> {
    const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.keyPrefix + key }));
    if (!out.Body) throw new Error(`empty body for s3://${this.bucket}/${this.keyPrefix}${key}`);
    return out.Body.transformToByteArray();
  }

  async *list(prefix: string): AsyncIterable<LakeObject> {
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.keyPrefix + prefix, ContinuationToken: token }),
      );
      for (const o of page.Contents ?? []) {
        if (!o.Key) continue;
        yield { key: o.Key.slice(this.keyPrefix.length), etag: unquote(o.ETag ?? ''), size: o.Size ?? 0 };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }
}

/** S3 returns ETags in double quotes; the ledger stores the bare hash, like the file store's. */
function unquote(etag: string): string {
  return etag.replace(/^"|"$/g, '');
}
