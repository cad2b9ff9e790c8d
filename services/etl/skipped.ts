/**
 * Lake keys a run lists but does not load, each with its reason: counted exactly (the run's
 * result, its etl_runs row), logged, and recorded in etl_skipped_objects (the first
 * SKIPPED_RECORDED_PER_RUN of a run). A key reported twice in one run (the progress pass lists
 * the window twice) counts once.
 */
import { createHash } from 'node:crypto';
import ledgerSchema from '../../schemas/warehouse/etl_loaded_objects.json' with { type: 'json' };
import type { SkippedEntry } from '../lake/raw-store.ts';
import { truncateCodePoints } from '../storable.ts';

export type SkipReason = SkippedEntry['reason'] | 'outside_layout' | 'key_too_long' | 'older_than_lookback';

export interface SkippedKey {
  key: string;
  reason: SkipReason;
  detail?: string;
}

/** Longest key the ledger can record: the length of etl_loaded_objects.object_key. */
export const MAX_KEY_CHARS = Number(/^varchar\((\d+)\)$/.exec(ledgerSchema.columns.object_key.type)?.[1]);
export const SKIPPED_RECORDED_PER_RUN = 1000;
/** Skipped keys logged one by one per run; the rest only in the run's summary count. */
const LOGGED_PER_RUN = 20;

export const INSERT_SKIPPED_SQL = `INSERT INTO etl_skipped_objects (run_id, object_key, reason, detail, skipped_at)
SELECT $1::uuid, k, r, d, now() FROM unnest($2::text[], $3::text[], $4::text[]) AS t(k, r, d)
ON CONFLICT (run_id, object_key) DO NOTHING`;

export class SkippedKeys {
  count = 0;
  readonly recorded: SkippedKey[] = [];
  private readonly seen = new Set<string>();

  constructor(private readonly log: (entry: Record<string, unknown>) => void) {}

  add(skip: SkippedKey): void {
    const key = recordableKey(skip.key);
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.count++;
    if (this.recorded.length < SKIPPED_RECORDED_PER_RUN) this.recorded.push({ ...skip, key });
    if (this.count <= LOGGED_PER_RUN) {
      this.log({ level: 'warn', msg: 'lake key skipped', key, reason: skip.reason, detail: skip.detail });
    }
  }

  /** Parameters of INSERT_SKIPPED_SQL after the run id. */
  params(): [string[], string[], (string | null)[]] {
    return [
      this.recorded.map((s) => s.key),
      this.recorded.map((s) => s.reason),
      this.recorded.map((s) => s.detail ?? null),
    ];
  }
}

/** The key, or for one longer than the ledger column, its start, `…` and its SHA-256 (still unique). */
export function recordableKey(key: string): string {
  if (!isTooLong(key)) return key;
  const hash = createHash('sha256').update(key).digest('hex');
  return `${truncateCodePoints(key, MAX_KEY_CHARS - hash.length - 1)}…${hash}`;
}

/** Whether the ledger's varchar cannot hold `key` (it counts code points). */
export function isTooLong(key: string): boolean {
  return truncateCodePoints(key, MAX_KEY_CHARS) !== key;
}
