import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type S3rverHandle, startS3rver } from '../testing/s3rver.ts';
import { FileRawStore, gzipComment, withGzipComment } from './file-store.ts';
import { decodeJsonl, encodeJsonl } from './jsonl.ts';
import { openRawStore } from './open.ts';
import { getWithMetadata, type LakeObject, type RawStore } from './raw-store.ts';
import { S3RawStore } from './s3-store.ts';

async function collect(it: AsyncIterable<LakeObject>): Promise<LakeObject[]> {
  const out: LakeObject[] = [];
  for await (const o of it) out.push(o);
  return out;
}

/** Behaviour both stores must share: the ETL cannot tell them apart. */
function storeContract(name: string, open: () => Promise<{ store: RawStore; close(): Promise<void> }>) {
  describe(`${name} store contract`, () => {
    let store: RawStore;
    let close: () => Promise<void>;
    beforeAll(async () => {
      ({ store, close } = await open());
    });
    afterAll(() => close());

    it('round-trips bytes and reports the same etag on put and list', async () => {
      const body = encodeJsonl([{ a: 1 }, { b: 'ü' }]);
      const { etag } = await store.put('events/2026/11/26/04/01A.jsonl.gz', body);
      expect(etag).toMatch(/^[0-9a-f]{32}$/);
      expect(decodeJsonl(await store.get('events/2026/11/26/04/01A.jsonl.gz'))).toEqual(['{"a":1}', '{"b":"ü"}']);
      const listed = await collect(store.list('events/2026/11/26/04/'));
      expect(listed).toEqual([{ key: 'events/2026/11/26/04/01A.jsonl.gz', etag, size: body.byteLength }]);
    });

    it('lists only under the prefix, in key order', async () => {
      const keys = [
        'events/2026/11/26/05/01C.jsonl.gz',
        'events/2026/11/26/05/01B.jsonl.gz',
        'quarantine/2026/11/26/05/01D.jsonl.gz',
        'events/2026/11/27/00/01E.jsonl.gz',
      ];
      await Promise.all(keys.map((k) => store.put(k, encodeJsonl([k]))));
      expect((await collect(store.list('events/2026/11/26/05/'))).map((o) => o.key)).toEqual([
        'events/2026/11/26/05/01B.jsonl.gz',
        'events/2026/11/26/05/01C.jsonl.gz',
      ]);
      expect((await collect(store.list('events/2026/11/2'))).map((o) => o.key)).toEqual([
        'events/2026/11/26/04/01A.jsonl.gz',
        'events/2026/11/26/05/01B.jsonl.gz',
        'events/2026/11/26/05/01C.jsonl.gz',
        'events/2026/11/27/00/01E.jsonl.gz',
      ]);
      expect(await collect(store.list('nothing/here/'))).toEqual([]);
    });

    it('fails to get a missing key', async () => {
      await expect(store.get('events/2000/01/01/00/missing.jsonl.gz')).rejects.toThrow();
    });

    it('keeps the registry hash with the object it was put with; an object put without has none', async () => {
      const hash = 'ab'.repeat(32);
      const body = encodeJsonl([{ h: 1 }]);
      const { etag } = await store.put('events/2026/11/29/00/01H.jsonl.gz', body, { registryHash: hash });
      await store.put('events/2026/11/29/00/01I.jsonl.gz', body);
      const withHash = await getWithMetadata(store, 'events/2026/11/29/00/01H.jsonl.gz');
      expect(withHash.metadata).toEqual({ registryHash: hash });
      expect(decodeJsonl(withHash.body)).toEqual(['{"h":1}']);
      expect(decodeJsonl(await store.get('events/2026/11/29/00/01H.jsonl.gz'))).toEqual(['{"h":1}']);
      expect((await getWithMetadata(store, 'events/2026/11/29/00/01I.jsonl.gz')).metadata).toEqual({});
      // Rewritten without metadata, the object has none any more.
      await store.put('events/2026/11/29/00/01H.jsonl.gz', body);
      expect((await getWithMetadata(store, 'events/2026/11/29/00/01H.jsonl.gz')).metadata).toEqual({});
      const listed = await collect(store.list('events/2026/11/29/'));
      expect(listed.map((o) => o.key)).toEqual([
        'events/2026/11/29/00/01H.jsonl.gz',
        'events/2026/11/29/00/01I.jsonl.gz',
      ]);
      expect(etag).toMatch(/^[0-9a-f]{32}$/);
    });

    it('deletes an object; deleting a missing key is not an error', async () => {
      await store.put('events/2026/11/28/00/01F.jsonl.gz', encodeJsonl(['x']));
      await store.delete('events/2026/11/28/00/01F.jsonl.gz');
      expect(await collect(store.list('events/2026/11/28/'))).toEqual([]);
      await expect(store.get('events/2026/11/28/00/01F.jsonl.gz')).rejects.toThrow();
      await store.delete('events/2026/11/28/00/01F.jsonl.gz');
      await store.delete('events/1999/01/01/00/never.jsonl.gz');
    });
  });
}

storeContract('file', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lake-'));
  return { store: new FileRawStore(dir), close: () => rm(dir, { recursive: true, force: true }) };
});

storeContract('s3', async () => {
  const s3 = await startS3rver();
  return {
    store: openRawStore(`s3://${s3.bucket}/raw`, { s3Endpoint: s3.endpoint }),
    close: () => s3.stop(),
  };
});

describe('file store', () => {
  it('leaves no temp files behind and rejects keys escaping the root', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'lake-'));
    try {
      const store = openRawStore(pathToFileURL(dir).href);
      await store.put('events/2026/01/01/00/x.jsonl.gz', encodeJsonl([1]));
      expect(await readdir(path.join(dir, 'events/2026/01/01/00'))).toEqual(['x.jsonl.gz']);
      await expect(store.put('../escape.jsonl.gz', encodeJsonl([1]))).rejects.toThrow(/invalid lake key/);
      await expect(store.put('events//x', encodeJsonl([1]))).rejects.toThrow(/invalid lake key/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('file store metadata', () => {
  it('is the gzip header comment of the object itself: one file, its etag the MD5 of the stored bytes', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'lake-'));
    try {
      const store = new FileRawStore(dir);
      const hash = 'cd'.repeat(32);
      const { etag } = await store.put('events/2026/01/01/00/m.jsonl.gz', encodeJsonl([{ m: 1 }]), {
        registryHash: hash,
      });
      expect(await readdir(path.join(dir, 'events/2026/01/01/00'))).toEqual(['m.jsonl.gz']);
      const stored = await readFile(path.join(dir, 'events/2026/01/01/00/m.jsonl.gz'));
      expect(gzipComment(stored)).toBe(`registry-hash=${hash}`);
      expect(gunzipSync(stored).toString()).toBe('{"m":1}\n');
      expect(etag).toBe(createHash('md5').update(stored).digest('hex'));
      expect((await collect(store.list('events/'))).map((o) => o.etag)).toEqual([etag]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reads a header with FEXTRA and FNAME; refuses metadata on a body that is not gzip', () => {
    const plain = gzipSync('x\n');
    // ID1 ID2 CM FLG(FEXTRA|FNAME) MTIME XFL OS, XLEN=2, 2 extra bytes, name "n\0", then the deflate stream.
    const rich = Buffer.concat([
      Buffer.from([0x1f, 0x8b, 8, 0x0c, 0, 0, 0, 0, 0, 3, 2, 0, 0x41, 0x42, 0x6e, 0]),
      plain.subarray(10),
    ]);
    const commented = withGzipComment(rich, 'registry-hash=ef');
    expect(gzipComment(commented)).toBe('registry-hash=ef');
    expect(gunzipSync(commented).toString()).toBe('x\n');
    expect(gzipComment(plain)).toBeUndefined();
    expect(() => withGzipComment(Buffer.from('not gzip'), 'c')).toThrow(/gzip body/);
    expect(() => withGzipComment(commented, 'again')).toThrow(/gzip body/);
  });
});

describe('s3 store', () => {
  let s3: S3rverHandle;
  beforeAll(async () => {
    s3 = await startS3rver();
  });
  afterAll(() => s3.stop());

  it('lists past the first 1000 keys (pagination)', async () => {
    const store = new S3RawStore({ bucket: s3.bucket, endpoint: s3.endpoint });
    const body = new Uint8Array([1]);
    const keys = Array.from({ length: 1001 }, (_, i) => `events/2026/11/26/06/${String(i).padStart(4, '0')}.jsonl.gz`);
    // Bounded concurrency keeps s3rver (one process) responsive and the test fast.
    for (let i = 0; i < keys.length; i += 100) await Promise.all(keys.slice(i, i + 100).map((k) => store.put(k, body)));
    const listed = await collect(store.list('events/2026/11/26/06/'));
    expect(listed.map((o) => o.key)).toEqual(keys);
  }, 60_000);
});

describe('openRawStore', () => {
  it('rejects unsupported lake URLs', () => {
    expect(() => openRawStore('http://example.com/lake')).toThrow(/LAKE_URL/);
    expect(() => openRawStore('s3://')).toThrow(/LAKE_URL/);
  });
});

describe('file store under a cleaned lake', () => {
  it('recreates folders removed while it was running', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'lake-'));
    try {
      const store = new FileRawStore(dir);
      await store.put('events/2026/01/01/00/a.jsonl.gz', encodeJsonl([1]));
      await rm(path.join(dir, 'events'), { recursive: true });
      await store.put('events/2026/01/01/00/b.jsonl.gz', encodeJsonl([2]));
      expect((await collect(store.list('events/'))).map((o) => o.key)).toEqual(['events/2026/01/01/00/b.jsonl.gz']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
