/**
 * The embedded raw lake: one file per object under a root folder, keys as relative paths.
 * `put` is durable: the bytes go to a temp file that is fsynced, renamed into place (atomic, so a
 * reader never sees half an object) and the folder is fsynced so the rename survives a crash.
 * ETag = MD5 of the content, like a single-part S3 PUT, so the ETL ledger treats both stores alike.
 * Metadata (the registry hash) is written into the object's gzip header as its comment (FCOMMENT,
 * `registry-hash=<hex>`): no second file to fsync or to go stale, nothing a listing could take for
 * an object, and an object rewritten by anything else (gunzip, edit, gzip) simply has none.
 */
import { isUtf8 } from 'node:buffer';
import { createHash, randomBytes } from 'node:crypto';
import { type FileHandle, mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { LakeObject, ObjectMetadata, RawStore, SkippedEntry } from './raw-store.ts';

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

  async put(key: string, content: Uint8Array, metadata?: ObjectMetadata): Promise<{ etag: string }> {
    const body = metadata?.registryHash ? withGzipComment(content, `${HASH_COMMENT}${metadata.registryHash}`) : content;
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

  async getWithMetadata(key: string): Promise<{ body: Uint8Array; metadata: ObjectMetadata }> {
    const body = await readFile(this.pathOf(key));
    const comment = gzipComment(body);
    const hash = comment?.startsWith(HASH_COMMENT) ? comment.slice(HASH_COMMENT.length) : undefined;
    return { body, metadata: hash && /^[0-9a-f]{1,128}$/.test(hash) ? { registryHash: hash } : {} };
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

const HASH_COMMENT = 'registry-hash=';
// RFC 1952: ID1 ID2 CM FLG MTIME(4) XFL OS, then FEXTRA, FNAME, FCOMMENT (zero-terminated), FHCRC.
const FHCRC = 0x02;
const FEXTRA = 0x04;
const FNAME = 0x08;
const FCOMMENT = 0x10;

/** Offset of the comment field of a gzip body (where one goes), or undefined if not a gzip header. */
function commentOffset(body: Uint8Array): number | undefined {
  if (body.length < 10 || body[0] !== 0x1f || body[1] !== 0x8b || body[2] !== 8) return undefined;
  const flags = body[3] as number;
  let at = 10;
  if (flags & FEXTRA) {
    if (at + 2 > body.length) return undefined;
    at += 2 + ((body[at] as number) | ((body[at + 1] as number) << 8));
  }
  if (flags & FNAME) {
    const end = body.indexOf(0, at);
    if (end === -1) return undefined;
    at = end + 1;
  }
  return at <= body.length ? at : undefined;
}

/** The comment of a gzip body's first member header (Latin-1), if it has one. */
export function gzipComment(body: Uint8Array): string | undefined {
  const at = commentOffset(body);
  if (at === undefined || !((body[3] as number) & FCOMMENT)) return undefined;
  const end = body.indexOf(0, at);
  return end === -1 ? undefined : Buffer.from(body.buffer, body.byteOffset + at, end - at).toString('latin1');
}

/** `body` (gzip, header without a comment or a header CRC) with `comment` in its header. */
export function withGzipComment(body: Uint8Array, comment: string): Buffer {
  const at = commentOffset(body);
  const flags = body[3] as number;
  if (at === undefined || flags & (FCOMMENT | FHCRC) || !/^[\x20-\x7e]*$/.test(comment)) {
    throw new Error('lake metadata needs a gzip body whose header has no comment and no header CRC');
  }
  const header = Buffer.from(body.subarray(0, at));
  header[3] = flags | FCOMMENT;
  return Buffer.concat([header, Buffer.from(`${comment}\0`, 'latin1'), body.subarray(at)]);
}
