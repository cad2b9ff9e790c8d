/** `clickstream quarantine list | show | replay` in-process over a file lake in DATA_DIR. */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { sampleEvent } from '../ingest/sample-events.ts';
import { FileRawStore } from '../lake/file-store.ts';
import { encodeJsonl } from '../lake/jsonl.ts';
import { objectKey } from '../lake/raw-store.ts';
import { run } from './quarantine-cli.ts';

const RECEIVED = new Date('2026-11-20T10:15:00.000Z');
let dir: string;
let out: string[];
let err: string[];

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'quarantine-cli-'));
  vi.stubEnv('DATA_DIR', dir);
  vi.stubEnv('LAKE_URL', '');
  out = [];
  err = [];
  vi.spyOn(console, 'log').mockImplementation((s: unknown) => void out.push(String(s)));
  vi.spyOn(console, 'error').mockImplementation((s: unknown) => void err.push(String(s)));
  const valid = sampleEvent('page_view', {}, RECEIVED);
  const bad = sampleEvent('page_view', { page: { url: 'not a url' } }, RECEIVED);
  await new FileRawStore(path.join(dir, 'lake')).put(
    objectKey('quarantine', RECEIVED, '01JDEMO0000000000000000000'),
    encodeJsonl([
      { raw: valid, errors: [{ path: '/page/url', rule: 'maxLength', message: 'too tight' }], received_at: RECEIVED },
      {
        raw: bad,
        errors: [{ path: '/page/url', rule: 'format', message: 'must match format "uri"' }],
        received_at: RECEIVED,
      },
    ]),
  );
});
afterEach(async () => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
  await rm(dir, { recursive: true, force: true });
});

const range = ['--from', '2026-11-20', '--to', '2026-11-21'];

it('lists, shows and replays; usage errors exit 2 with one line', async () => {
  expect(await run(['list', ...range])).toBe(0);
  expect(out).toHaveLength(2);
  expect(out[0]).toMatch(
    /^2026-11-20T10:15:00.000Z {2}quarantine\/2026\/11\/20\/10\/01JDEMO0000000000000000000\.jsonl\.gz#0 {2}page_view v1 {2}maxLength {2}\/page\/url {2}too tight$/,
  );
  expect(await run(['list', ...range, '--rule', 'format', '--json'])).toBe(0);
  const listed = JSON.parse(out.at(-1) as string);
  expect(listed).toMatchObject({ rule: 'format', line: 1, replayedTo: null });

  expect(await run(['show', listed.id])).toBe(0);
  expect(out.at(-1)).toContain('"url":"not a url"');
  expect(await run(['show', `${listed.objectKey}#7`])).toBe(1);

  expect(await run(['replay', ...range])).toBe(0);
  expect(JSON.parse(out.at(-1) as string)).toMatchObject({ lines: 2, replayed: 1, still_rejected: 1 });
  expect(await run(['replay', ...range])).toBe(0);
  expect(JSON.parse(out.at(-1) as string)).toMatchObject({ replayed: 0, already_replayed: 1, events_object: null });
  expect(await run(['list', ...range])).toBe(0);
  expect(out.at(-2)).toMatch(/\[replayed → events\/\d{4}\/\d{2}\/\d{2}\/\d{2}\/[0-9A-Z]{26}-replay\.jsonl\.gz\]$/);

  err = [];
  expect(await run(['list', '--from', '2026-11-20'])).toBe(2);
  expect(await run(['list', ...range, '--bogus'])).toBe(2);
  expect(await run(['show'])).toBe(2);
  expect(await run(['explode'])).toBe(2);
  expect(err).toHaveLength(4);
  expect(err[0]).toBe('clickstream quarantine: --to is required (see clickstream quarantine --help)');
  expect(await run(['replay', '--help'])).toBe(0);
});
