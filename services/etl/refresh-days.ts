/**
 * Recomputing the per-day tables (daily_event_counts, sessions, the dashboard rollups) of the UTC
 * days a load changed. A load marks its days in etl_dirty_days in its own transaction; the marks
 * are cleared in the transaction that recomputes them, so a crash in between only defers the work.
 */
import { refreshRollups, refreshRollupsAfterDelete } from './rollups.ts';
import type { Session } from './warehouse.ts';
import { REFRESH_DAILY_SQL, REFRESH_SESSIONS_SQL } from './warehouse-sql.ts';

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
