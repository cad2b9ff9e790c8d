/**
 * Retention, enforced by every regular ETL run — trigger `schedule` or `manual`: `etl run`, the
 * Lambda's schedule, `npm start`'s ticks; never a backfill or rebuild of an old range
 * (LAKE_RETENTION_DAYS / WAREHOUSE_RETENTION_DAYS; 0 keeps forever). Every caller passes
 * `retentionFrom(config)`; runEtl decides by the trigger: lake objects of the hours before the lake cutoff are deleted (events/, quarantine/,
 * replayed/, and their ledger rows); warehouse rows holding per-user data (facts, sessions,
 * session_details, client_hours, quarantined_events) older than the warehouse cutoff are deleted.
 * Aggregated rollups hold no per-user data and are kept, so the dashboard's history outlives the
 * raw rows. Runs under the ETL lock, after the loads.
 */

import type { Config } from '../config.ts';
import { hourOfKey, type RawStore } from '../lake/raw-store.ts';
import { DAY_MS, hourStartMs } from '../time.ts';
import type { Session } from './warehouse.ts';

export interface RetentionResult {
  lakeObjectsDeleted: number;
  warehouseRowsDeleted: number;
}

export interface RetentionPolicy {
  lakeDays: number;
  warehouseDays: number;
}

/** The configured retention, as every caller of runEtl passes it. */
export function retentionFrom(
  config: Pick<Config, 'LAKE_RETENTION_DAYS' | 'WAREHOUSE_RETENTION_DAYS'>,
): RetentionPolicy {
  return { lakeDays: config.LAKE_RETENTION_DAYS, warehouseDays: config.WAREHOUSE_RETENTION_DAYS };
}

/** Deletes what is older than the retention periods (days; 0 = keep forever). */
export async function applyRetention(
  deps: { session: Session; store: RawStore },
  retention: { lakeDays: number; warehouseDays: number },
  now: Date,
): Promise<RetentionResult> {
  const result: RetentionResult = { lakeObjectsDeleted: 0, warehouseRowsDeleted: 0 };
  const { session, store } = deps;
  if (retention.lakeDays > 0) {
    const cutoff = hourStartMs(now.getTime() - retention.lakeDays * DAY_MS);
    for (const area of ['events', 'quarantine', 'replayed'] as const) {
      const expired: string[] = [];
      for await (const o of store.list(`${area}/`)) {
        // Keys sort by hour: the first one at or after the cutoff ends the area.
        const hour = hourOfKey(area === 'replayed' ? `quarantine/${o.key.slice('replayed/'.length)}` : o.key);
        if (!hour) continue;
        if (hour.getTime() >= cutoff) break;
        expired.push(o.key);
      }
      for (const key of expired) await store.delete(key);
      if (expired.length && area !== 'replayed') {
        await session.query('DELETE FROM etl_loaded_objects WHERE object_key = ANY($1::text[])', [expired]);
      }
      result.lakeObjectsDeleted += expired.length;
    }
  }
  if (retention.warehouseDays > 0) {
    const cutoff = new Date(now.getTime() - retention.warehouseDays * DAY_MS).toISOString();
    await session.query('BEGIN');
    const facts = await session.query('DELETE FROM clickstream_events WHERE event_timestamp < $1', [cutoff]);
    await session.query('DELETE FROM sessions WHERE ended_at < $1', [cutoff]);
    await session.query('DELETE FROM session_details WHERE started_at < $1', [cutoff]);
    await session.query('DELETE FROM client_hours WHERE hour < $1', [cutoff]);
    await session.query('DELETE FROM quarantined_events WHERE received_at < $1', [cutoff]);
    await session.query('COMMIT');
    result.warehouseRowsDeleted = facts.rowCount;
  }
  return result;
}
