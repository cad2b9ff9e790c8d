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
 * Where the parts live: plan.ts (window, which objects), load-batches.ts (fetch, parse, COPY, quarantine
 * writes), run-ledger.ts (etl_runs, etl_loaded_objects, etl_rebuilt_objects), warehouse-sql.ts (SQL
 * texts), refresh-days.ts (daily tables and rollups of the marked days). Adapters (cli.ts,
 * lambda.ts) only build the options and report the result.
 */
import { randomUUID } from 'node:crypto';
import type { RawStore } from '../lake/raw-store.ts';
import { daysOf } from '../time.ts';
import { BatchLoader } from './load-batches.ts';
import type { ObjectLimits } from './object-lines.ts';
import { lateObject, notYetIn, objectsOfDay, planWindow, type ReceiveWindow, reportLateObjects } from './plan.ts';
import { loadQuarantineObjects } from './quarantine.ts';
import { refreshDirtyDays } from './refresh-days.ts';
import { applyRetention, type RetentionPolicy, type RetentionResult } from './retention.ts';
import { DEFAULT_RETRY, type RetryPolicy } from './retry.ts';
import { abandonDeadRuns, finishRun, forgetRebuild, startRun } from './run-ledger.ts';
import { type SkippedKey, SkippedKeys } from './skipped.ts';
import { LOCK_KEYS, type Warehouse } from './warehouse.ts';

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
  const record = (status: 'succeeded' | 'failed') => finishRun(warehouse, runId, status, result, skipped);

  try {
    const locked = await warehouse.withSession(async (session) => {
      if (!(await session.tryLock(LOCK_KEYS.etl))) return false;
      try {
        await abandonDeadRuns(session);
        // Safe to lose on a server crash: a lost commit loses its ledger rows with its facts, so
        // the next run loads those objects again. Saves a WAL flush per batch.
        await session.query('SET synchronous_commit TO off');
        const planned = !opts.window;
        const window = opts.window ?? (await planWindow(session, store, opts.lookbackHours, startedAt, retry, skipped));
        result.windowStart = window.start.toISOString();
        result.windowEnd = window.end.toISOString();
        await startRun(warehouse, {
          runId,
          trigger: opts.trigger,
          windowStart: result.windowStart,
          windowEnd: result.windowEnd,
          startedAt,
        });
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
        if (rebuild) await forgetRebuild(session, window);
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
