/**
 * Right to erasure and retention.
 *
 * `eraseSubject` removes one user's (user_id = Cognito sub) or one browser's (client_id) data:
 * 1. the lake: every object under events/ and quarantine/ that holds one of its lines is
 *    rewritten without them (same key, new content, so a new ETag); a replay record next to a
 *    rewritten quarantine object has its line numbers moved along;
 * 2. the warehouse, in ONE transaction: the fact rows, the sessions / session_details rows of the
 *    sessions concerned and the client_hours of the clients concerned are deleted, then daily
 *    counts, sessions and every rollup of every day those clients have facts on are recomputed
 *    from what is left; the ledger rows of the rewritten event objects take their new ETag (so no
 *    run loads them again, and a reload would find nothing of the subject anyway); the audit row
 *    (privacy_erasures, the subject as a SHA-256 hash) commits with it;
 * 3. the rewritten quarantine objects are loaded again into quarantined_events (their line
 *    numbers changed).
 * It holds the ETL lock throughout, so no run loads an object between its read and its rewrite.
 * Idempotent: a second erasure finds nothing and logs a row of zeros. A crash after (1) leaves
 * the warehouse rows, which the next erasure deletes. Lake objects are scanned whole: there is
 * no index from a user to the objects holding them, and an erasure must not miss one.
 * Retention (LAKE_RETENTION_DAYS / WAREHOUSE_RETENTION_DAYS) is in retention.ts.
 */
import { createHash, randomUUID } from 'node:crypto';
import os from 'node:os';
import { decodeJsonl, encodeJsonl, encodeJsonlLines } from '../lake/jsonl.ts';
import { hourOfKey, type RawStore, replayRecordKey } from '../lake/raw-store.ts';
import { HOUR_MS } from '../time.ts';
import { loadQuarantineObjects } from './quarantine.ts';
import { refreshDays } from './refresh-days.ts';
import { DEFAULT_RETRY } from './retry.ts';
import { LOCK_KEYS, type Session, type Warehouse } from './warehouse.ts';

export type Subject = { kind: 'user'; id: string } | { kind: 'client'; id: string };

export interface ErasureResult {
  status: 'succeeded' | 'skipped';
  erasureId?: string;
  rowsDeleted: number;
  sessionsDeleted: number;
  quarantinedDeleted: number;
  lakeObjectsRewritten: number;
  lakeLinesRemoved: number;
  daysRefreshed: string[];
}

const column = (s: Subject) => (s.kind === 'user' ? 'user_id' : 'client_id');

const asObject = (v: unknown): Record<string, unknown> | undefined =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Whether a lake line (an event, or a quarantine record around one) belongs to the subject. */
export function lineOf(subject: Subject, line: string, area: 'events' | 'quarantine'): boolean {
  // Cheap first: the identifier must appear in the text at all (JSON-escaped as it is stored).
  if (!line.includes(JSON.stringify(subject.id).slice(1, -1))) return false;
  let event = asObject(parse(line));
  if (area === 'quarantine') {
    const raw = event?.raw;
    event = asObject(typeof raw === 'string' ? parse(raw) : raw);
  }
  return event?.[column(subject)] === subject.id;
}

interface Rewritten {
  key: string;
  oldEtag: string;
  newEtag: string;
  area: 'events' | 'quarantine';
  removed: number;
}

/** Rewrites every lake object holding the subject's lines without them. */
async function eraseFromLake(store: RawStore, subject: Subject): Promise<Rewritten[]> {
  const out: Rewritten[] = [];
  for (const area of ['events', 'quarantine'] as const) {
    for await (const o of store.list(`${area}/`)) {
      if (!hourOfKey(o.key)) continue;
      const lines = decodeJsonl(await store.get(o.key));
      const kept: string[] = [];
      const newIndex = new Map<number, number>();
      lines.forEach((line, i) => {
        if (lineOf(subject, line, area)) return;
        newIndex.set(i, kept.length);
        kept.push(line);
      });
      if (kept.length === lines.length) continue;
      const { etag } = await store.put(o.key, encodeJsonlLines(kept));
      out.push({ key: o.key, oldEtag: o.etag, newEtag: etag, area, removed: lines.length - kept.length });
      if (area === 'quarantine') await moveReplayRecord(store, o.key, newIndex);
    }
  }
  return out;
}

/** A rewritten quarantine object's replay record, renumbered (lines removed are dropped). */
async function moveReplayRecord(store: RawStore, key: string, newIndex: Map<number, number>): Promise<void> {
  const recordKey = replayRecordKey(key);
  let exists = false;
  for await (const o of store.list(recordKey)) if (o.key === recordKey) exists = true;
  if (!exists) return;
  const record = JSON.parse(decodeJsonl(await store.get(recordKey))[0] ?? '{"lines":{}}') as {
    lines: Record<string, unknown>;
  };
  const lines: Record<string, unknown> = {};
  for (const [line, entry] of Object.entries(record.lines)) {
    const moved = newIndex.get(Number(line));
    if (moved !== undefined) lines[moved] = entry;
  }
  await store.put(recordKey, encodeJsonl([{ ...record, lines }]));
}

const hashOf = (id: string) => createHash('sha256').update(id).digest('hex');

export async function eraseSubject(
  deps: { warehouse: Warehouse; store: RawStore },
  subject: Subject,
  opts: { now?: () => Date; requestedBy?: string; log?: (e: Record<string, unknown>) => void } = {},
): Promise<ErasureResult> {
  const now = opts.now ?? (() => new Date());
  const log = opts.log ?? (() => {});
  const startedAt = now();
  const erasureId = randomUUID();
  const result: ErasureResult = {
    status: 'succeeded',
    erasureId,
    rowsDeleted: 0,
    sessionsDeleted: 0,
    quarantinedDeleted: 0,
    lakeObjectsRewritten: 0,
    lakeLinesRemoved: 0,
    daysRefreshed: [],
  };
  const locked = await deps.warehouse.withSession(async (session) => {
    if (!(await session.tryLock(LOCK_KEYS.etl))) return false;
    try {
      log({ level: 'info', msg: 'erasing from the lake (every object is read)', subject: subject.kind });
      const rewritten = await eraseFromLake(deps.store, subject);
      result.lakeObjectsRewritten = rewritten.length;
      result.lakeLinesRemoved = rewritten.reduce((n, r) => n + r.removed, 0);
      log({ level: 'info', msg: 'erasing from the warehouse', lake_objects_rewritten: rewritten.length });
      await session.query('BEGIN');
      await eraseFromWarehouse(session, subject, rewritten, result);
      await session.query(
        `INSERT INTO privacy_erasures (erasure_id, subject_kind, subject_sha256, requested_by, started_at, finished_at,
           rows_deleted, sessions_deleted, quarantined_deleted, lake_objects_rewritten, lake_lines_removed)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
        [
          erasureId,
          subject.kind,
          hashOf(subject.id),
          opts.requestedBy ?? null,
          startedAt.toISOString(),
          now().toISOString(),
          result.rowsDeleted,
          result.sessionsDeleted,
          result.quarantinedDeleted,
          result.lakeObjectsRewritten,
          result.lakeLinesRemoved,
        ],
      );
      await session.query('COMMIT');
      // Rewritten quarantine objects have new line numbers: load them again (their ledger ETag differs).
      for (const r of rewritten.filter((x) => x.area === 'quarantine')) {
        const hour = hourOfKey(r.key) as Date;
        await loadQuarantineObjects(
          session,
          deps.store,
          { start: hour, end: new Date(hour.getTime() + HOUR_MS) },
          erasureId,
          DEFAULT_RETRY,
        );
      }
    } finally {
      await session.unlock(LOCK_KEYS.etl).catch(() => {});
    }
    return true;
  });
  if (!locked) return { ...result, status: 'skipped', erasureId: undefined };
  return result;
}

async function eraseFromWarehouse(
  session: Session,
  subject: Subject,
  rewritten: Rewritten[],
  result: ErasureResult,
): Promise<void> {
  const col = column(subject);
  const { rows: touched } = await session.query<{ session_id: string; client_id: string }>(
    `SELECT DISTINCT session_id, client_id FROM clickstream_events WHERE ${col} = $1
     UNION SELECT session_id, client_id FROM sessions WHERE ${col} = $1`,
    [subject.id],
  );
  const sessions = touched.map((t) => t.session_id);
  const clients = [...new Set(touched.map((t) => t.client_id))];
  const deletedDays = await session.query<{ day: string }>(
    `DELETE FROM clickstream_events WHERE ${col} = $1
     RETURNING ((event_timestamp AT TIME ZONE 'UTC')::date)::text AS day`,
    [subject.id],
  );
  result.rowsDeleted = deletedDays.rowCount;
  // Every day the concerned clients still have facts on: their client_hours chains are rebuilt whole.
  const { rows: remaining } = await session.query<{ day: string }>(
    `SELECT DISTINCT ((event_timestamp AT TIME ZONE 'UTC')::date)::text AS day FROM clickstream_events
     WHERE client_id = ANY($1::text[])`,
    [clients],
  );
  const days = [...new Set([...deletedDays.rows.map((r) => r.day), ...remaining.map((r) => r.day)])].sort();
  const { rows: starts } = await session.query<{ h: Date }>(
    'SELECT DISTINCT start_hour AS h FROM session_details WHERE session_id = ANY($1::text[])',
    [sessions],
  );
  const deletedSessions = await session.query('DELETE FROM sessions WHERE session_id = ANY($1::text[])', [sessions]);
  const deletedDetails = await session.query('DELETE FROM session_details WHERE session_id = ANY($1::text[])', [
    sessions,
  ]);
  result.sessionsDeleted = deletedSessions.rowCount + deletedDetails.rowCount;
  await session.query('DELETE FROM client_hours WHERE client_id = ANY($1::text[])', [clients]);
  if (days.length || starts.length) {
    await refreshDays(session, days, { sessionHours: starts.map((r) => new Date(r.h).toISOString()) });
  }
  result.daysRefreshed = days;
  for (const r of rewritten) {
    if (r.area === 'events') {
      await session.query('UPDATE etl_loaded_objects SET etag = $3 WHERE object_key = $1 AND etag = $2', [
        r.key,
        r.oldEtag,
        r.newEtag,
      ]);
      await session.query('UPDATE etl_rebuilt_objects SET etag = $3 WHERE object_key = $1 AND etag = $2', [
        r.key,
        r.oldEtag,
        r.newEtag,
      ]);
    }
  }
  // The subject's quarantined lines: found by their excerpt (the raw event's JSON). Those of the
  // rewritten objects would go anyway when the objects are loaded again after the commit.
  const needle = `"${col}":${JSON.stringify(subject.id)}`;
  const q = await session.query('DELETE FROM quarantined_events WHERE position($1 IN raw_excerpt) > 0', [needle]);
  result.quarantinedDeleted = q.rowCount;
}

/** The OS user, for the audit row when --by is not given. */
export function currentUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    return 'unknown';
  }
}
