/**
 * Which lake objects a run loads: the receive-time window, and per UTC day of it the objects in
 * the key layout that the ledger does not hold with the same ETag. Keys the layout does not
 * describe never move the window and are never loaded: they are reported as skipped (a stray
 * `events/0000-stray.jsonl.gz` once made the first run start at the current hour and lose a
 * 30-hour-old object). Late objects older than a planned window's look-back are reported too —
 * one more look-back span before the window is listed for them — for `etl backfill` to load.
 */
import { dayPrefix, hourOfKey, type LakeObject, type RawStore } from '../lake/raw-store.ts';
import { daysOf, floorHour, HOUR_MS } from '../time.ts';
import { type RetryPolicy, withRetry } from './retry.ts';
import { isTooLong, type SkippedKeys } from './skipped.ts';
import type { Session } from './warehouse.ts';

export interface ReceiveWindow {
  /** Inclusive; rounded down to the hour (the lake's finest partition). */
  start: Date;
  /** Exclusive. */
  end: Date;
}

/** The hour of a loadable key; reports (and returns undefined for) any other key. */
function hourOfLoadable(key: string, skipped: SkippedKeys): number | undefined {
  const hour = hourOfKey(key)?.getTime();
  if (hour === undefined) {
    skipped.add({ key, reason: 'outside_layout', detail: 'not events/YYYY/MM/DD/HH/<name>.jsonl.gz' });
  } else if (isTooLong(key)) {
    skipped.add({
      key,
      reason: 'key_too_long',
      detail: `${key.length} characters; the ledger holds keys of up to 1024`,
    });
    return undefined;
  }
  return hour;
}

/**
 * The window of a scheduled or manual run: from the end of the last successful one minus the
 * look-back, or on the very first run from the first object in the layout; up to `end`.
 */
export async function planWindow(
  session: Session,
  store: RawStore,
  lookbackHours: number,
  end: Date,
  retry: RetryPolicy,
  skipped: SkippedKeys,
): Promise<ReceiveWindow> {
  const { rows } = await session.query<{ last: Date | string | null }>(
    `SELECT max(window_end) AS last FROM etl_runs WHERE status = 'succeeded' AND trigger IN ('schedule', 'manual')`,
  );
  const last = rows[0]?.last;
  if (last) return { start: floorHour(new Date(new Date(last).getTime() - lookbackHours * HOUR_MS)), end };
  const first = await withRetry('list events/', retry, async () => {
    for await (const o of store.list('events/', (s) => skipped.add(s))) {
      const hour = hourOfLoadable(o.key, skipped);
      if (hour !== undefined) return new Date(hour);
    }
    return undefined;
  });
  return { start: first ?? floorHour(end), end };
}

/** Every object of one UTC day in the key layout, with its hour (what `etl rebuild` re-maps). */
export function objectsOfDay(
  store: RawStore,
  day: Date,
  retry: RetryPolicy,
  skipped: SkippedKeys,
): Promise<{ object: LakeObject; hour: number }[]> {
  const prefix = dayPrefix('events', day);
  return withRetry(`list ${prefix}`, retry, async () => {
    const out: { object: LakeObject; hour: number }[] = [];
    for await (const object of store.list(prefix, (s) => skipped.add(s))) {
      const hour = hourOfLoadable(object.key, skipped);
      if (hour !== undefined) out.push({ object, hour });
    }
    return out;
  });
}

/**
 * The objects of `listed` that `table` (etl_loaded_objects, or etl_rebuilt_objects with `where`
 * naming a rebuild's range) does not hold with the same ETag.
 */
export async function notYetIn(
  session: Session,
  listed: { object: LakeObject; hour: number }[],
  table: 'etl_loaded_objects' | 'etl_rebuilt_objects',
  where: { sql: string; params: unknown[] } = { sql: '', params: [] },
): Promise<{ object: LakeObject; hour: number }[]> {
  if (!listed.length) return [];
  const { rows } = await session.query<{ object_key: string; etag: string }>(
    `SELECT object_key, etag FROM ${table} WHERE object_key = ANY($1::text[])${where.sql}`,
    [listed.map((o) => o.object.key), ...where.params],
  );
  const done = new Map(rows.map((r) => [r.object_key, r.etag]));
  // A key loaded with another ETag was rewritten: load it again (event_id dedupes the overlap).
  return listed.filter((o) => done.get(o.object.key) !== o.object.etag);
}

/** Objects of one UTC day in the key layout that the ledger does not hold with the same ETag. */
export async function unloadedObjectsOfDay(
  session: Session,
  store: RawStore,
  day: Date,
  retry: RetryPolicy,
  skipped: SkippedKeys,
): Promise<{ object: LakeObject; hour: number }[]> {
  return notYetIn(session, await objectsOfDay(store, day, retry, skipped), 'etl_loaded_objects');
}

/** Reports the unloaded objects of the look-back span before a planned window as late. */
export async function reportLateObjects(
  session: Session,
  store: RawStore,
  window: ReceiveWindow,
  lookbackHours: number,
  retry: RetryPolicy,
  skipped: SkippedKeys,
): Promise<void> {
  const from = window.start.getTime() - lookbackHours * HOUR_MS;
  for (const day of daysOf(new Date(from), window.start)) {
    for (const { object, hour } of await unloadedObjectsOfDay(session, store, day, retry, skipped)) {
      if (hour < window.start.getTime()) skipped.add(lateObject(object, window));
    }
  }
}

export function lateObject(object: LakeObject, window: ReceiveWindow) {
  return {
    key: object.key,
    reason: 'older_than_lookback' as const,
    detail: `not loaded: its hour is before this run's window (from ${window.start.toISOString()}); load it with etl backfill`,
  };
}
