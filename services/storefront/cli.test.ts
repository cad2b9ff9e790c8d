/**
 * `npx clickstream oltp migrate` and `npx clickstream storefront serve` as an operator runs them:
 * child processes configured by environment variables — the migration against real PostgreSQL,
 * the shop on a fresh DATA_DIR with no database server (embedded PGlite), stopped by SIGTERM.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { freePort } from '../testing/ports.ts';
import { createTempDatabase, type TempDatabase } from '../testing/postgres.ts';
import { run, runOltp } from './cli.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
let temp: TempDatabase;
let dataDir: string;

beforeAll(async () => {
  temp = await createTempDatabase('oltp_cli');
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'storefront-cli-'));
});
afterAll(async () => {
  await temp?.drop();
  await rm(dataDir, { recursive: true, force: true });
});

function clickstream(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, ['bin/clickstream.js', ...args], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => {
    stdout += d;
  });
  child.stderr!.on('data', (d) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exited, out: () => ({ stdout, stderr }) };
}

describe('clickstream oltp / storefront', () => {
  it('oltp migrate applies migrations/oltp/ to OLTP_DATABASE_URL and seeds the catalogue', {
    timeout: 90_000,
  }, async () => {
    const migrate = clickstream(['oltp', 'migrate'], { OLTP_DATABASE_URL: temp.url });
    expect(await migrate.exited).toBe(0);
    expect(JSON.parse(migrate.out().stdout)).toEqual({ oltp: temp.url, productsInserted: 36 });
  });

  it('answers --help with usage (exit 0), a wrong command with one line (exit 2), bad config with its name (exit 1)', async () => {
    const stderr = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      expect(await run(['--help'])).toBe(0);
      expect(await run(['serve', '--help'])).toBe(0);
      expect(await runOltp(['migrate', '--help'])).toBe(0);
      expect(await runOltp(['drop'])).toBe(2);
      expect(await run(['serve', 'now'])).toBe(2);
      const usage = stderr.mock.calls.map((c) => String(c[0]));
      expect(usage.filter((u) => u.includes('clickstream storefront serve'))).toHaveLength(2);
      expect(usage.filter((u) => u.includes('clickstream oltp migrate'))).toHaveLength(1);
      expect(usage.slice(-2)).toEqual([
        'clickstream oltp: unexpected argument(s) "drop" (see clickstream oltp --help)',
        'clickstream storefront: unexpected argument(s) "serve" "now" (see clickstream storefront --help)',
      ]);
      vi.stubEnv('OLTP_DATABASE_URL', 'mysql://db');
      expect(await runOltp(['migrate'])).toBe(1);
      expect(String(stderr.mock.calls.at(-1)![0])).toContain('OLTP_DATABASE_URL="mysql://db"');
    } finally {
      vi.unstubAllEnvs();
      stderr.mockRestore();
    }
  });

  it('storefront serve gives a working shop on a fresh DATA_DIR without a database server, and stops on SIGTERM', async () => {
    const port = await freePort();
    const shop = clickstream(['storefront', 'serve'], {
      DATA_DIR: dataDir,
      STOREFRONT_PORT: String(port),
      HOST: '127.0.0.1',
    });
    await expect.poll(() => shop.out().stdout, { timeout: 60_000, interval: 100 }).toContain('"msg":"listening"');
    const home = await fetch(`http://127.0.0.1:${port}/`);
    expect(home.status).toBe(200);
    expect(await home.text()).toContain('Summit &amp; Co Day Pack 20L');
    const image = await fetch(`http://127.0.0.1:${port}/media/products/SKU-1001-1.svg`);
    expect(image.headers.get('content-type')).toMatch(/^image\/svg\+xml/);
    const listening = JSON.parse(
      shop
        .out()
        .stdout.split('\n')
        .find((l) => l.includes('"msg":"listening"'))!,
    );
    expect(listening).toMatchObject({
      oltp: `pglite:${path.join(dataDir, 'oltp')}`,
      identity: 'local',
      ingest_config: {
        CORS_ORIGINS: `http://127.0.0.1:${port}`,
        JWKS_URI: `file://${path.join(dataDir, 'identity', 'jwks.json')}`,
      },
    });
    shop.child.kill('SIGTERM');
    expect(await shop.exited).toBe(0);
  }, 90_000);
});
