/**
 * The run ledger: one etl_runs row per run (written outside the load transactions, so a failed
 * run still leaves its row), etl_loaded_objects (which lake object loaded with which ETag — a
 * batch writes its rows in its load transaction) and etl_rebuilt_objects (which objects an
 * unfinished `etl rebuild` of a range already re-mapped, for resuming it).
 */
import type { ReceiveWindow } from './plan.ts';
import { INSERT_SKIPPED_SQL, type SkippedKeys } from './skipped.ts';
import type { Session, Warehouse } from './warehouse.ts';

/** Counters the final etl_runs row holds. */
export interface RunCounts {
  objects: number;
  rowsInserted: number;
  rowsUpdated: number;
  duplicates: number;
  quarantined: number;
  skipped: number;
  durationMs: number;
  error?: string;
}

/** Under the ETL lock no other run is alive: a 'running' row is a run that died. */
export async function abandonDeadRuns(session: Session): Promise<void> {
  await session.query(
    `UPDATE etl_runs SET status = 'abandoned', finished_at = now(),
       error = coalesce(error, 'the run ended without finishing (process or connection died)')
     WHERE status = 'running'`,
  );
}

export async function startRun(
  warehouse: Warehouse,
  run: { runId: string; trigger: string; windowStart: string; windowEnd: string; startedAt: Date },
): Promise<void> {
  await warehouse.query(
    `INSERT INTO etl_runs (run_id, trigger, window_start, window_end, started_at, status,
       objects, rows_inserted, duplicates, quarantined)
     VALUES ($1, $2, $3, $4, $5, 'running', 0, 0, 0, 0)`,
    [run.runId, run.trigger, run.windowStart, run.windowEnd, run.startedAt.toISOString()],
  );
}

/** The run's row, final: counts, status, error; and its skipped keys. */
export async function finishRun(
  warehouse: Warehouse,
  runId: string,
  status: 'succeeded' | 'failed',
  counts: RunCounts,
  skipped: SkippedKeys,
): Promise<void> {
  await warehouse.query(
    `UPDATE etl_runs SET status = $2, finished_at = now(), objects = $3, rows_inserted = $4,
       duplicates = $5, quarantined = $6, skipped = $7, duration_ms = $8, error = $9, rows_updated = $10
     WHERE run_id = $1`,
    [
      runId,
      status,
      counts.objects,
      counts.rowsInserted,
      counts.duplicates,
      counts.quarantined,
      counts.skipped,
      counts.durationMs,
      counts.error ?? null,
      counts.rowsUpdated,
    ],
  );
  if (skipped.recorded.length) await warehouse.query(INSERT_SKIPPED_SQL, [runId, ...skipped.params()]);
}

const LOADED_SQL = `
INSERT INTO etl_loaded_objects (object_key, etag, run_id, loaded_at, lines, rows_inserted, duplicates, quarantined)
SELECT k, e, $3::uuid, now(), l, r, d, q
FROM unnest($1::text[], $2::text[], $4::int[], $5::int[], $6::int[], $7::int[]) AS t(k, e, l, r, d, q)
ON CONFLICT (object_key) DO UPDATE SET etag = EXCLUDED.etag, run_id = EXCLUDED.run_id,
  loaded_at = EXCLUDED.loaded_at, lines = EXCLUDED.lines, rows_inserted = EXCLUDED.rows_inserted,
  duplicates = EXCLUDED.duplicates, quarantined = EXCLUDED.quarantined`;

/** Ledger rows of a batch's objects (parallel arrays), inside its load transaction. */
export async function recordLoadedObjects(
  session: Session,
  runId: string,
  objects: {
    keys: string[];
    etags: string[];
    lines: number[];
    inserted: number[];
    duplicates: number[];
    quarantined: number[];
  },
): Promise<void> {
  const o = objects;
  await session.query(LOADED_SQL, [o.keys, o.etags, runId, o.lines, o.inserted, o.duplicates, o.quarantined]);
}

const REBUILT_SQL = `
INSERT INTO etl_rebuilt_objects (window_start, window_end, object_key, etag, run_id, rebuilt_at)
SELECT $1, $2, k, e, $3::uuid, now() FROM unnest($4::text[], $5::text[]) AS t(k, e)
ON CONFLICT (window_start, window_end, object_key) DO UPDATE SET etag = EXCLUDED.etag,
  run_id = EXCLUDED.run_id, rebuilt_at = EXCLUDED.rebuilt_at`;

/** A rebuild's progress: these objects of its range are re-mapped (same transaction as the rows). */
export async function recordRebuiltObjects(
  session: Session,
  window: ReceiveWindow,
  runId: string,
  keys: string[],
  etags: string[],
): Promise<void> {
  await session.query(REBUILT_SQL, [window.start.toISOString(), window.end.toISOString(), runId, keys, etags]);
}

/** A rebuild of the range finished: a later rebuild of the same range starts over instead of resuming. */
export async function forgetRebuild(session: Session, window: ReceiveWindow): Promise<void> {
  await session.query('DELETE FROM etl_rebuilt_objects WHERE window_start = $1 AND window_end = $2', [
    window.start.toISOString(),
    window.end.toISOString(),
  ]);
}
