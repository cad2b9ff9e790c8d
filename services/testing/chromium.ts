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
    ...options,
    executablePath: await chromiumExecutable(),
    args: [...CHROMIUM_ARGS, ...(options.args ?? [])],
  });
}
