/** Chooses the raw lake implementation from `LAKE_URL`: `file:///abs/path` or `s3://bucket[/prefix]`. */
import { fileURLToPath } from 'node:url';
import type { Config } from '../config.ts';
import { FileRawStore } from './file-store.ts';
import type { RawStore } from './raw-store.ts';
import { S3RawStore } from './s3-store.ts';

export function openRawStore(lakeUrl: string, opts: { s3Endpoint?: string; region?: string } = {}): RawStore {
  if (lakeUrl.startsWith('file:///')) return new FileRawStore(fileURLToPath(lakeUrl));
  const s3 = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(lakeUrl);
  if (s3) {
    return new S3RawStore({
      bucket: s3[1]!,
      prefix: s3[2] ?? '',
      endpoint: opts.s3Endpoint || undefined,
      region: opts.region,
    });
  }
  throw new Error(`LAKE_URL must be file:///abs/path or s3://bucket[/prefix], got ${JSON.stringify(lakeUrl)}`);
}

/** The configured lake: LAKE_URL, with S3_ENDPOINT and AWS_REGION for an s3:// one. */
export function openLake(config: Pick<Config, 'LAKE_URL' | 'S3_ENDPOINT' | 'AWS_REGION'>): RawStore {
  return openRawStore(config.LAKE_URL, { s3Endpoint: config.S3_ENDPOINT, region: config.AWS_REGION });
}
