/**
 * The raw lake: gzipped JSON-lines objects keyed by UTC receive hour. One interface, two
 * implementations (filesystem for the embedded default, S3). Key layout lives here and only here.
 *
 *   events/YYYY/MM/DD/HH/<ulid>.jsonl.gz       accepted, enriched events (one object per write batch)
 *   quarantine/YYYY/MM/DD/HH/<ulid>.jsonl.gz   rejected input, each line { raw, errors, received_at }
 */

export type LakeArea = 'events' | 'quarantine';

export interface LakeObject {
  key: string;
  /** Content identity (S3 ETag, or a hash for files); the ETL ledger records it. */
  etag: string;
  size: number;
}

export interface RawStore {
  /** Stores one object durably; resolves only after the bytes are safe (PUT done / fsync). */
  put(key: string, body: Uint8Array): Promise<{ etag: string }>;
  get(key: string): Promise<Uint8Array>;
  /** Every object under `prefix`, in key order, following pagination to the end. */
  list(prefix: string): AsyncIterable<LakeObject>;
  /** Human-readable location, e.g. `file:///…/lake` or `s3://bucket/prefix`. */
  readonly url: string;
  /** Concurrent puts worth having (writers default to it): overlapping S3 round trips pays off. */
  readonly putConcurrency?: number;
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** `events/2026/11/26/04/` for a UTC instant. */
export function hourPrefix(area: LakeArea, at: Date): string {
  return `${area}/${at.getUTCFullYear()}/${pad(at.getUTCMonth() + 1)}/${pad(at.getUTCDate())}/${pad(at.getUTCHours())}/`;
}

/** Key of a new object written at `at`; ULIDs sort by time within the hour. */
export function objectKey(area: LakeArea, at: Date, ulid: string): string {
  return `${hourPrefix(area, at)}${ulid}.jsonl.gz`;
}

/** The UTC hour a key belongs to, or undefined for keys outside the layout. */
export function hourOfKey(key: string): Date | undefined {
  const m = /^(?:events|quarantine)\/(\d{4})\/(\d{2})\/(\d{2})\/(\d{2})\//.exec(key);
  if (!m) return undefined;
  return new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4])));
}
