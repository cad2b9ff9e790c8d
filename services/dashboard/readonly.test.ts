/**
 * A role with nothing but CONNECT, USAGE on the schema and SELECT on the tables can serve the whole
 * dashboard (PostgreSQL; PGlite has no roles). The server runs for real on a random port, and a
 * write through the same role is refused, so the test cannot pass on a role that can write.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config.ts';
import { runEtl } from '../etl/core.ts';
import { openWarehouse, type Warehouse } from '../etl/warehouse.ts';
import { FileRawStore } from '../lake/file-store.ts';
import { createTempDatabase, type TempDatabase } from '../testing/postgres.ts';
import { FIXTURE_NOW, writeFixtureLake } from './fixture.ts';
import { PANELS } from './panels.ts';
import { type DashboardServer, startDashboardServer } from './server.ts';

describe('dashboard through a read-only PostgreSQL role', () => {
  let temp: TempDatabase;
  let owner: Warehouse;
  let lakeDir: string;
  let server: DashboardServer;
  const role = `dash_ro_${randomBytes(4).toString('hex')}`;
  const password = randomBytes(12).toString('hex');
  let roUrl: string;

  beforeAll(async () => {
    temp = await createTempDatabase('dashro');
    owner = await openWarehouse({ databaseUrl: temp.url });
    await owner.migrate();
    lakeDir = await mkdtemp(path.join(os.tmpdir(), 'dash-ro-lake-'));
    const store = new FileRawStore(lakeDir);
    await writeFixtureLake(store);
    await runEtl({ warehouse: owner, store }, { trigger: 'manual', lookbackHours: 24, now: () => FIXTURE_NOW });
    await owner.query(`CREATE ROLE ${role} LOGIN PASSWORD '${password}'`);
    await owner.query(`GRANT CONNECT ON DATABASE "${temp.name}" TO ${role}`);
    await owner.query(`GRANT USAGE ON SCHEMA public TO ${role}`);
    await owner.query(`GRANT SELECT ON ALL TABLES IN SCHEMA public TO ${role}`);
    const url = new URL(temp.url);
    url.username = role;
    url.password = password;
    roUrl = url.href;
    const config = loadConfig({ DATABASE_URL: roUrl, HOST: '127.0.0.1' });
    server = await startDashboardServer({ config, store, now: () => FIXTURE_NOW, port: 0 });
  });
  afterAll(async () => {
    await server?.close();
    await owner.close();
    await temp.drop();
    const admin = new pg.Client({ connectionString: new URL('/postgres', temp.url).href });
    await admin.connect();
    await admin.query(`DROP ROLE IF EXISTS ${role}`).finally(() => admin.end());
    await rm(lakeDir, { recursive: true, force: true });
  });

  it('serves the page and every panel, and cannot write', async () => {
    const page = await fetch(`${server.url}/`);
    expect(page.status).toBe(200);
    for (const p of PANELS) expect((await fetch(`${server.url}/api/${p.id}`)).status, p.id).toBe(200);
    const kpis = (await (await fetch(`${server.url}/api/kpis`)).json()) as { data: { current: { events: number } } };
    expect(kpis.data.current.events).toBe(17);
    const ro = await openWarehouse({ databaseUrl: roUrl });
    try {
      await expect(ro.query('DELETE FROM etl_runs')).rejects.toThrow(/permission denied/);
    } finally {
      await ro.close();
    }
  });
});
