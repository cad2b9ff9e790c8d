/**
 * Lake object encoding: gzipped JSON lines, one record per line, `\n`-terminated.
 * Level 3, by measurement (`npm run bench:ingest`, P1, on a 325-event group object): levels 1–3
 * cost the same (zlib's fast deflate), level 3 is a few percent smaller; level 6 takes ~3× as
 * long for ~20% fewer bytes. Compression runs on the ingest hot path; storage is cheap.
 */
import { gunzipSync, gzipSync } from 'node:zlib';

export const GZIP_LEVEL = 3;

export function encodeJsonl(records: unknown[]): Uint8Array {
  return encodeJsonlLines(records.map((r) => JSON.stringify(r)));
}

/**
 * For callers that already serialised each record (the ingest writer does so once per event).
 * Each line is UTF-8 encoded straight into one buffer: `lines.join('\n')` of the writer's lines
 * (concatenated, mostly two-byte strings) and then encoding the joined string measured ~10× slower
 * (≈6 ms vs ≈0.5 ms per 325-event object), the largest single cost per request in the server.
 */
export function encodeJsonlLines(lines: string[]): Uint8Array {
  let size = 0;
  for (const line of lines) size += Buffer.byteLength(line) + 1;
  const raw = Buffer.allocUnsafe(size);
  let offset = 0;
  for (const line of lines) {
    offset += raw.write(line, offset);
    raw[offset++] = 0x0a;
  }
  return gzipSync(raw, { level: GZIP_LEVEL });
}

/** The non-empty lines of an object; parse each with JSON.parse. */
export function decodeJsonl(body: Uint8Array): string[] {
  return gunzipSync(body)
    .toString('utf8')
    .split('\n')
    .filter((line) => line.length > 0);
}
