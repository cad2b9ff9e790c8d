/** `clickstream privacy erase` in-process on the embedded defaults (PGlite and a file lake in DATA_DIR). */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { run } from './privacy-cli.ts';

let dir: string;
let out: string[];
let err: string[];
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'privacy-cli-'));
  vi.stubEnv('DATA_DIR', dir);
  vi.stubEnv('DATABASE_URL', '');
  vi.stubEnv('LAKE_URL', '');
  out = [];
  err = [];
  vi.spyOn(console, 'log').mockImplementation((s: unknown) => void out.push(String(s)));
  vi.spyOn(console, 'error').mockImplementation((s: unknown) => void err.push(String(s)));
  vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
});
afterEach(async () => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
  await rm(dir, { recursive: true, force: true });
});

it('erases (nothing to find here) and logs it; usage errors exit 2 with one line', async () => {
  expect(await run(['erase', '--user', 'sub-123', '--by', 'dpo@example.com'])).toBe(0);
  expect(JSON.parse(out[0] as string)).toMatchObject({ status: 'succeeded', rows_deleted: 0, lake_lines_removed: 0 });
  expect(await run(['erase'])).toBe(2);
  expect(await run(['erase', '--user', 'a', '--client', 'b'])).toBe(2);
  expect(await run(['erase', '--user', ' '])).toBe(2);
  expect(await run(['erase', '--email', 'x'])).toBe(2);
  expect(await run(['forget'])).toBe(2);
  expect(err).toHaveLength(5);
  expect(err[0]).toBe(
    'clickstream privacy: give exactly one of --user <sub> and --client <id> (see clickstream privacy --help)',
  );
  expect(await run(['erase', '--help'])).toBe(0);
});
