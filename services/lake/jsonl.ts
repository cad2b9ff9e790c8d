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

/** For callers that already serialised each record (the ingest writer does so once per event). */
export function encodeJsonlLines(lines: string[]): Uint8Array {
  return gzipSync(lines.length ? `${lines.join('\n')}\n` : '', { level: GZIP_LEVEL });
}

/** The non-empty lines of an object; parse each with JSON.parse. */
export function decodeJsonl(body: Uint8Array): string[] {
  return gunzipSync(body)
    .toString('utf8')
    .split('\n')
    .filter((line) => line.length > 0);
}
