import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { REGISTRY_HASH } from '../../generated/registry-hash.ts';
import { FileRawStore } from '../lake/file-store.ts';
import { decodeJsonl } from '../lake/jsonl.ts';
import { getWithMetadata, type RawStore } from '../lake/raw-store.ts';
import { LakeWriter } from './lake-writer.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'lake-writer-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

async function contents(store: RawStore, prefix: string): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for await (const o of store.list(prefix)) out[o.key] = decodeJsonl(await store.get(o.key));
  return out;
}

const at = new Date('2026-11-26T04:30:00.000Z');

describe('LakeWriter', () => {
  it('writes events and quarantine lines under their UTC receive hour', async () => {
    const store = new FileRawStore(dir);
    const objects = await new LakeWriter(store).write(['{"e":1}', '{"e":2}'], ['{"q":1}'], at);
    expect(objects.map((o) => o.key).sort()).toEqual([
      expect.stringMatching(/^events\/2026\/11\/26\/04\/[0-9A-Z]{26}\.jsonl\.gz$/),
      expect.stringMatching(/^quarantine\/2026\/11\/26\/04\/[0-9A-Z]{26}\.jsonl\.gz$/),
    ]);
    expect(Object.values(await contents(store, 'events/'))).toEqual([['{"e":1}', '{"e":2}']]);
    expect(Object.values(await contents(store, 'quarantine/'))).toEqual([['{"q":1}']]);
  });

  it('stores the registry hash with events objects (their lines were validated), not with quarantine ones', async () => {
    const store = new FileRawStore(dir);
    const objects = await new LakeWriter(store).write(['{"e":1}'], ['{"q":1}'], at);
    const metadata = Object.fromEntries(
      await Promise.all(
        objects.map(async (o) => [o.key.split('/')[0], (await getWithMetadata(store, o.key)).metadata]),
      ),
    );
    expect(metadata).toEqual({ events: { registryHash: REGISTRY_HASH }, quarantine: {} });
  });

  it('lets requests that arrive during a write share the next object', async () => {
    const store = new FileRawStore(dir);
    const writer = new LakeWriter(store, { maxInFlight: 1 });
    const first = writer.write(['{"r":1}'], [], at);
    const joined = [2, 3, 4].map((r) => writer.write([`{"r":${r}}`], [], at));
    const [firstObjects, ...joinedObjects] = await Promise.all([first, ...joined]);
    expect(new Set(joinedObjects.map((o) => o[0]!.key)).size).toBe(1);
    expect(joinedObjects[0]![0]!.key).not.toBe(firstObjects![0]!.key);
    const stored = await contents(store, 'events/');
    expect(Object.values(stored).sort()).toEqual([['{"r":1}'], ['{"r":2}', '{"r":3}', '{"r":4}']]);
  });

  it('writes a pending group past maxGroupChars at once, even with every slot busy (bounded objects)', async () => {
    const store = new FileRawStore(dir);
    const writer = new LakeWriter(store, { maxInFlight: 1, maxGroupChars: 20 });
    const busy = writer.write(['{"r":0}'], [], at);
    const a = writer.write(['{"r":1,"pad":"aaaa"}'], [], at); // 20 chars: full, written now
    const b = writer.write(['{"r":2}'], [], at);
    const [, objectsA, objectsB] = await Promise.all([busy, a, b]);
    expect(objectsA![0]!.key).not.toBe(objectsB![0]!.key);
    expect(Object.values(await contents(store, 'events/'))).toHaveLength(3);
  });

  it('splits a group that spans an hour boundary into one object per hour', async () => {
    const store = new FileRawStore(dir);
    const writer = new LakeWriter(store, { maxInFlight: 1 });
    const busy = writer.write(['{"r":0}'], [], at);
    const before = writer.write(['{"r":1}'], [], new Date('2026-11-26T04:59:59.999Z'));
    const after = writer.write(['{"r":2}'], [], new Date('2026-11-26T05:00:00.000Z'));
    await Promise.all([busy, before, after]);
    expect(Object.values(await contents(store, 'events/2026/11/26/05/'))).toEqual([['{"r":2}']]);
    expect(Object.values(await contents(store, 'events/2026/11/26/04/')).sort()).toEqual([['{"r":0}'], ['{"r":1}']]);
  });

  it('rejects every request of a group whose store write fails, and drains', async () => {
    // A regular file where the lake root should be: a real ENOTDIR on every put.
    const root = path.join(dir, 'not-a-directory');
    await writeFile(root, 'x');
    const writer = new LakeWriter(new FileRawStore(root), { maxInFlight: 1 });
    const results = await Promise.allSettled([1, 2, 3].map((r) => writer.write([`{"r":${r}}`], [], at)));
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    await writer.drain();
  });
});
