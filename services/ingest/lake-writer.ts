/**
 * Group commit into the raw lake. Requests that arrive while earlier writes are in flight join one
 * pending group; the group becomes one object per (area, hour) as soon as a write slot frees up.
 * Idle: a request is written at once (no added latency). Loaded: each object carries many
 * requests, so throughput is bounded by encode + fsync/PUT per group, not per request.
 *
 * Durability contract: `write()` resolves only after every object holding that request's lines
 * is stored. If any of the group's puts fails, every request of the group is rejected (the HTTP
 * layer answers 503, the tracker retries with the same event_ids and the ETL dedupes by event_id).
 *
 * Events objects carry REGISTRY_HASH as metadata: their lines passed this build's validators, so
 * an ETL of the same build does not validate them again (docs/etl.md).
 */
import { monotonicFactory } from 'ulid';
import { REGISTRY_HASH } from '../../generated/registry-hash.ts';
import { encodeJsonlLines } from '../lake/jsonl.ts';
import { type LakeArea, objectKey, type RawStore } from '../lake/raw-store.ts';
import { floorHour } from '../time.ts';

export interface LakeWriterOptions {
  /** Concurrent group writes; default: the store's putConcurrency, else 4 (S3 round trips overlap). */
  maxInFlight?: number;
  /** A pending group this large is written even when all slots are busy, bounding object size. */
  maxGroupLines?: number;
  /**
   * Same, in UTF-16 units of its lines (UTF-8 bytes ≤ 3×): the default 16 M keeps every object
   * under the ETL's default 64 MiB per-object read cap (ETL_MAX_OBJECT_BYTES), one request included.
   */
  maxGroupChars?: number;
  ulid?: () => string;
}

export interface WrittenObject {
  key: string;
  etag: string;
  lines: number;
}

const VALIDATED = { registryHash: REGISTRY_HASH };

interface Part {
  hour: Date;
  area: LakeArea;
  lines: string[];
}

interface Group {
  parts: Map<string, Part>;
  lines: number;
  chars: number;
  requests: number;
  done: Promise<WrittenObject[]>;
  resolve(objects: WrittenObject[]): void;
  reject(err: unknown): void;
}

export class LakeWriter {
  private pending: Group | undefined;
  private inFlight = 0;
  private readonly maxInFlight: number;
  private readonly maxGroupLines: number;
  private readonly maxGroupChars: number;
  private readonly ulid: () => string;
  private readonly idleWaiters: (() => void)[] = [];

  constructor(
    private readonly store: RawStore,
    opts: LakeWriterOptions = {},
  ) {
    this.maxInFlight = opts.maxInFlight ?? store.putConcurrency ?? 4;
    this.maxGroupLines = opts.maxGroupLines ?? 20_000;
    this.maxGroupChars = opts.maxGroupChars ?? 16 * 1024 * 1024;
    this.ulid = opts.ulid ?? monotonicFactory();
  }

  /**
   * Stores the lines of one request: `events` (enriched event lines) and `quarantine` (rejected
   * records), both keyed by the hour of `receivedAt`. Resolves with the objects that hold them.
   */
  write(events: string[], quarantine: string[], receivedAt: Date): Promise<WrittenObject[]> {
    if (events.length === 0 && quarantine.length === 0) return Promise.resolve([]);
    const group = this.pending ?? this.newGroup();
    this.pending = group;
    this.append(group, 'events', events, receivedAt);
    this.append(group, 'quarantine', quarantine, receivedAt);
    group.requests++;
    if (this.inFlight < this.maxInFlight || group.lines >= this.maxGroupLines || group.chars >= this.maxGroupChars) {
      this.flush();
    }
    return group.done;
  }

  /** Resolves once nothing is pending or in flight (graceful shutdown). */
  drain(): Promise<void> {
    if (!this.pending && this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private newGroup(): Group {
    let resolve!: (objects: WrittenObject[]) => void;
    let reject!: (err: unknown) => void;
    const done = new Promise<WrittenObject[]>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // A group nobody awaits any more must not crash the process with an unhandled rejection.
    done.catch(() => {});
    return { parts: new Map(), lines: 0, chars: 0, requests: 0, done, resolve, reject };
  }

  private append(group: Group, area: LakeArea, lines: string[], receivedAt: Date): void {
    if (lines.length === 0) return;
    const hour = floorHour(receivedAt);
    const id = `${area}/${hour.getTime()}`;
    let part = group.parts.get(id);
    if (!part) {
      part = { hour, area, lines: [] };
      group.parts.set(id, part);
    }
    for (const line of lines) {
      part.lines.push(line);
      group.chars += line.length;
    }
    group.lines += lines.length;
  }

  private flush(): void {
    const group = this.pending;
    if (!group) return;
    this.pending = undefined;
    this.inFlight++;
    this.commit(group)
      .then(group.resolve, group.reject)
      .finally(() => {
        this.inFlight--;
        if (this.pending && this.inFlight < this.maxInFlight) this.flush();
        if (!this.pending && this.inFlight === 0) for (const wake of this.idleWaiters.splice(0)) wake();
      });
  }

  private async commit(group: Group): Promise<WrittenObject[]> {
    return Promise.all(
      [...group.parts.values()].map(async (part) => {
        const key = objectKey(part.area, part.hour, this.ulid());
        const body = encodeJsonlLines(part.lines);
        const { etag } = await this.store.put(key, body, part.area === 'events' ? VALIDATED : undefined);
        return { key, etag, lines: part.lines.length };
      }),
    );
  }
}
