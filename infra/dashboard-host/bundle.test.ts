/**
 * The dashboard host's bundle, built for real and started the way systemd starts it (`node
 * start.mjs serve`, outside the repository, so nothing resolves from node_modules or the source)
 * against a migrated PostgreSQL warehouse: the page, its compiled-in assets, the catalogue and the
 * seed's /sbw_dashboard path answer.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openWarehouse } from '../../services/etl/warehouse.ts';
import { freePort } from '../../services/testing/ports.ts';
import { createTempDatabase, type TempDatabase } from '../../services/testing/postgres.ts';
import { type ServerChild, startServerChild } from '../../services/testing/server-child.ts';
import { BUNDLE_DIR, BUNDLE_FILES, buildDashboardBundle } from './build.ts';
import { RDS_CA_FILE, rdsCaBundle } from './ca.ts';

async function filesUnder(dir: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(path.join(dir, rel), { withFileTypes: true })) {
    const p = rel ? `${rel}/${e.name}` : e.name;
    out.push(...(e.isDirectory() ? await filesUnder(dir, p) : [p]));
  }
  return out.sort();
}

describe('dashboard host bundle', () => {
  let dir: string;
  let temp: TempDatabase;
  let server: ServerChild | undefined;
  let url: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'dash-bundle-'));
    await buildDashboardBundle(dir);
    temp = await createTempDatabase('dashbundle');
    const wh = await openWarehouse({ databaseUrl: temp.url });
    await wh.migrate();
    await wh.close();
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    server = await startServerChild(
      [path.join(dir, BUNDLE_DIR, 'start.mjs'), 'serve'],
      {
        cwd: dir,
        env: {
          PATH: process.env.PATH,
          HOST: '127.0.0.1',
          DASHBOARD_PORT: String(port),
          DATABASE_URL: temp.url,
          DATA_DIR: path.join(dir, 'data'),
        },
      },
      'dashboard listening',
    );
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
    await temp?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('holds only the launcher, the bundle, the catalogue and the RDS CA certificates', async () => {
    expect(await filesUnder(dir).then((f) => f.filter((p) => !p.startsWith('data/')))).toEqual(
      [...BUNDLE_FILES].sort(),
    );
    expect(await readFile(path.join(dir, RDS_CA_FILE), 'utf8')).toBe(rdsCaBundle());
  });

  it('serves the page, its compiled-in assets, the catalogue and the seed path', async () => {
    const page = await fetch(`${url}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('/assets/dashboard.js');
    const js = await fetch(`${url}/assets/dashboard.js`);
    expect(js.status).toBe(200);
    expect((await js.text()).length).toBeGreaterThan(10_000);
    const catalog = await fetch(`${url}/catalog`);
    expect(catalog.status).toBe(200);
    expect(await catalog.text()).toContain('add_to_cart');
    const seed = await fetch(`${url}/sbw_dashboard`, { redirect: 'manual' });
    expect(seed.status).toBe(301);
    expect(seed.headers.get('location')).toBe('/');
  });
});
