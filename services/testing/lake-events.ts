/** Test helper: the events a folder lake holds, as a test that drives the tracker compares them. */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { decodeJsonl } from '../lake/jsonl.ts';

/**
 * Every distinct event under `<lakeDir>/events/`, objects in key order: the tracker is
 * at-least-once (an event handed off at a page hide without an answer is sent again by the next
 * page, docs/tracker.md) and the warehouse keeps one row per event_id, so the first copy of each
 * event_id stands for it. A lake with no events/ folder yet holds none.
 */
export async function lakeEvents<T extends { event_id: string }>(lakeDir: string): Promise<T[]> {
  const dir = path.join(lakeDir, 'events');
  const files = (await readdir(dir, { recursive: true }).catch(() => [] as string[]))
    .filter((f) => f.endsWith('.jsonl.gz'))
    .sort(); // UTF-16 code unit order: key order, whatever the locale
  const byId = new Map<string, T>();
  for (const file of files) {
    for (const line of decodeJsonl(await readFile(path.join(dir, file)))) {
      const event = JSON.parse(line) as T;
      if (!byId.has(event.event_id)) byId.set(event.event_id, event);
    }
  }
  return [...byId.values()];
}
