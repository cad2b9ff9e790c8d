import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { progressBar, run } from './cli.ts';

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
});

describe('progress bar', () => {
  it('shows fraction, counts and an ETA from the bytes done so far', () => {
    const out: string[] = [];
    const started = performance.now() - 10_000; // 10 s ago
    const bar = progressBar((s) => out.push(s), false, started);
    bar({ objectsDone: 0, objectsTotal: 4, bytesDone: 0, bytesTotal: 4_194_304, rowsInserted: 0 });
    bar({ objectsDone: 1, objectsTotal: 4, bytesDone: 1_048_576, bytesTotal: 4_194_304, rowsInserted: 12_345 });
    bar({ objectsDone: 2, objectsTotal: 4, bytesDone: 1_048_580, bytesTotal: 4_194_304, rowsInserted: 12_400 });
    expect(out).toHaveLength(2); // a pipe gets one line per 10%, not one per batch
    expect(out[1]).toMatch(
      /^\[#{8}-{22}\]\s+25% 1\/4 objects 1\.0\/4\.0 MiB 12,345 rows {2}elapsed 0:10 {2}ETA 0:30\n$/,
    );
  });
});
