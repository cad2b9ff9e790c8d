/**
 * The README's loop, as a new user runs it, on a private copy of the project: events are loaded;
 * a column is added to schemas/warehouse/clickstream_events.json; `npm run codegen` writes the
 * mapper and the migration; `clickstream db migrate` adds the column — NULL for every old row —
 * and `clickstream etl rebuild` fills it for them. The commands run as child processes from the
 * copy (its own generated/ and migrations/), against a real PostgreSQL database and a file lake.
 */
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { FileRawStore } from '../lake/file-store.ts';
import { createTempDatabase, type TempDatabase } from '../testing/postgres.ts';
import { runEtl } from './core.ts';
import { sampleEvents, writeSampleLake } from './sample-lake.ts';
import { openWarehouse, type Warehouse } from './warehouse.ts';

const REPO = path.resolve(import.meta.dirname, '..', '..');
const run = promisify(execFile);

let copy: string;
let temp: TempDatabase;
let wh: Warehouse;

beforeAll(async () => {
  copy = await mkdtemp(path.join(os.tmpdir(), 'new-column-'));
  for (const entry of ['schemas', 'generated', 'migrations', 'services', 'codegen', 'bin', 'package.json']) {
    await cp(path.join(REPO, entry), path.join(copy, entry), { recursive: true });
  }
  await symlink(path.join(REPO, 'node_modules'), path.join(copy, 'node_modules'));
  temp = await createTempDatabase('newcolumn');
  wh = await openWarehouse({ databaseUrl: temp.url });
  await wh.migrate();
}, 120_000);
afterAll(async () => {
  await wh?.close();
  await temp?.drop();
  await rm(copy, { recursive: true, force: true });
});

it('adding a column then etl rebuild fills it for the rows loaded before', { timeout: 180_000 }, async () => {
  const lake = new FileRawStore(path.join(copy, 'lake'));
  const start = new Date('2026-11-20T08:00:00Z');
  await writeSampleLake(lake, sampleEvents(120, { start, spanHours: 2 }), 30);
  const loaded = await runEtl(
    { warehouse: wh, store: lake },
    { trigger: 'manual', lookbackHours: 24, now: () => new Date('2026-11-20T12:00:00Z') },
  );
  expect(loaded).toMatchObject({ status: 'succeeded', rowsInserted: 120 });

  // The README: add a column with its source pointer, then codegen names the migration.
  const tableFile = path.join(copy, 'schemas/warehouse/clickstream_events.json');
  const table = JSON.parse(await readFile(tableFile, 'utf8'));
  table.columns.user_agent_raw = {
    type: 'varchar(512)',
    nullable: true,
    description: 'User-Agent header as received (test column).',
    source: '/user_agent',
  };
  await writeFile(tableFile, JSON.stringify(table, null, 2));
  const node = (args: string[]) =>
    run(process.execPath, args, {
      cwd: copy,
      env: { ...process.env, DATABASE_URL: temp.url, LAKE_URL: `file://${path.join(copy, 'lake')}`, DATA_DIR: copy },
    });
  await node(['--import', 'tsx', 'codegen/cli.ts', '--migration-name', 'add_user_agent_raw']);
  expect(await readFile(path.join(copy, 'generated/mappers/clickstream_events.ts'), 'utf8')).toContain(
    'user_agent_raw',
  );

  await node(['bin/clickstream.js', 'db', 'migrate']);
  const [before] = await wh.query<{ n: number; filled: number }>(
    'SELECT count(*)::int AS n, count(user_agent_raw)::int AS filled FROM clickstream_events',
  );
  expect(before).toEqual({ n: 120, filled: 0 });

  const rebuilt = await node(['bin/clickstream.js', 'etl', 'rebuild', '--from', '2026-11-20', '--to', '2026-11-21']);
  expect(JSON.parse(rebuilt.stdout.trim().split('\n').at(-1) as string)).toMatchObject({
    status: 'succeeded',
    trigger: 'rebuild',
    rows_inserted: 0,
    rows_updated: 120,
  });
  const [after] = await wh.query<{ n: number; filled: number; ua: string }>(
    'SELECT count(*)::int AS n, count(user_agent_raw)::int AS filled, max(user_agent_raw) AS ua FROM clickstream_events',
  );
  expect(after).toEqual({ n: 120, filled: 120, ua: 'Mozilla/5.0 (sample)' });
});
