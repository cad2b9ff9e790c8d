import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTempDatabase, type TempDatabase } from '../testing/postgres.ts';
import { MIGRATIONS_DIR, openWarehouse, type Warehouse } from './warehouse.ts';

const journal = JSON.parse(await readFile(path.join(MIGRATIONS_DIR, 'meta', '_journal.json'), 'utf8')) as {
  entries: { tag: string }[];
};

async function tablesOf(wh: Warehouse): Promise<string[]> {
  const rows = await wh.query<{ table_name: string }>(
    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name",
  );
  return rows.map((r) => r.table_name);
}

const EXPECTED_TABLES = [
  'clickstream_events',
  'client_hours',
  'daily_event_counts',
  'etl_dirty_days',
  'etl_loaded_objects',
  'etl_rebuilt_objects',
  'etl_runs',
  'etl_skipped_objects',
  'privacy_erasures',
  'quarantined_events',
  'rollup_clients',
  'rollup_event_counts',
  'rollup_funnel',
  'rollup_paths',
  'rollup_products',
  'rollup_retention',
  'rollup_session_sources',
  'rollup_sessions',
  'session_details',
  'sessions',
];

describe('migrations/ apply cleanly', () => {
  let temp: TempDatabase;
  beforeAll(async () => {
    temp = await createTempDatabase('wh');
  });
  afterAll(async () => {
    await temp.drop();
  });

  it('to real PostgreSQL, twice and concurrently without error, recording every migration once', async () => {
    const a = await openWarehouse({ databaseUrl: temp.url });
    const b = await openWarehouse({ databaseUrl: temp.url });
    try {
      await Promise.all([a.migrate(), b.migrate()]);
      await a.migrate();
      expect(await tablesOf(a)).toEqual(EXPECTED_TABLES);
      const applied = await a.query<{ n: string }>('SELECT count(*) AS n FROM drizzle.__drizzle_migrations');
      expect(Number(applied[0]?.n)).toBe(journal.entries.length);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('to embedded PGlite, producing the same tables and columns as PostgreSQL', async () => {
    const lite = await openWarehouse({ pgliteDir: 'memory://' });
    const real = await openWarehouse({ databaseUrl: temp.url });
    try {
      await Promise.all([lite.migrate(), real.migrate()]);
      await lite.migrate();
      expect(await tablesOf(lite)).toEqual(EXPECTED_TABLES);
      const columnsSql = `SELECT table_name, column_name, data_type, is_nullable, column_default
        FROM information_schema.columns WHERE table_schema = 'public' ORDER BY table_name, ordinal_position`;
      expect(await lite.query(columnsSql)).toEqual(await real.query(columnsSql));
    } finally {
      await lite.close();
      await real.close();
    }
  });
});

describe('COPY into the warehouse', () => {
  let temp: TempDatabase;
  beforeAll(async () => {
    temp = await createTempDatabase('wh_copy');
  });
  afterAll(async () => {
    await temp.drop();
  });

  /** COPY text whose first row repeats a key: the server refuses it while most of it is unsent. */
  const copyText = (n: number) => {
    const pad = 'y'.repeat(1000);
    const out: string[] = [];
    for (let i = 1; out.length < n; i++) out.push(`${i}\t${pad}\n`);
    return Buffer.from(out.join(''));
  };

  // 64 MB over the wire protocol (what crashed pg-copy-streams); PGlite reads a blob, size is moot.
  it.each([
    ['postgres', 64_000],
    ['pglite', 2_000],
  ] as const)(
    'on %s, a COPY the server rejects mid-stream (%i rows) fails with its error and leaves the session usable',
    async (kind, n) => {
      const rows = copyText(n);
      const wh = await openWarehouse(kind === 'postgres' ? { databaseUrl: temp.url } : { pgliteDir: 'memory://' });
      try {
        await wh.query('CREATE TABLE copy_target (id int PRIMARY KEY, pad text)');
        await wh.query(`INSERT INTO copy_target VALUES (1, 'x')`);
        await wh.withSession(async (s) => {
          await s.query('BEGIN');
          await s.query('SAVEPOINT before_copy');
          await expect(s.copyIn('COPY copy_target FROM STDIN', rows)).rejects.toMatchObject({ code: '23505' });
          await s.query('ROLLBACK TO SAVEPOINT before_copy');
          await s.copyIn('COPY copy_target FROM STDIN', rows.subarray(rows.indexOf('\n') + 1));
          await s.query('COMMIT');
        });
        const [count] = await wh.query<{ n: number }>('SELECT count(*)::int AS n FROM copy_target');
        expect(count?.n).toBe(n);
      } finally {
        await wh.close();
      }
    },
    60_000,
  );
});
