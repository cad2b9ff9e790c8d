/**
 * Test helper: a headless Chromium for the browser tests, found without any setup step.
 *
 *   1. `CHROMIUM_PATH`, when set (any Chromium or Chrome binary);
 *   2. `/usr/bin/chromium`, when present (Debian's package);
 *   3. otherwise the Chromium that `npm install` brought with the `@sparticuz/chromium`
 *      devDependency (a headless build shipped inside the npm package), unpacked on first use into
 *      `node_modules/.cache/chromium`. The vitest global setup resolves it once and passes it to
 *      the workers as CHROMIUM_PATH, so parallel test files never unpack it at the same time.
 *
 * The flags are ours, not @sparticuz's Lambda set: that one runs a single process and disables
 * web security, which would hide exactly what the tests check (CORS, tabs in separate renderers).
 *
 * Chromium runs on the real clock even when the tests run under `faketime` (CI's shifted-date
 * runs): libfaketime preloaded into every Chromium thread made it ~25× slower here (20
 * page.evaluate round trips: 9.2 s instead of 0.35 s), so the browser tests timed out. The page
 * then disagrees with the shifted server clock by the shift, which ingest corrects like any
 * browser's clock skew (sent_at vs received_at).
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { type Browser, chromium, type LaunchOptions } from 'playwright-core';

const DEBIAN_CHROMIUM = '/usr/bin/chromium';
const UNPACK_DIR = path.resolve(import.meta.dirname, '../../node_modules/.cache/chromium');

/** Without the background-networking flags Chromium keeps dialling out, which this network refuses. */
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'];

/** The Chromium binary the tests drive (see the module comment for the order). */
export async function chromiumExecutable(env: Record<string, string | undefined> = process.env): Promise<string> {
  if (env.CHROMIUM_PATH) return env.CHROMIUM_PATH;
  if (existsSync(DEBIAN_CHROMIUM)) return DEBIAN_CHROMIUM;
  // @sparticuz/chromium unpacks into os.tmpdir(): a folder of ours keeps its files apart from any
  // other /tmp/chromium and lets later runs find it unpacked.
  await mkdir(UNPACK_DIR, { recursive: true });
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = UNPACK_DIR;
  try {
    const { default: packaged } = await import('@sparticuz/chromium');
    return await packaged.executablePath();
  } finally {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
  }
}

export async function launchChromium(options: LaunchOptions = {}): Promise<Browser> {
  return chromium.launch({
    env: withoutFaketime(process.env),
    ...options,
    executablePath: await chromiumExecutable(),
    args: [...CHROMIUM_ARGS, ...(options.args ?? [])],
  });
}

/** `env` without libfaketime: its FAKETIME* settings dropped, and it taken out of LD_PRELOAD. */
export function withoutFaketime(env: Record<string, string | undefined>): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && !k.startsWith('FAKETIME')) kept[k] = v;
  const preload = (kept.LD_PRELOAD ?? '').split(/[\s:]+/).filter((lib) => lib && !lib.includes('faketime'));
  if (preload.length) kept.LD_PRELOAD = preload.join(':');
  else delete kept.LD_PRELOAD;
  return kept;
}
