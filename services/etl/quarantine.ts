/**
 * Loads the lake's quarantine/ objects into quarantined_events, exactly once through the same
 * ledger as event objects: an object's rows and its etl_loaded_objects row commit together, and an
 * object rewritten with another ETag (the ETL rewrites its own quarantine object when a batch is
 * retried) replaces its earlier rows. Two writers produce these objects: ingest
 * (`quarantine/…/<ulid>.jsonl.gz`, events rejected at POST /clickstream) and the ETL itself
 * (`quarantine/…/etl-<ulid>.jsonl.gz`, lines it could not load); each line is
 * `{ raw, errors: [{ path, rule, message }], received_at }`.
 *
 * Only bounded parts are stored: the first error's rule/path/message, up to 20 errors, and the
 * first 2048 characters of the raw JSON. The object itself stays in the lake for inspection.
 */
import { decodeJsonl } from '../lake/jsonl.ts';
import { dayPrefix, hourOfKey, type LakeObject, type RawStore } from '../lake/raw-store.ts';
import { daysOf, hourStartMs } from '../time.ts';
import { type RetryPolicy, withRetry } from './retry.ts';
import type { Session } from './warehouse.ts';

const MAX_ERRORS = 20;
const EXCERPT_CHARS = 2048;

interface Row {
  line: number;
  source: 'ingest' | 'etl';
  received_at: string;
  event_name: string | null;
  event_version: number | null;
  rule: string;
  path: string;
  message: string;
  errors: string;
  raw_excerpt: string | null;
}

const clip = (s: unknown, n: number) => (typeof s === 'string' ? s.slice(0, n) : String(s ?? '').slice(0, n));
/** Strings PostgreSQL text cannot hold (NUL, lone surrogates) are replaced, not stored. */
const storable = (s: string) =>
  // biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is exactly what must be replaced.
  s.replace(/\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');

function parseOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const asObject = (v: unknown): Record<string, unknown> =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};

export function quarantineRow(line: string, index: number, key: string, fallbackReceivedAt: string): Row {
  const source = key.slice(key.lastIndexOf('/') + 1).startsWith('etl-') ? 'etl' : 'ingest';
  const parsed = parseOrUndefined(line);
  const record: { raw?: unknown; errors?: unknown; received_at?: unknown } | undefined =
    parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? parsed : undefined;
  const errors = Array.isArray(record?.errors)
    ? (record.errors as { path?: unknown; rule?: unknown; message?: unknown }[]).slice(0, MAX_ERRORS).map((e) => ({
        path: clip(e?.path, 512),
        rule: clip(e?.rule, 64),
        message: clip(e?.message, 512),
      }))
    : [{ path: '', rule: 'quarantine_record', message: 'the quarantine line is not a { raw, errors } record' }];
  const first = errors[0] ?? { path: '', rule: 'unknown', message: '' };
  const raw = record ? record.raw : line;
  // Ingest stores the event as received (an object); the ETL stores the lake line as text.
  const rawObject = asObject(typeof raw === 'string' ? parseOrUndefined(raw) : raw);
  const rawText = typeof raw === 'string' ? raw : raw === undefined ? null : JSON.stringify(raw);
  const receivedAt =
    typeof record?.received_at === 'string' && !Number.isNaN(Date.parse(record.received_at))
      ? new Date(record.received_at).toISOString()
      : fallbackReceivedAt;
  const version = rawObject.event_version;
  return {
    line: index,
    source,
    received_at: receivedAt,
    event_name: typeof rawObject.event_name === 'string' ? storable(rawObject.event_name.slice(0, 64)) : null,
    event_version: Number.isInteger(version) && Math.abs(version as number) < 2 ** 31 ? (version as number) : null,
    rule: storable(first.rule),
    path: storable(first.path),
    message: storable(first.message),
    errors: storable(JSON.stringify(errors)),
    raw_excerpt: rawText === null ? null : storable(rawText.slice(0, EXCERPT_CHARS)),
  };
}

const INSERT_SQL = `
INSERT INTO quarantined_events (object_key, line, source, received_at, event_name, event_version, rule, path,
  message, errors, raw_excerpt, loaded_at)
SELECT $1, l, s, r, n, v, ru, p, m, e::jsonb, x, now()
FROM unnest($2::int[], $3::text[], $4::timestamptz[], $5::text[], $6::int[], $7::text[], $8::text[], $9::text[],
  $10::text[], $11::text[]) AS t(l, s, r, n, v, ru, p, m, e, x)`;

const LEDGER_SQL = `
INSERT INTO etl_loaded_objects (object_key, etag, run_id, loaded_at, lines, rows_inserted, duplicates, quarantined)
VALUES ($1, $2, $3, now(), $4, 0, 0, $4)
ON CONFLICT (object_key) DO UPDATE SET etag = EXCLUDED.etag, run_id = EXCLUDED.run_id, loaded_at = EXCLUDED.loaded_at,
  lines = EXCLUDED.lines, rows_inserted = 0, duplicates = 0, quarantined = EXCLUDED.quarantined`;

export interface QuarantineLoadResult {
  objects: number;
  lines: number;
}

/** Loads the quarantine objects of the receive-time window [start, end) that the ledger lacks. */
export async function loadQuarantineObjects(
  session: Session,
  store: RawStore,
  window: { start: Date; end: Date },
  runId: string,
  retry: RetryPolicy,
): Promise<QuarantineLoadResult> {
  const result: QuarantineLoadResult = { objects: 0, lines: 0 };
  const from = hourStartMs(window.start.getTime());
  for (const day of daysOf(window.start, window.end)) {
    const prefix = dayPrefix('quarantine', day);
    const listed = await withRetry(`list ${prefix}`, retry, async () => {
      const out: LakeObject[] = [];
      for await (const o of store.list(prefix)) {
        const hour = hourOfKey(o.key)?.getTime();
        if (hour !== undefined && hour >= from && hour < window.end.getTime()) out.push(o);
      }
      return out;
    });
    if (!listed.length) continue;
    const { rows } = await session.query<{ object_key: string; etag: string }>(
      'SELECT object_key, etag FROM etl_loaded_objects WHERE object_key = ANY($1::text[])',
      [listed.map((o) => o.key)],
    );
    const loaded = new Map(rows.map((r) => [r.object_key, r.etag]));
    for (const o of listed.filter((x) => loaded.get(x.key) !== x.etag)) {
      const body = await withRetry(`get ${o.key}`, retry, () => store.get(o.key));
      const hour = (hourOfKey(o.key) as Date).toISOString();
      let lines: string[];
      try {
        lines = decodeJsonl(body);
      } catch (err) {
        lines = [JSON.stringify({ raw: null, errors: [{ path: '', rule: 'gzip', message: (err as Error).message }] })];
      }
      const parsed = lines.map((line, i) => quarantineRow(line, i, o.key, hour));
      const col = <K extends keyof Row>(k: K) => parsed.map((r) => r[k]);
      await session.query('BEGIN');
      await session.query('DELETE FROM quarantined_events WHERE object_key = $1', [o.key]);
      await session.query(INSERT_SQL, [
        o.key,
        col('line'),
        col('source'),
        col('received_at'),
        col('event_name'),
        col('event_version'),
        col('rule'),
        col('path'),
        col('message'),
        col('errors'),
        col('raw_excerpt'),
      ]);
      await session.query(LEDGER_SQL, [o.key, o.etag, runId, parsed.length]);
      await session.query('COMMIT');
      result.objects++;
      result.lines += parsed.length;
    }
  }
  return result;
}
