/**
 * The embedded raw lake: one file per object under a root folder, keys as relative paths.
 * `put` is durable: the bytes go to a temp file that is fsynced, renamed into place (atomic, so a
 * reader never sees half an object) and the folder is fsynced so the rename survives a crash.
 * ETag = MD5 of the content, like a single-part S3 PUT, so the ETL ledger treats both stores alike.
 */
import { isUtf8 } from 'node:buffer';
import { createHash, randomBytes } from 'node:crypto';
import { type FileHandle, mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { LakeObject, RawStore, SkippedEntry } from './raw-store.ts';

/** Temp files start with a dot; `list` never reports them. */
const TEMP_PREFIX = '.tmp-';

export class FileRawStore implements RawStore {
  readonly url: string;
  /**
   * One: the ingest server is CPU-bound, not fsync-bound, on a local disk, and each object costs
   * CPU (gzip setup, eight file system calls, a key) — fewer, larger groups measured ~20–50% more
   * requests/s than four overlapping writes (`npm run bench:ingest -- p2`).
   */
  readonly putConcurrency = 1;
  /** Folders known to exist with their entry fsynced, so each put fsyncs only what it created. */
  private readonly durableDirs = new Set<string>();

  constructor(private readonly root: string) {
    if (!path.isAbsolute(root)) throw new Error(`FileRawStore root must be absolute: ${root}`);
    this.url = pathToFileURL(root).href;
  }

  async put(key: string, body: Uint8Array): Promise<{ etag: string }> {
    const file = this.pathOf(key);
    const dir = path.dirname(file);
    await this.ensureDurableDir(dir);
    const tmp = path.join(dir, `${TEMP_PREFIX}${randomBytes(8).toString('hex')}`);
    let handle: FileHandle | undefined;
    try {
      handle = await open(tmp, 'wx').catch(async (err: NodeJS.ErrnoException) => {
        // The folder vanished since it was cached (lake cleaned under a running server): recreate it.
        if (err.code !== 'ENOENT') throw err;
        this.durableDirs.clear();
        await this.ensureDurableDir(dir);
        return open(tmp, 'wx');
      });
      await handle.writeFile(body);
      await handle.sync();
      await handle.close();
      handle = undefined;
      await rename(tmp, file);
    } catch (err) {
      await handle?.close().catch(() => {});
      await rm(tmp, { force: true });
      throw err;
    }
    await fsyncDir(dir);
    return { etag: md5(body) };
  }

  async get(key: string): Promise<Uint8Array> {
    return readFile(this.pathOf(key));
  }

  async delete(key: string): Promise<void> {
    const file = this.pathOf(key);
    await rm(file, { force: true });
    await fsyncDir(path.dirname(file)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }

  async *list(prefix: string, onSkipped?: (entry: SkippedEntry) => void): AsyncIterable<LakeObject> {
    yield* this.walk('', prefix, onSkipped ?? (() => {}));
  }

  /**
   * Depth-first in key order: a folder sorts as `name/`, exactly where its keys sort. Names are
   * read as bytes: one that is not UTF-8 cannot be spelled as a key (decoded, it names no file),
   * so it is reported, like anything that is neither a folder nor a regular file (symlinks).
   */
  private async *walk(
    relDir: string,
    prefix: string,
    onSkipped: (entry: SkippedEntry) => void,
  ): AsyncGenerator<LakeObject> {
    let entries: import('node:fs').Dirent<Buffer>[];
    try {
      entries = await readdir(path.join(this.root, relDir), { withFileTypes: true, encoding: 'buffer' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    const named: { key: string; dir: boolean }[] = [];
    for (const e of entries) {
      const name = e.name.toString('utf8');
      const key = `${relDir}${name}${e.isDirectory() ? '/' : ''}`;
      if (name.startsWith(TEMP_PREFIX) || !(key.startsWith(prefix) || prefix.startsWith(key))) continue;
      if (!isUtf8(e.name)) {
        onSkipped({ key, reason: 'invalid_utf8_name', detail: `name bytes (hex): ${e.name.toString('hex')}` });
      } else if (!e.isDirectory() && !e.isFile()) {
        onSkipped({ key, reason: 'not_a_regular_file', detail: e.isSymbolicLink() ? 'symbolic link' : 'special file' });
      } else {
        named.push({ key, dir: e.isDirectory() });
      }
    }
    named.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    for (const entry of named) {
      if (entry.dir) {
        yield* this.walk(entry.key, prefix, onSkipped);
      } else if (entry.key.startsWith(prefix)) {
        const body = await readFile(path.join(this.root, entry.key));
        yield { key: entry.key, etag: md5(body), size: body.byteLength };
      }
    }
  }

  private pathOf(key: string): string {
    const segments = key.split('/');
    if (!key || segments.some((s) => s === '' || s === '.' || s === '..' || s.startsWith(TEMP_PREFIX))) {
      throw new Error(`invalid lake key: ${JSON.stringify(key)}`);
    }
    return path.join(this.root, ...segments);
  }

  /** mkdir -p, then fsync the parent of every folder it created so the new entries are durable. */
  private async ensureDurableDir(dir: string): Promise<void> {
    if (this.durableDirs.has(dir)) return;
    const firstCreated = await mkdir(dir, { recursive: true });
    if (firstCreated) {
      for (let d = dir; ; d = path.dirname(d)) {
        await fsyncDir(path.dirname(d));
        if (d === firstCreated) break;
      }
    }
    this.durableDirs.add(dir);
  }
}

async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function md5(body: Uint8Array): string {
  return createHash('md5').update(body).digest('hex');
}
