/**
 * COPY a batch's rows into the fact table inside the caller's transaction, skipping the rows the
 * table already holds and the rows PostgreSQL refuses — so that one line the warehouse cannot
 * store is quarantined with PostgreSQL's own reason and never fails the run.
 *
 * Optimistic: the whole batch is copied at once. When the COPY fails it is rolled back to a
 * savepoint and the failure decides what to leave out before copying again:
 * - a primary-key conflict (a re-read object, a tracker retry in another object): the first time,
 *   every event_id of the batch is probed and the known ones are left out; after that, the row
 *   the error names;
 * - a data error (SQLSTATE class 22, NOT NULL, CHECK, a value too large for an index): the row
 *   the error names (`COPY …, line N`) is refused with the error's message.
 * Each retry leaves out at least one row, so the loop ends; anything else (a lost connection)
 * fails the batch as before. Validation before the load already refuses what it knows to be
 * unstorable, so the retries are a safety net, not the common path.
 */
import type { LineError } from './parse.ts';
import type { Session } from './warehouse.ts';

export interface CopyBatch {
  /** COPY text of every row. */
  copy: Uint8Array;
  /** End offset of each row in `copy`. */
  ends: number[];
  /** Lower-case event_id of each row. */
  ids: string[];
}

export interface CopyOutcome {
  /** Rows left out because the fact table already held their event_id. */
  existing: Set<number>;
  /** Rows PostgreSQL refused, with its reason. */
  refused: Map<number, LineError>;
}

const UNIQUE_VIOLATION = '23505';
/** Errors that blame one row's values: data exceptions, NOT NULL, CHECK, index row too large. */
const ROW_ERROR = /^(22...|23502|23514|54000)$/;

/** Which of the ids the fact table already holds (primary-key probes). */
const EXISTING_SQL = 'SELECT event_id::text AS id FROM clickstream_events WHERE event_id = ANY($1::uuid[])';

export async function copyRows(session: Session, copySql: string, batch: CopyBatch): Promise<CopyOutcome> {
  const outcome: CopyOutcome = { existing: new Set(), refused: new Map() };
  let probed = false;
  for (;;) {
    const included: number[] = [];
    for (let r = 0; r < batch.ids.length; r++) {
      if (!outcome.existing.has(r) && !outcome.refused.has(r)) included.push(r);
    }
    if (!included.length) return outcome;
    await session.query('SAVEPOINT copy_rows');
    try {
      await session.copyIn(copySql, included.length === batch.ids.length ? batch.copy : slices(batch, included));
      await session.query('RELEASE SAVEPOINT copy_rows');
      return outcome;
    } catch (err) {
      const e = err as { code?: string; where?: string; message?: string };
      if (typeof e.code !== 'string' || !(e.code === UNIQUE_VIOLATION || ROW_ERROR.test(e.code))) throw err;
      await session.query('ROLLBACK TO SAVEPOINT copy_rows');
      if (e.code === UNIQUE_VIOLATION && !probed) {
        probed = true;
        const ids = included.map((r) => batch.ids[r] as string);
        const known = new Set((await session.query<{ id: string }>(EXISTING_SQL, [ids])).rows.map((row) => row.id));
        for (const r of included) if (known.has(batch.ids[r] as string)) outcome.existing.add(r);
        continue;
      }
      const failed = copyLine(e.where);
      const row = failed === undefined ? undefined : included[failed - 1];
      if (row === undefined) throw err;
      if (e.code === UNIQUE_VIOLATION) outcome.existing.add(row);
      else outcome.refused.set(row, { path: '', rule: 'warehouse_refused', message: refusal(e) });
    }
  }
}

/** The 1-based line of the COPY input an error names (`COPY clickstream_events, line 3, column …`). */
function copyLine(where: string | undefined): number | undefined {
  const m = /\bCOPY [^,]+, line (\d+)/.exec(where ?? '');
  return m ? Number(m[1]) : undefined;
}

function refusal(e: { code?: string; where?: string; message?: string }): string {
  const column = /, column (\w+)/.exec(e.where ?? '')?.[1];
  return `PostgreSQL refused the row${column ? ` (column ${column})` : ''}: ${e.message} [SQLSTATE ${e.code}]`;
}

/** The COPY text of the included rows only (in ascending row order). */
export function slices(batch: CopyBatch, included: number[]): Buffer {
  const parts: Uint8Array[] = [];
  let runStart = -1;
  let runEnd = -1;
  for (const r of included) {
    const start = r === 0 ? 0 : (batch.ends[r - 1] as number);
    const end = batch.ends[r] as number;
    if (start === runEnd) {
      runEnd = end;
    } else {
      if (runStart >= 0) parts.push(batch.copy.subarray(runStart, runEnd));
      runStart = start;
      runEnd = end;
    }
  }
  if (runStart >= 0) parts.push(batch.copy.subarray(runStart, runEnd));
  return Buffer.concat(parts);
}
