/**
 * The registry hash an object carries decides whether the ETL validates its lines: equal to this
 * build's REGISTRY_HASH (ingest validated them with the same validators), they are only parsed
 * and mapped; any other hash, or none, validates as always. Over the folder lake and s3rver.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REGISTRY_HASH } from '../../generated/registry-hash.ts';
import { FileRawStore } from '../lake/file-store.ts';
import { decodeJsonl, encodeJsonlLines } from '../lake/jsonl.ts';
import { type ObjectMetadata, objectKey, type RawStore } from '../lake/raw-store.ts';
import { S3RawStore } from '../lake/s3-store.ts';
import { type S3rverHandle, startS3rver } from '../testing/s3rver.ts';
import { runEtl } from './core.ts';
import { sampleEvents } from './sample-lake.ts';
import { openWarehouse } from './warehouse.ts';

const HOUR = new Date('2026-11-20T08:00:00Z');
const OTHER_HASH = '0'.repeat(64);

const lakes: [string, () => Promise<{ store: RawStore; close(): Promise<void> }>][] = [
  [
    'file',
    async () => {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'etl-hash-'));
      return { store: new FileRawStore(dir), close: () => rm(dir, { recursive: true, force: true }) };
    },
  ],
  [
    's3',
    async () => {
      const s3: S3rverHandle = await startS3rver();
      return { store: new S3RawStore({ bucket: s3.bucket, endpoint: s3.endpoint }), close: () => s3.stop() };
    },
  ],
];

describe.each(lakes)('registry hash over the %s lake', (_name, open) => {
  let store: RawStore;
  let close: () => Promise<void>;
  beforeAll(async () => {
    ({ store, close } = await open());
  });
  afterAll(() => close());

  it('skips schema validation only for objects whose hash is this build’s; bad JSON is quarantined always', async () => {
    const events = [...sampleEvents(9, { start: HOUR, spanHours: 1 })];
    /** Three lines per object: valid, failing the schema (an unknown wire field), not JSON. */
    const objects: [string, ObjectMetadata | undefined][] = [
      ['01MATCHING', { registryHash: REGISTRY_HASH }],
      ['02MISMATCHED', { registryHash: OTHER_HASH }],
      ['03WITHOUT', undefined],
    ];
    const ids: Record<string, string[]> = {};
    for (const [i, [name, metadata]] of objects.entries()) {
      const [valid, invalid] = events.slice(i * 3, i * 3 + 2);
      const lines = [JSON.stringify(valid), JSON.stringify({ ...invalid, not_in_schema: true }), '{"event_id": '];
      ids[name] = [String(valid?.event_id), String(invalid?.event_id)];
      await store.put(objectKey('events', HOUR, name), encodeJsonlLines(lines), metadata);
    }

    const warehouse = await openWarehouse({ pgliteDir: 'memory://' });
    try {
      await warehouse.migrate();
      const result = await runEtl(
        { warehouse, store },
        { trigger: 'manual', lookbackHours: 24, now: () => new Date('2026-11-21T00:00:00Z') },
      );
      expect(result).toMatchObject({ status: 'succeeded', objects: 3, lines: 9, rowsInserted: 4, quarantined: 5 });
      const loaded = (
        await warehouse.query<{ id: string }>('SELECT event_id::text AS id FROM clickstream_events ORDER BY 1')
      ).map((r) => r.id);
      expect(loaded).toEqual([...(ids['01MATCHING'] ?? []), ids['02MISMATCHED']?.[0], ids['03WITHOUT']?.[0]].sort());

      const rules: Record<string, string[]> = {};
      for await (const o of store.list('quarantine/')) {
        const name = /etl-(\w+)\.jsonl\.gz$/.exec(o.key)?.[1] as string;
        rules[name] = decodeJsonl(await store.get(o.key)).flatMap((l) =>
          (JSON.parse(l) as { errors: { rule: string }[] }).errors.map((e) => e.rule),
        );
      }
      expect(rules).toEqual({
        '01MATCHING': ['json'],
        '02MISMATCHED': ['additionalProperties', 'json'],
        '03WITHOUT': ['additionalProperties', 'json'],
      });
    } finally {
      await warehouse.close();
    }
  }, 60_000);
});
