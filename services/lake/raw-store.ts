/**
 * The raw lake: gzipped JSON-lines objects keyed by UTC receive hour. One interface, two
 * implementations (filesystem for the embedded default, S3). Key layout lives here and only here.
 *
 *   events/YYYY/MM/DD/HH/<ulid>.jsonl.gz       accepted, enriched events (one object per write batch)
 *   quarantine/YYYY/MM/DD/HH/<ulid>.jsonl.gz   rejected input, each line { raw, errors, received_at }
 *   replayed/YYYY/MM/DD/HH/<ulid>.jsonl.gz     which lines of the quarantine object of the same
 *                                              name `quarantine replay` wrote back to events/
 *
 * An object may carry metadata (ObjectMetadata) beside its bytes: on S3 as user metadata
 * (`x-amz-meta-registry-hash`), in a folder lake in the object's gzip header (its FCOMMENT field,
 * `registry-hash=<hex>`, file-store.ts), so it is renamed into place with the bytes it describes
 * and nothing beside the object can be mistaken for one.
 */

export type LakeArea = 'events' | 'quarantine';

export interface LakeObject {
  key: string;
  /** Content identity (S3 ETag, or a hash for files); the ETL ledger records it. */
  etag: string;
  size: number;
}

/** A listed entry that is not an object of the lake, and why (the ETL records it as skipped). */
export interface SkippedEntry {
  /** The key as well as it can be spelled (invalid UTF-8 bytes of a name become U+FFFD). */
  key: string;
  reason: 'not_a_regular_file' | 'invalid_utf8_name';
  detail?: string;
}

/** What a writer records with an object besides its bytes. */
export interface ObjectMetadata {
  /**
   * REGISTRY_HASH (generated/registry-hash.ts) of the ingest that validated every line of the
   * object before writing it; the ETL of the same hash does not validate them again.
   */
  registryHash?: string;
}

export interface RawStore {
  /**
   * Stores one object durably; resolves only after the bytes are safe (PUT done / fsync).
   * `metadata` is kept with the object (a folder lake needs a gzip body for it).
   */
  put(key: string, body: Uint8Array, metadata?: ObjectMetadata): Promise<{ etag: string }>;
  get(key: string): Promise<Uint8Array>;
  /**
   * The object and the metadata its writer stored (`{}` for none). Optional: a store without it
   * (a test's wrapper) reads as objects without metadata, which the ETL validates in full.
   */
  getWithMetadata?(key: string): Promise<{ body: Uint8Array; metadata: ObjectMetadata }>;
  /** Removes an object (retention, erasure); a key that does not exist is not an error. */
  delete(key: string): Promise<void>;
  /**
   * Every object under `prefix`, in key order, following pagination to the end. Entries that
   * cannot be objects (a symlink in a folder lake, a file name that is not UTF-8) are not listed
   * but reported to `onSkipped`.
   */
  list(prefix: string, onSkipped?: (entry: SkippedEntry) => void): AsyncIterable<LakeObject>;
  /** Human-readable location, e.g. `file:///…/lake` or `s3://bucket/prefix`. */
  readonly url: string;
  /** Concurrent puts worth having (writers default to it): overlapping S3 round trips pays off. */
  readonly putConcurrency?: number;
}

/** `store.getWithMetadata(key)`, or the body without metadata from a store that keeps none. */
export async function getWithMetadata(
  store: RawStore,
  key: string,
): Promise<{ body: Uint8Array; metadata: ObjectMetadata }> {
  return store.getWithMetadata ? store.getWithMetadata(key) : { body: await store.get(key), metadata: {} };
}

/** Every top-level folder of the lake; `replayed/` mirrors the quarantine layout. */
export type LakeFolder = LakeArea | 'replayed';

const pad = (n: number) => String(n).padStart(2, '0');

/** `events/2026/11/26/` for a UTC instant: every object of its UTC day. */
export function dayPrefix(folder: LakeFolder, at: Date): string {
  return `${folder}/${at.getUTCFullYear()}/${pad(at.getUTCMonth() + 1)}/${pad(at.getUTCDate())}/`;
}

/** `events/2026/11/26/04/` for a UTC instant. */
export function hourPrefix(folder: LakeFolder, at: Date): string {
  return `${dayPrefix(folder, at)}${pad(at.getUTCHours())}/`;
}

/** Key of a new object written at `at`; ULIDs sort by time within the hour. */
export function objectKey(area: LakeArea, at: Date, ulid: string): string {
  return `${hourPrefix(area, at)}${ulid}.jsonl.gz`;
}

const KEY_LAYOUT = /^(events|quarantine)\/(\d{4})\/(\d{2})\/(\d{2})\/(\d{2})\/[^/]+\.jsonl\.gz$/;

/**
 * The UTC hour of a key in the layout (`<area>/YYYY/MM/DD/HH/<name>.jsonl.gz`, a real date and
 * hour), or undefined for any other key (`events/0000-stray.jsonl.gz`, `events/2026/13/01/00/x`).
 */
export function hourOfKey(key: string): Date | undefined {
  const m = KEY_LAYOUT.exec(key);
  if (!m) return undefined;
  const hour = new Date(0);
  hour.setUTCFullYear(Number(m[2]), Number(m[3]) - 1, Number(m[4]));
  hour.setUTCHours(Number(m[5]));
  // Date rolls 2026-02-31 over to March: only a key that spells its own hour is in the layout.
  return key.startsWith(hourPrefix(m[1] as LakeArea, hour)) ? hour : undefined;
}

/** The key of the replay record of a quarantine object (`replayed/…/<name>.jsonl.gz`, one line). */
export function replayRecordKey(quarantineKey: string): string {
  if (!quarantineKey.startsWith('quarantine/') || !quarantineKey.endsWith('.jsonl.gz')) {
    throw new Error(`not a quarantine object key: ${quarantineKey}`);
  }
  return `replayed/${quarantineKey.slice('quarantine/'.length)}`;
}
