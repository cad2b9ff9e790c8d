/**
 * Loading batches of lake objects: groups pending objects into batches by compressed bytes and
 * pipelines them — while batch k is COPYed by the database, the next batches are fetched, gunzipped
 * (object-lines.ts) and parsed here. Lines that cannot load go to the lake's quarantine/ area in
 * an `etl-<name>` object named after their source object; each batch's rows, ledger rows and
 * dirty-day marks commit in one transaction. Objects whose registry hash (metadata ingest stores
 * with them) equals this build's REGISTRY_HASH are parsed and mapped without schema validation.
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { REGISTRY_HASH } from '../../generated/registry-hash.ts';
import { encodeJsonl } from '../lake/jsonl.ts';
import {
  getWithMetadata,
  hourOfKey,
  type LakeObject,
  type ObjectMetadata,
  objectKey,
  type RawStore,
} from '../lake/raw-store.ts';
import { utcDay } from '../time.ts';
import { copyRows, slices } from './copy-rows.ts';
import { CopyBuffer } from './copy-text.ts';
import type { EtlOptions, EtlProgress, EtlResult } from './core.ts';
import { DEFAULT_OBJECT_LIMITS, type ObjectLimits, objectLines } from './object-lines.ts';
import { type LineError, mapValidatedLine, validateAndMapLine } from './parse.ts';
import type { ReceiveWindow } from './plan.ts';
import { type RetryPolicy, withRetry } from './retry.ts';
import { recordLoadedObjects, recordRebuiltObjects } from './run-ledger.ts';
import type { Session } from './warehouse.ts';
import { COPY_SQL, MARK_DIRTY_SQL, REPLACED_DAYS_SQL, STAGE_COPY_SQL, STAGE_SQL, UPDATE_SQL } from './warehouse-sql.ts';

export const DEFAULT_BATCH_BYTES = 1024 * 1024;
export const DEFAULT_BATCH_OBJECTS = 500;
/**
 * COPY text of one prepared batch past which its remaining objects wait for the next batch, so
 * objects that inflate far beyond their compressed size cannot pile up in one batch.
 */
const MAX_BATCH_COPY_BYTES = 32 * 1024 * 1024;
const YIELD_EVERY_LINES = 200;
/**
 * Batches prepared (read, gunzipped, validated, mapped to COPY text) ahead of the one the database
 * is loading. Memory stays bounded whatever the lake's size: at most PREPARED_AHEAD + 1 batches.
 */
const PREPARED_AHEAD = 2;

interface PreparedObject {
  object: LakeObject;
  lines: number;
  quarantined: number;
  /** Valid lines repeating an event_id seen earlier in the same batch. */
  repeats: number;
}

/** A batch ready to load: one COPY text row per distinct valid event, in parallel arrays. */
interface PreparedBatch {
  objects: PreparedObject[];
  copy: Uint8Array;
  /** Per row: lower-case event_id, UTC day of event_timestamp, object index, line number in its object, end offset in `copy`. */
  ids: string[];
  days: string[];
  objectOf: number[];
  lineOf: number[];
  ends: number[];
  /** Objects left for the next batch, which takes them first (MAX_BATCH_COPY_BYTES reached). */
  deferred: LakeObject[];
}

type QuarantineRecord = { raw: string | null; errors: LineError[]; received_at: string; source_object: string };

/**
 * Groups pending objects into batches and pipelines them: while batch k is being loaded by the
 * database, batches k+1 … k+PREPARED_AHEAD are fetched and parsed here, one after the other (two
 * cores → both busy). At most PREPARED_AHEAD + 1 batches are in memory, each of at most about
 * MAX_BATCH_COPY_BYTES of COPY text plus one object.
 */
export class BatchLoader {
  readonly progress: EtlProgress = {
    objectsDone: 0,
    objectsTotal: 0,
    bytesDone: 0,
    bytesTotal: 0,
    rowsInserted: 0,
    rowsUpdated: 0,
  };
  private batch: LakeObject[] = [];
  private batchSize = 0;
  /** Batches being prepared or prepared, oldest first; the next to load is ready[0]. */
  private readonly ready: Promise<PreparedBatch>[] = [];
  private stopped = false;
  private readonly batchBytes: number;
  private readonly batchObjects: number;
  private readonly limits: ObjectLimits;

  constructor(
    private readonly session: Session,
    private readonly store: RawStore,
    private readonly runId: string,
    private readonly opts: EtlOptions,
    private readonly retry: RetryPolicy,
    private readonly result: EtlResult,
    /** Set for a rebuild: rows already held are updated, and objects recorded for resuming. */
    private readonly rebuildWindow?: ReceiveWindow,
  ) {
    this.batchBytes = opts.batchBytes ?? DEFAULT_BATCH_BYTES;
    this.batchObjects = opts.batchObjects ?? DEFAULT_BATCH_OBJECTS;
    this.limits = opts.objectLimits ?? DEFAULT_OBJECT_LIMITS;
  }

  async add(o: LakeObject): Promise<void> {
    this.batch.push(o);
    this.batchSize += o.size;
    if (this.batchSize >= this.batchBytes || this.batch.length >= this.batchObjects) await this.enqueue();
  }

  async flush(): Promise<void> {
    if (this.batch.length) this.submit();
    for (let next = this.ready.shift(); next; next = this.ready.shift()) {
      const batch = await next;
      await this.load(batch);
      // The last batch's deferred objects have no successor to carry them: they become one.
      if (!this.ready.length && batch.deferred.length) {
        this.batch = batch.deferred.splice(0);
        this.submit();
      }
    }
  }

  /** Queues the pending objects for preparing; loads the oldest prepared batch once PREPARED_AHEAD are queued. */
  private async enqueue(): Promise<void> {
    this.submit();
    while (this.ready.length > PREPARED_AHEAD) await this.load(await (this.ready.shift() as Promise<PreparedBatch>));
  }

  /**
   * Prepares the pending objects once the previous batch is prepared (one at a time: Node has one
   * thread, and each batch is ready as early as possible), leading with the objects it deferred.
   */
  private submit(): void {
    const objects = this.batch;
    const previous = this.ready.at(-1);
    this.batch = [];
    this.batchSize = 0;
    const next = (async () => {
      // A batch whose predecessor failed is never loaded (batches load in order): prepare nothing.
      const before = await previous;
      if (this.stopped) throw new Error('the run stopped: a batch before this one failed to load');
      return this.prepare([...(before?.deferred.splice(0) ?? []), ...objects]);
    })();
    // Rejections are observed when the batch's turn comes; until then keep Node from reporting them.
    next.catch(() => {});
    this.ready.push(next);
  }

  private async prepare(objects: LakeObject[]): Promise<PreparedBatch> {
    // An object larger than the inflated-bytes cap even compressed is not fetched at all.
    const bodies = await mapLimit(objects, this.opts.fetchConcurrency ?? 8, (o) =>
      o.size > this.limits.maxBytes
        ? Promise.resolve(undefined)
        : withRetry(`get ${o.key}`, this.retry, () => getWithMetadata(this.store, o.key)),
    );
    // Gzipped JSON lines expand about 2-3x into COPY text; start near that to avoid regrowth.
    const compressed = bodies.reduce((n, b) => n + (b?.body.length ?? 0), 0);
    const copy = new CopyBuffer(Math.max(64 * 1024, Math.min(compressed * 3, MAX_BATCH_COPY_BYTES)));
    const batch: Omit<PreparedBatch, 'copy'> = {
      objects: [],
      ids: [],
      days: [],
      objectOf: [],
      lineOf: [],
      ends: [],
      deferred: [],
    };
    const seen = new Set<string>();
    for (let i = 0; i < objects.length; i++) {
      if (copy.length >= MAX_BATCH_COPY_BYTES) {
        batch.deferred = objects.slice(i);
        break;
      }
      batch.objects.push(await this.prepareObject(objects[i] as LakeObject, bodies[i], i, copy, batch, seen));
    }
    return { ...batch, copy: copy.bytes() };
  }

  private async prepareObject(
    object: LakeObject,
    read: { body: Uint8Array; metadata: ObjectMetadata } | undefined,
    index: number,
    copy: CopyBuffer,
    batch: Omit<PreparedBatch, 'copy'>,
    seen: Set<string>,
  ): Promise<PreparedObject> {
    const receivedHour = hourOfKey(object.key) ?? new Date(0);
    const quarantine: QuarantineRecord[] = [];
    // An object that cannot be read (whole or to its end) cannot block the pipeline forever: what
    // is left unread is quarantined as one record with the reason (the object stays in the lake
    // for inspection) and the object is recorded as loaded.
    const quarantineRest = (error: LineError) =>
      quarantine.push({
        raw: null,
        errors: [error],
        received_at: receivedHour.toISOString(),
        source_object: object.key,
      });
    let lines = 0;
    let repeats = 0;
    // Lines ingest wrote after validating them with this build's validators are not validated again.
    const mapLine = read?.metadata.registryHash === REGISTRY_HASH ? mapValidatedLine : validateAndMapLine;
    if (read === undefined) {
      quarantineRest({
        path: '',
        rule: 'object_too_large',
        message: `object is ${object.size} bytes compressed, more than ${this.limits.maxBytes}; not read`,
      });
    } else {
      for await (const chunk of objectLines(read.body, this.limits)) {
        for (const line of chunk.lines) {
          lines++;
          // Parsing is synchronous; yielding often keeps the previous batch's COPY stream fed.
          if (lines % YIELD_EVERY_LINES === 0) await yieldToLoop();
          const parsed = line.error ? { ok: false as const, errors: [line.error] } : mapLine(line.text);
          if (parsed.ok) {
            const id = parsed.row.event_id.toLowerCase();
            if (seen.has(id)) {
              repeats++;
              continue;
            }
            seen.add(id);
            copy.writeRow(parsed.row);
            batch.ids.push(id);
            batch.days.push(utcDay(parsed.row.event_timestamp));
            batch.objectOf.push(index);
            batch.lineOf.push(line.number);
            batch.ends.push(copy.length);
          } else {
            quarantine.push({
              raw: line.text,
              errors: parsed.errors,
              received_at: receivedAtOf(line.text) ?? receivedHour.toISOString(),
              source_object: object.key,
            });
          }
        }
        if (chunk.stop) quarantineRest(chunk.stop);
      }
    }
    if (quarantine.length) await this.putQuarantine(object, '', quarantine);
    return { object, lines, quarantined: quarantine.length, repeats };
  }

  /** Named after the source object: a retried batch rewrites the same quarantine object. */
  private async putQuarantine(object: LakeObject, suffix: string, records: QuarantineRecord[]): Promise<void> {
    const receivedHour = hourOfKey(object.key) ?? new Date(0);
    const name = object.key.slice(object.key.lastIndexOf('/') + 1).replace(/\.jsonl\.gz$/, '');
    const key = objectKey('quarantine', receivedHour, `etl-${name}${suffix}`);
    const body = encodeJsonl(records);
    await withRetry(`put ${key}`, this.retry, () => this.store.put(key, body));
  }

  /**
   * Rows PostgreSQL refused, quarantined with its reason. Their lines are read again from their
   * objects (a batch keeps COPY text, not lines) — this is the rare path.
   */
  private async quarantineRefused(batch: PreparedBatch, refused: Map<number, LineError>): Promise<void> {
    const byObject = new Map<number, Map<number, LineError>>();
    for (const [row, error] of refused) {
      const o = batch.objectOf[row] as number;
      if (!byObject.has(o)) byObject.set(o, new Map());
      byObject.get(o)?.set(batch.lineOf[row] as number, error);
    }
    for (const [o, errors] of byObject) {
      const object = (batch.objects[o] as PreparedObject).object;
      const body = await withRetry(`get ${object.key}`, this.retry, () => this.store.get(object.key));
      const records: QuarantineRecord[] = [];
      for await (const chunk of objectLines(body, this.limits)) {
        for (const line of chunk.lines) {
          const error = errors.get(line.number);
          if (!error) continue;
          const receivedAt = receivedAtOf(line.text) ?? (hourOfKey(object.key) ?? new Date(0)).toISOString();
          records.push({ raw: line.text, errors: [error], received_at: receivedAt, source_object: object.key });
        }
      }
      await this.putQuarantine(object, '-refused', records);
    }
  }

  /**
   * One transaction: COPY the batch's rows straight into the fact table (copy-rows.ts leaves out
   * the event_ids it already holds and the rows PostgreSQL refuses), quarantine the refused rows,
   * mark the days of the new rows dirty, write the ledger. No staging table, no INSERT … SELECT.
   * The run holds the ETL lock, so nothing else inserts facts in between. A rebuild then copies
   * the rows the table already held into a temporary table and updates the ones that differ
   * (marking their old and new days), and records its objects for resuming, in the same transaction.
   */
  private async load(batch: PreparedBatch): Promise<void> {
    try {
      await this.loadBatch(batch);
    } catch (e) {
      this.stopped = true; // the batches queued behind this one stop fetching
      throw e;
    }
  }

  private async loadBatch(batch: PreparedBatch): Promise<void> {
    const s = this.session;
    await s.query('BEGIN');
    const { existing, refused } = await copyRows(s, COPY_SQL, batch);
    if (refused.size) await this.quarantineRefused(batch, refused);
    const days = new Set<string>();
    const updatedIds =
      this.rebuildWindow && existing.size ? await this.updateExisting(batch, existing, days) : new Set();
    const inserted = new Array<number>(batch.objects.length).fill(0);
    const updated = new Array<number>(batch.objects.length).fill(0);
    const known = new Array<number>(batch.objects.length).fill(0);
    const rejected = new Array<number>(batch.objects.length).fill(0);
    for (let r = 0; r < batch.ids.length; r++) {
      const object = batch.objectOf[r] as number;
      const counter = existing.has(r)
        ? updatedIds.has(batch.ids[r])
          ? updated
          : known
        : refused.has(r)
          ? rejected
          : inserted;
      counter[object] = (counter[object] as number) + 1;
      if (counter === inserted || counter === updated) days.add(batch.days[r] as string);
    }
    if (days.size) await s.query(MARK_DIRTY_SQL, [[...days]]);
    const quarantined = batch.objects.map((p, i) => p.quarantined + (rejected[i] as number));
    const keys = batch.objects.map((p) => p.object.key);
    const etags = batch.objects.map((p) => p.object.etag);
    await recordLoadedObjects(s, this.runId, {
      keys,
      etags,
      lines: batch.objects.map((p) => p.lines),
      inserted,
      duplicates: batch.objects.map((p, i) => (known[i] as number) + (updated[i] as number) + p.repeats),
      quarantined,
    });
    if (this.rebuildWindow) await recordRebuiltObjects(s, this.rebuildWindow, this.runId, keys, etags);
    await s.query('COMMIT');
    batch.objects.forEach((p, i) => {
      this.result.objects++;
      this.result.lines += p.lines;
      this.result.quarantined += quarantined[i] as number;
      this.result.rowsInserted += inserted[i] as number;
      this.result.rowsUpdated += updated[i] as number;
      this.result.duplicates += (known[i] as number) + p.repeats;
      this.progress.objectsDone++;
      this.progress.bytesDone += p.object.size;
    });
    this.progress.rowsInserted = this.result.rowsInserted;
    this.progress.rowsUpdated = this.result.rowsUpdated;
    this.opts.onProgress?.({ ...this.progress });
  }

  /** Rebuild: replaces the held rows that the batch maps differently; adds their old days to `days`. */
  private async updateExisting(batch: PreparedBatch, existing: Set<number>, days: Set<string>): Promise<Set<string>> {
    const s = this.session;
    await s.query(STAGE_SQL);
    const rows = [...existing].sort((a, b) => a - b);
    await s.copyIn(STAGE_COPY_SQL, slices(batch, rows));
    for (const { day } of (await s.query<{ day: string }>(REPLACED_DAYS_SQL)).rows) days.add(day);
    const { rows: changed } = await s.query<{ id: string }>(UPDATE_SQL);
    return new Set(changed.map((r) => r.id));
  }
}

function receivedAtOf(line: string): string | undefined {
  try {
    const value = (JSON.parse(line) as { received_at?: unknown })?.received_at;
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}

/** `fn` over `items` with at most `limit` in flight, results in input order. */
async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
