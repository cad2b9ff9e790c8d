/**
 * The ETL core: plan → list → skip loaded objects → read → parse/validate/map → skip known
 * event_ids → COPY into the fact table → record → refresh rollup and sessions of touched days.
 *
 * Exactly-once rests on one rule: an object's rows, its ledger row (key + ETag) and the mark on
 * the days it changed commit in ONE transaction. Whatever dies — the process, the connection,
 * the store — either the whole batch is in the warehouse and in the ledger, or none of it is, and
 * the next run lists the lake again and loads what the ledger does not hold. `event_id` is the
 * fact table's primary key, so an event written twice to the lake (tracker retry) lands once.
 * A session-level advisory lock keeps two runs from loading the same objects at the same time.
 * After loading, the rollup and sessions of the marked days are recomputed from the facts and the
 * marks cleared in the same transaction, so a crash in between only defers that to the next run.
 *
 * Adapters (cli.ts, lambda.ts) only build the options and report the result.
 */
import { randomUUID } from 'node:crypto';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { clickstreamEventsColumns } from '../../generated/db/schema.ts';
import { encodeJsonl } from '../lake/jsonl.ts';
import { hourOfKey, type LakeObject, objectKey, type RawStore } from '../lake/raw-store.ts';
import { copyRows, slices } from './copy-rows.ts';
import { CopyBuffer } from './copy-text.ts';
import { DEFAULT_OBJECT_LIMITS, type ObjectLimits, objectLines } from './object-lines.ts';
import { type LineError, parseLine } from './parse.ts';
import {
  daysOf,
  lateObject,
  notYetIn,
  objectsOfDay,
  planWindow,
  type ReceiveWindow,
  reportLateObjects,
} from './plan.ts';
import { loadQuarantineObjects } from './quarantine.ts';
import { applyRetention, type RetentionPolicy, type RetentionResult } from './retention.ts';
import { DEFAULT_RETRY, type RetryPolicy, withRetry } from './retry.ts';
import { refreshRollups, refreshRollupsAfterDelete } from './rollups.ts';
import { INSERT_SKIPPED_SQL, type SkippedKey, SkippedKeys } from './skipped.ts';
import { LOCK_KEYS, type Session, type Warehouse } from './warehouse.ts';

export type { ReceiveWindow } from './plan.ts';

/**
 * `rebuild` re-maps every object of its window, loaded or not, and updates the fact rows it
 * already holds (etl rebuild); the others load only what the ledger lacks.
 */
export type Trigger = 'schedule' | 'manual' | 'backfill' | 'rebuild';

export interface EtlProgress {
  objectsDone: number;
  objectsTotal: number;
  bytesDone: number;
  bytesTotal: number;
  rowsInserted: number;
  rowsUpdated: number;
}

export interface EtlOptions {
  trigger: Trigger;
  /** Receive-time window to load. Unset: everything not yet loaded — from the end of the last
   *  successful scheduled/manual run minus `lookbackHours` (late objects), or from the first
   *  object of the lake on the very first run — up to now. */
  window?: ReceiveWindow;
  lookbackHours: number;
  /** Compressed bytes of lake objects per load transaction (bounds memory). */
  batchBytes?: number;
  batchObjects?: number;
  /** Caps per lake object (lines, inflated bytes, line bytes); the rest is quarantined. */
  objectLimits?: ObjectLimits;
  fetchConcurrency?: number;
  retry?: RetryPolicy;
  /** Called after each committed batch; when set, the run first lists the window to know totals. */
  onProgress?: (p: EtlProgress) => void;
  now?: () => Date;
  log?: (entry: Record<string, unknown>) => void;
  /**
   * Days to keep (0 = forever), applied after the loads of a `schedule` or `manual` run only —
   * never a backfill or rebuild (retention.ts). Callers pass `retentionFrom(config)`.
   */
  retention?: RetentionPolicy;
}

export interface EtlResult {
  status: 'succeeded' | 'failed' | 'skipped';
  runId?: string;
  trigger: Trigger;
  windowStart?: string;
  windowEnd?: string;
  objects: number;
  lines: number;
  rowsInserted: number;
  /** Fact rows a rebuild re-mapped to different values. */
  rowsUpdated: number;
  duplicates: number;
  quarantined: number;
  /**
   * Objects of the window not read again: for run/backfill those the ledger holds with the same
   * ETag (already loaded); for a rebuild those an unfinished rebuild of the same range re-mapped.
   */
  alreadyDone: number;
  /** Lake keys listed but not loaded (outside the layout, not a file, late beyond the look-back…). */
  skipped: number;
  /** The first of them, each with its reason (also in etl_skipped_objects). */
  skippedKeys: SkippedKey[];
  /** UTC days (of event_timestamp) whose rollup and sessions the run refreshed. */
  daysTouched: string[];
  durationMs: number;
  error?: string;
  /** What retention deleted, when a retention period is set. */
  retention?: RetentionResult;
}

export const DEFAULT_BATCH_BYTES = 1024 * 1024;
export const DEFAULT_BATCH_OBJECTS = 500;
/**
 * COPY text of one prepared batch past which its remaining objects wait for the next batch, so
 * objects that inflate far beyond their compressed size cannot pile up in one batch.
 */
const MAX_BATCH_COPY_BYTES = 32 * 1024 * 1024;
const YIELD_EVERY_LINES = 200;

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
  /** Objects left for a later batch (MAX_BATCH_COPY_BYTES reached). */
  deferred: LakeObject[];
}

type QuarantineRecord = { raw: string | null; errors: LineError[]; received_at: string; source_object: string };

export async function runEtl(deps: { warehouse: Warehouse; store: RawStore }, opts: EtlOptions): Promise<EtlResult> {
  const { warehouse, store } = deps;
  const now = opts.now ?? (() => new Date());
  const log = opts.log ?? (() => {});
  const retry = opts.retry ?? DEFAULT_RETRY;
  const startedAt = now();
  const runId = randomUUID();
  const rebuild = opts.trigger === 'rebuild';
  if (rebuild && !opts.window) throw new Error('runEtl: a rebuild needs a window');
  const result: EtlResult = {
    status: 'succeeded',
    runId,
    trigger: opts.trigger,
    objects: 0,
    lines: 0,
    rowsInserted: 0,
    rowsUpdated: 0,
    duplicates: 0,
    quarantined: 0,
    alreadyDone: 0,
    skipped: 0,
    skippedKeys: [],
    daysTouched: [],
    durationMs: 0,
  };
  const days = new Set<string>();
  const skipped = new SkippedKeys(log);
  let recorded = false;

  const finish = () => {
    result.durationMs = now().getTime() - startedAt.getTime();
    result.daysTouched = [...days].sort();
    result.skipped = skipped.count;
    result.skippedKeys = skipped.recorded;
    return result;
  };
  /** The run's row, final: counts, status, error; and its skipped keys. */
  const record = async (status: 'succeeded' | 'failed') => {
    await warehouse.query(
      `UPDATE etl_runs SET status = $2, finished_at = now(), objects = $3, rows_inserted = $4,
         duplicates = $5, quarantined = $6, skipped = $7, duration_ms = $8, error = $9, rows_updated = $10
       WHERE run_id = $1`,
      [
        runId,
        status,
        result.objects,
        result.rowsInserted,
        result.duplicates,
        result.quarantined,
        result.skipped,
        result.durationMs,
        result.error ?? null,
        result.rowsUpdated,
      ],
    );
    if (skipped.recorded.length) await warehouse.query(INSERT_SKIPPED_SQL, [runId, ...skipped.params()]);
  };

  try {
    const locked = await warehouse.withSession(async (session) => {
      if (!(await session.tryLock(LOCK_KEYS.etl))) return false;
      try {
        // Holding the lock proves no other run is alive: a 'running' row is a run that died.
        await session.query(
          `UPDATE etl_runs SET status = 'abandoned', finished_at = now(),
             error = coalesce(error, 'the run ended without finishing (process or connection died)')
           WHERE status = 'running'`,
        );
        // Safe to lose on a server crash: a lost commit loses its ledger rows with its facts, so
        // the next run loads those objects again. Saves a WAL flush per batch.
        await session.query('SET synchronous_commit TO off');
        const planned = !opts.window;
        const window = opts.window ?? (await planWindow(session, store, opts.lookbackHours, startedAt, retry, skipped));
        result.windowStart = window.start.toISOString();
        result.windowEnd = window.end.toISOString();
        await warehouse.query(
          `INSERT INTO etl_runs (run_id, trigger, window_start, window_end, started_at, status,
             objects, rows_inserted, duplicates, quarantined)
           VALUES ($1, $2, $3, $4, $5, 'running', 0, 0, 0, 0)`,
          [runId, opts.trigger, result.windowStart, result.windowEnd, startedAt.toISOString()],
        );
        recorded = true;
        log({ level: 'info', msg: 'etl run started', run_id: runId, trigger: opts.trigger, window });

        const loader = new BatchLoader(session, store, runId, opts, retry, result, rebuild ? window : undefined);
        const from = window.start.getTime();
        const inWindow = (o: { hour: number }) => o.hour >= from && o.hour < window.end.getTime();
        /** The day's objects to read, and how many of its window's objects need not be. */
        const pending = async (day: Date) => {
          const listed = await objectsOfDay(store, day, retry, skipped);
          const unloaded = await notYetIn(session, listed, 'etl_loaded_objects');
          if (planned) for (const o of unloaded) if (o.hour < from) skipped.add(lateObject(o.object, window));
          const todo = rebuild
            ? await notYetIn(session, listed.filter(inWindow), 'etl_rebuilt_objects', {
                sql: ' AND window_start = $2 AND window_end = $3',
                params: [result.windowStart, result.windowEnd],
              })
            : unloaded.filter(inWindow);
          return { todo: todo.map((o) => o.object), done: listed.filter(inWindow).length - todo.length };
        };
        if (planned) await reportLateObjects(session, store, window, opts.lookbackHours, retry, skipped);
        const dayStarts = daysOf(window.start, window.end);
        if (opts.onProgress) {
          for (const day of dayStarts) {
            for (const o of (await pending(day)).todo) {
              loader.progress.objectsTotal++;
              loader.progress.bytesTotal += o.size;
            }
          }
          opts.onProgress({ ...loader.progress });
        }
        for (const day of dayStarts) {
          const { todo, done } = await pending(day);
          result.alreadyDone += done;
          for (const o of todo) await loader.add(o);
        }
        await loader.flush();
        await loadQuarantineObjects(session, store, window, runId, retry);
        await refreshDirtyDays(session, days);
        const regular = opts.trigger === 'schedule' || opts.trigger === 'manual';
        if (regular && opts.retention && (opts.retention.lakeDays > 0 || opts.retention.warehouseDays > 0)) {
          result.retention = await applyRetention({ session, store }, opts.retention, startedAt);
        }
        // Finished: a later rebuild of the same range starts over instead of resuming.
        if (rebuild) {
          await session.query('DELETE FROM etl_rebuilt_objects WHERE window_start = $1 AND window_end = $2', [
            result.windowStart,
            result.windowEnd,
          ]);
        }
      } finally {
        await session.query('RESET synchronous_commit').catch(() => {});
        await session.unlock(LOCK_KEYS.etl).catch(() => {});
      }
      return true;
    });
    if (!locked) {
      log({ level: 'warn', msg: 'etl run skipped: another run holds the lock', trigger: opts.trigger });
      return { ...finish(), status: 'skipped', runId: undefined };
    }
    finish();
    await record('succeeded');
    log({ level: 'info', msg: 'etl run succeeded', ...summary(result) });
    return result;
  } catch (err) {
    result.status = 'failed';
    result.error = (err as Error)?.message ?? String(err);
    finish();
    if (recorded) {
      // The warehouse may be what failed; the next run marks this row abandoned.
      await record('failed').catch(() => {});
    }
    log({ level: 'error', msg: 'etl run failed', ...summary(result), error_name: (err as Error)?.name });
    return result;
  }
}

export function summary(r: EtlResult): Record<string, unknown> {
  return {
    run_id: r.runId,
    status: r.status,
    trigger: r.trigger,
    window_start: r.windowStart,
    window_end: r.windowEnd,
    objects: r.objects,
    lines: r.lines,
    rows_inserted: r.rowsInserted,
    ...(r.trigger === 'rebuild' ? { rows_updated: r.rowsUpdated } : {}),
    duplicates: r.duplicates,
    quarantined: r.quarantined,
    ...(r.trigger === 'rebuild' ? { already_rebuilt: r.alreadyDone } : { already_loaded: r.alreadyDone }),
    skipped: r.skipped,
    days_touched: r.daysTouched,
    duration_ms: r.durationMs,
    ...(r.retention
      ? {
          lake_objects_expired: r.retention.lakeObjectsDeleted,
          warehouse_rows_expired: r.retention.warehouseRowsDeleted,
        }
      : {}),
    ...(r.error ? { error: r.error } : {}),
  };
}

const COPY_SQL = `COPY clickstream_events (${clickstreamEventsColumns.join(', ')}) FROM STDIN`;

/** Per batch (dropped at its commit), so it always has the fact table's current columns. */
const STAGE_SQL = `CREATE TEMP TABLE etl_rebuild_stage (LIKE clickstream_events INCLUDING DEFAULTS) ON COMMIT DROP`;
const STAGE_COPY_SQL = `COPY etl_rebuild_stage (${clickstreamEventsColumns.join(', ')}) FROM STDIN`;
const columnsOf = (alias: string, cols: readonly string[]) => cols.map((c) => `${alias}.${c}`).join(', ');
/**
 * The fact rows a re-mapped row replaces: same event_id, different values. The earliest-received
 * copy of an event is the one a first load keeps (objects load in key order), so a later resend
 * of the event (same event_id in another object) does not replace it.
 */
const REPLACED = `s.event_id = f.event_id AND s.received_at <= f.received_at
  AND (${columnsOf('f', clickstreamEventsColumns)}) IS DISTINCT FROM (${columnsOf('s', clickstreamEventsColumns)})`;
/** UTC days the replaced rows lived on before the update (an event_timestamp may change). */
const REPLACED_DAYS_SQL = `SELECT DISTINCT ((f.event_timestamp AT TIME ZONE 'UTC')::date)::text AS day
  FROM clickstream_events f JOIN etl_rebuild_stage s ON ${REPLACED}`;
const VALUE_COLUMNS = clickstreamEventsColumns.filter((c) => c !== 'event_id');
const UPDATE_SQL = `UPDATE clickstream_events f SET (${VALUE_COLUMNS.join(', ')}) = (${columnsOf('s', VALUE_COLUMNS)})
  FROM etl_rebuild_stage s WHERE ${REPLACED} RETURNING f.event_id::text AS id`;

const REBUILT_SQL = `
INSERT INTO etl_rebuilt_objects (window_start, window_end, object_key, etag, run_id, rebuilt_at)
SELECT $1, $2, k, e, $3::uuid, now() FROM unnest($4::text[], $5::text[]) AS t(k, e)
ON CONFLICT (window_start, window_end, object_key) DO UPDATE SET etag = EXCLUDED.etag,
  run_id = EXCLUDED.run_id, rebuilt_at = EXCLUDED.rebuilt_at`;

const MARK_DIRTY_SQL = `INSERT INTO etl_dirty_days (day, marked_at)
SELECT unnest($1::date[]), now() ON CONFLICT (day) DO NOTHING`;

const LEDGER_SQL = `
INSERT INTO etl_loaded_objects (object_key, etag, run_id, loaded_at, lines, rows_inserted, duplicates, quarantined)
SELECT k, e, $3::uuid, now(), l, r, d, q
FROM unnest($1::text[], $2::text[], $4::int[], $5::int[], $6::int[], $7::int[]) AS t(k, e, l, r, d, q)
ON CONFLICT (object_key) DO UPDATE SET etag = EXCLUDED.etag, run_id = EXCLUDED.run_id,
  loaded_at = EXCLUDED.loaded_at, lines = EXCLUDED.lines, rows_inserted = EXCLUDED.rows_inserted,
  duplicates = EXCLUDED.duplicates, quarantined = EXCLUDED.quarantined`;

/** Fact rows of the days in $1 (a date[]), found through the event_timestamp index. */
const ROWS_OF_DAYS = `clickstream_events e JOIN unnest($1::date[]) AS d(day)
  ON e.event_timestamp >= d.day::timestamp AT TIME ZONE 'UTC'
 AND e.event_timestamp < (d.day + 1)::timestamp AT TIME ZONE 'UTC'`;

/** Rollup rows of the days, recomputed from the facts (after the days' rows are deleted). */
const REFRESH_DAILY_SQL = `
INSERT INTO daily_event_counts AS c (day, event_name, user_login_state, events)
SELECT d.day, e.event_name, e.user_login_state, count(*) FROM ${ROWS_OF_DAYS} GROUP BY 1, 2, 3
ON CONFLICT (day, event_name, user_login_state) DO UPDATE SET events = EXCLUDED.events`;

/** Every session with an event on one of the days, recomputed from all its events (it may cross midnight). */
const REFRESH_SESSIONS_SQL = `
INSERT INTO sessions AS s (session_id, client_id, user_id, started_at, ended_at, events, page_views,
  product_views, add_to_carts, checkouts, purchases, revenue, landing_page)
SELECT session_id,
  (array_agg(client_id ORDER BY event_timestamp))[1],
  (array_agg(user_id ORDER BY event_timestamp) FILTER (WHERE user_id IS NOT NULL))[1],
  min(event_timestamp), max(event_timestamp), count(*),
  count(*) FILTER (WHERE event_name = 'page_view'),
  count(*) FILTER (WHERE event_name = 'product_view'),
  count(*) FILTER (WHERE event_name = 'add_to_cart'),
  count(*) FILTER (WHERE event_name = 'begin_checkout'),
  count(*) FILTER (WHERE event_name = 'purchase'),
  coalesce(sum(order_total) FILTER (WHERE event_name = 'purchase'), 0),
  (array_agg(page_url ORDER BY event_timestamp))[1]
FROM clickstream_events
WHERE session_id IN (SELECT DISTINCT e.session_id FROM ${ROWS_OF_DAYS})
GROUP BY session_id
ON CONFLICT (session_id) DO UPDATE SET client_id = EXCLUDED.client_id, user_id = EXCLUDED.user_id,
  started_at = EXCLUDED.started_at, ended_at = EXCLUDED.ended_at, events = EXCLUDED.events,
  page_views = EXCLUDED.page_views, product_views = EXCLUDED.product_views,
  add_to_carts = EXCLUDED.add_to_carts, checkouts = EXCLUDED.checkouts, purchases = EXCLUDED.purchases,
  revenue = EXCLUDED.revenue, landing_page = EXCLUDED.landing_page`;

/** Days refreshed per transaction: bounds a long backfill's refresh transactions. */
const REFRESH_DAYS_PER_TRANSACTION = 7;

/**
 * Recomputes daily_event_counts, sessions and the rollups of `days` from the facts, inside the
 * caller's transaction. `afterDelete` (privacy erasure): facts were deleted, and the buckets only
 * removed facts change are recomputed too (rollups.ts refreshRollupsAfterDelete).
 */
export async function refreshDays(
  session: Session,
  days: string[],
  afterDelete?: { sessionHours: string[] },
): Promise<void> {
  // Recomputed, not upserted: a rebuild may move rows to another group (or day) than before.
  await session.query('DELETE FROM daily_event_counts WHERE day = ANY($1::date[])', [days]);
  await session.query(REFRESH_DAILY_SQL, [days]);
  await session.query(REFRESH_SESSIONS_SQL, [days]);
  if (afterDelete) await refreshRollupsAfterDelete(session, days, afterDelete.sessionHours);
  else await refreshRollups(session, days);
}

/**
 * Recomputes the rollup and sessions of every dirty day and clears the marks, a few days per
 * transaction. Runs after the loads, and first thing too, finishing what a crashed run left.
 */
export async function refreshDirtyDays(session: Session, refreshed: Set<string>): Promise<void> {
  for (;;) {
    await session.query('BEGIN');
    const { rows } = await session.query<{ day: string }>(
      `SELECT day::text AS day FROM etl_dirty_days ORDER BY day LIMIT ${REFRESH_DAYS_PER_TRANSACTION} FOR UPDATE`,
    );
    if (!rows.length) {
      await session.query('COMMIT');
      return;
    }
    const days = rows.map((r) => r.day);
    await refreshDays(session, days);
    await session.query('DELETE FROM etl_dirty_days WHERE day = ANY($1::date[])', [days]);
    await session.query('COMMIT');
    for (const day of days) refreshed.add(day);
  }
}

/**
 * Groups pending objects into batches and pipelines them: while batch k is being loaded by the
 * database, batch k+1 is fetched and parsed here (two cores → both busy). At most two batches
 * are in memory, each of at most about MAX_BATCH_COPY_BYTES of COPY text plus one object.
 */
class BatchLoader {
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
  private inFlight: Promise<PreparedBatch> | undefined;
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
    if (this.batchSize >= this.batchBytes || this.batch.length >= this.batchObjects) await this.submit();
  }

  async flush(): Promise<void> {
    while (this.batch.length || this.inFlight) {
      if (this.batch.length) {
        await this.submit();
      } else {
        const last = this.inFlight as Promise<PreparedBatch>;
        this.inFlight = undefined;
        await this.loadAndRequeue(await last);
      }
    }
  }

  private async submit(): Promise<void> {
    const next = this.prepare(this.batch);
    // Rejections are observed when the batch's turn comes; until then keep Node from reporting them.
    next.catch(() => {});
    this.batch = [];
    this.batchSize = 0;
    const previous = this.inFlight;
    this.inFlight = next;
    if (previous) await this.loadAndRequeue(await previous);
  }

  private async loadAndRequeue(batch: PreparedBatch): Promise<void> {
    await this.load(batch);
    for (const o of batch.deferred) {
      this.batch.push(o);
      this.batchSize += o.size;
    }
  }

  private async prepare(objects: LakeObject[]): Promise<PreparedBatch> {
    // An object larger than the inflated-bytes cap even compressed is not fetched at all.
    const bodies = await mapLimit(objects, this.opts.fetchConcurrency ?? 8, (o) =>
      o.size > this.limits.maxBytes
        ? Promise.resolve(undefined)
        : withRetry(`get ${o.key}`, this.retry, () => this.store.get(o.key)),
    );
    // Gzipped JSON lines expand about 2-3x into COPY text; start near that to avoid regrowth.
    const compressed = bodies.reduce((n, b) => n + (b?.length ?? 0), 0);
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
    body: Uint8Array | undefined,
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
    if (body === undefined) {
      quarantineRest({
        path: '',
        rule: 'object_too_large',
        message: `object is ${object.size} bytes compressed, more than ${this.limits.maxBytes}; not read`,
      });
    } else {
      for await (const chunk of objectLines(body, this.limits)) {
        for (const line of chunk.lines) {
          lines++;
          // Parsing is synchronous; yielding often keeps the previous batch's COPY stream fed.
          if (lines % YIELD_EVERY_LINES === 0) await yieldToLoop();
          const parsed = line.error ? { ok: false as const, errors: [line.error] } : parseLine(line.text);
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
    await s.query(LEDGER_SQL, [
      keys,
      etags,
      this.runId,
      batch.objects.map((p) => p.lines),
      inserted,
      batch.objects.map((p, i) => (known[i] as number) + (updated[i] as number) + p.repeats),
      quarantined,
    ]);
    if (this.rebuildWindow) {
      const { start, end } = this.rebuildWindow;
      await s.query(REBUILT_SQL, [start.toISOString(), end.toISOString(), this.runId, keys, etags]);
    }
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

/** YYYY-MM-DD in UTC of an RFC 3339 timestamp; the common `…Z` form needs no Date. */
function utcDay(timestamp: string): string {
  return timestamp.endsWith('Z') ? timestamp.slice(0, 10) : new Date(timestamp).toISOString().slice(0, 10);
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
