import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FileRawStore } from '../lake/file-store.ts';
import { progressBar, run } from './cli.ts';
import { sampleEvents, writeSampleLake } from './sample-lake.ts';

describe('etl cli', () => {
  let dir: string;
  let errors: string[];
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'etl-cli-'));
    errors = [];
    vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => {
      errors.push(a.join(' '));
    });
    vi.stubEnv('DATA_DIR', dir);
    vi.stubEnv('DATABASE_URL', '');
    vi.stubEnv('LAKE_URL', '');
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
    await rm(dir, { recursive: true, force: true });
  });

  it('rejects bad backfill ranges with exit code 2 and a message naming the flag', async () => {
    expect(await run(['backfill', '--from', '2026-11-02'])).toBe(2);
    expect(errors.join('\n')).toContain('--to is required');
    expect(await run(['backfill', '--from', 'last week', '--to', '2026-11-02'])).toBe(2);
    expect(errors.join('\n')).toContain('--from must be an ISO 8601 date');
    expect(await run(['backfill', '--from', '2026-11-03', '--to', '2026-11-02'])).toBe(2);
    expect(errors.join('\n')).toContain('--from must be before --to');
    expect(await run(['run', '--batch-bytes', '0'])).toBe(2);
    expect(await run(['explode'])).toBe(2);
  });

  it('fails with exit code 1 naming the variable when the configuration is bad', async () => {
    vi.stubEnv('DATABASE_URL', 'mysql://nope');
    expect(await run(['db', 'migrate'])).toBe(1);
    expect(errors.join('\n')).toContain('DATABASE_URL');
  });

  it('db migrate creates the embedded warehouse in DATA_DIR/dwh', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    expect(await run(['db', 'migrate'])).toBe(0);
    expect(JSON.parse(String(log.mock.calls[0]?.[0]))).toEqual({ migrated: `pglite:${path.join(dir, 'dwh')}` });
  });

  it('etl backfill says it skipped the loaded objects; etl rebuild re-maps them', async () => {
    const lake = new FileRawStore(path.join(dir, 'lake'));
    await writeSampleLake(lake, sampleEvents(20, { start: new Date('2026-11-20T08:00:00Z'), spanHours: 1 }), 10);
    const out: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((s: unknown) => void out.push(String(s)));
    const stderr: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => stderr.push(String(s)) > 0);
    const range = ['--from', '2026-11-20', '--to', '2026-11-21'];
    expect(await run(['backfill', ...range])).toBe(0);
    expect(JSON.parse(out.at(-1) as string)).toMatchObject({ objects: 2, rows_inserted: 20, already_loaded: 0 });
    expect(await run(['backfill', ...range])).toBe(0);
    expect(JSON.parse(out.at(-1) as string)).toMatchObject({ objects: 0, rows_inserted: 0, already_loaded: 2 });
    expect(stderr.join('')).toContain('2 object(s) of the range were already loaded and were skipped');
    expect(await run(['rebuild', ...range])).toBe(0);
    expect(JSON.parse(out.at(-1) as string)).toMatchObject({
      trigger: 'rebuild',
      objects: 2,
      rows_inserted: 0,
      rows_updated: 0,
      duplicates: 20,
      already_rebuilt: 0,
    });
    expect(log).toHaveBeenCalledTimes(3);
    // The summary is printed once, on stdout, not repeated as a log line on stderr.
    expect(stderr.join('')).toContain('"msg":"etl run started"');
    expect(stderr.join('')).not.toContain('etl run succeeded');
  });
});

describe('progress bar', () => {
  it('shows fraction, counts and an ETA from the bytes done so far', () => {
    const out: string[] = [];
    const started = performance.now() - 10_000; // 10 s ago
    const bar = progressBar((s) => out.push(s), false, started);
    bar({ objectsDone: 0, objectsTotal: 4, bytesDone: 0, bytesTotal: 4_194_304, rowsInserted: 0, rowsUpdated: 0 });
    bar({
      objectsDone: 1,
      objectsTotal: 4,
      bytesDone: 1_048_576,
      bytesTotal: 4_194_304,
      rowsInserted: 12_345,
      rowsUpdated: 0,
    });
    bar({
      objectsDone: 2,
      objectsTotal: 4,
      bytesDone: 1_048_580,
      bytesTotal: 4_194_304,
      rowsInserted: 12_400,
      rowsUpdated: 0,
    });
    expect(out).toHaveLength(2); // a pipe gets one line per 10%, not one per batch
    expect(out[1]).toMatch(
      /^\[#{8}-{22}\]\s+25% 1\/4 objects 1\.0\/4\.0 MiB 12,345 rows {2}elapsed 0:10 {2}ETA 0:30\n$/,
    );
  });
});
