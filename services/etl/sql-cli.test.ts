/**
 * `clickstream sql` on real PostgreSQL and on PGlite in a DATA_DIR, and `sql --serve`: the
 * embedded warehouse over the PostgreSQL wire protocol, queried by the `pg` client like psql would.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createTempDatabase, type TempDatabase } from '../testing/postgres.ts';
import { run as etlCli } from './cli.ts';
import { run as privacyCli } from './privacy-cli.ts';
import { formatRows, run, serveWarehouse } from './sql-cli.ts';
import { openWarehouse } from './warehouse.ts';

const QUERY = `SELECT event_name, count(*)::int AS events, min(event_timestamp) AS first, (array_agg(properties ORDER BY event_timestamp))[1] AS props
  FROM clickstream_events GROUP BY 1 ORDER BY 1`;
const SEED = `INSERT INTO clickstream_events (event_id, event_timestamp, event_name, user_login_state, identity_source,
  client_id, session_id, event_version, received_at, page_url, properties) VALUES
  ('00000000-0000-4000-8000-000000000001', '2026-11-20T10:00:00Z', 'page_view', 'guest', 'anonymous', 'c1', 's1', 1,
   '2026-11-20T10:00:01Z', 'https://shop.example/', '{"note": "a, \\"quoted\\" value"}'),
  ('00000000-0000-4000-8000-000000000002', '2026-11-20T11:00:00Z', 'page_view', 'guest', 'anonymous', 'c1', 's1', 1,
   '2026-11-20T11:00:01Z', 'https://shop.example/p', '{}'),
  ('00000000-0000-4000-8000-000000000003', '2026-11-20T12:00:00Z', 'search', 'guest', 'anonymous', 'c1', 's1', 1,
   '2026-11-20T12:00:01Z', 'https://shop.example/s', '{"query": "boots"}')`;

let out: string[];
let err: string[];
beforeEach(() => {
  out = [];
  err = [];
  vi.spyOn(console, 'log').mockImplementation((s: unknown) => void out.push(String(s)));
  vi.spyOn(console, 'error').mockImplementation((s: unknown) => void err.push(String(s)));
});
afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

describe.each(['postgres', 'pglite'] as const)('clickstream sql on %s', (kind) => {
  let temp: TempDatabase | undefined;
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'sql-cli-'));
    temp = kind === 'postgres' ? await createTempDatabase('sqlcli') : undefined;
    const wh = await openWarehouse(temp ? { databaseUrl: temp.url } : { pgliteDir: path.join(dir, 'dwh') });
    await wh.migrate();
    await wh.query(SEED);
    await wh.close();
  });
  afterAll(async () => {
    await temp?.drop();
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    vi.stubEnv('DATA_DIR', dir);
    vi.stubEnv('DATABASE_URL', temp?.url ?? '');
  });

  it('prints a table, JSON lines or CSV; a bad query exits 1 with the SQLSTATE', async () => {
    expect(await run([QUERY])).toBe(0);
    expect(out).toEqual([
      'event_name | events | first                    | props',
      '-----------+--------+--------------------------+-------------------------------',
      'page_view  | 2      | 2026-11-20T10:00:00.000Z | {"note":"a, \\"quoted\\" value"}',
      'search     | 1      | 2026-11-20T12:00:00.000Z | {"query":"boots"}',
      '(2 rows)',
    ]);
    out = [];
    expect(await run([QUERY, '--json'])).toBe(0);
    expect(out.map((l) => JSON.parse(l))).toEqual([
      { event_name: 'page_view', events: 2, first: '2026-11-20T10:00:00.000Z', props: { note: 'a, "quoted" value' } },
      { event_name: 'search', events: 1, first: '2026-11-20T12:00:00.000Z', props: { query: 'boots' } },
    ]);
    out = [];
    expect(await run([QUERY, '--csv'])).toBe(0);
    expect(out).toEqual([
      'event_name,events,first,props',
      'page_view,2,2026-11-20T10:00:00.000Z,"{""note"":""a, \\""quoted\\"" value""}"',
      'search,1,2026-11-20T12:00:00.000Z,"{""query"":""boots""}"',
    ]);
    expect(await run(['SELECT nope FROM clickstream_events'])).toBe(1);
    expect(err.at(-1)).toMatch(/column "nope" does not exist \[SQLSTATE 42703\]/);
  });

  it('refuses several statements in one query, running none of them', async () => {
    expect(await run(['SELECT 1; DROP TABLE etl_runs'])).toBe(1);
    expect(err.at(-1)).toMatch(/^clickstream sql: .*multiple commands.*\[SQLSTATE 42601\]: give one statement$/);
    out = [];
    expect(
      await run(["SELECT count(*)::int AS n FROM information_schema.tables WHERE table_name = 'etl_runs'", '--json']),
    ).toBe(0);
    expect(out).toEqual(['{"n":1}']);
  });

  it('--read-only refuses writes and still answers reads', async () => {
    expect(await run(['DELETE FROM clickstream_events', '--read-only'])).toBe(1);
    expect(err.at(-1)).toMatch(/read-only transaction \[SQLSTATE 25006\]/);
    out = [];
    expect(await run(['SELECT count(*)::int AS n FROM clickstream_events', '--read-only', '--json'])).toBe(0);
    expect(out).toEqual(['{"n":3}']);
  });
});

it('usage: help exits 0, bad arguments exit 2 with one line', async () => {
  expect(await run(['--help'])).toBe(0);
  expect(await run([])).toBe(0);
  err = [];
  expect(await run(['SELECT 1', '--bogus'])).toBe(2);
  expect(await run(['SELECT 1', 'SELECT 2'])).toBe(2);
  expect(await run(['SELECT 1', '--port', '5'])).toBe(2);
  expect(await run(['--serve', '--port', 'x'])).toBe(2);
  expect(err).toHaveLength(4);
  expect(err.every((l) => l.startsWith('clickstream sql: ') && !l.includes('\n'))).toBe(true);
});

it('formats an empty result', () => {
  expect(formatRows([], 'table')).toEqual(['', '', '(0 rows)']);
  expect(formatRows([], 'csv')).toEqual(['']);
});

describe('clickstream sql --serve', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'sql-serve-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('serves the migrated embedded warehouse to PostgreSQL clients; a busy port names --port', async () => {
    const served = await serveWarehouse({ dir: path.join(dir, 'dwh'), port: 0, host: '127.0.0.1' });
    try {
      expect(served.url).toMatch(/^postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres$/);
      const a = new pg.Client({ connectionString: served.url });
      const b = new pg.Client({ connectionString: served.url });
      await Promise.all([a.connect(), b.connect()]);
      try {
        await a.query(SEED);
        const [fromA, fromB] = await Promise.all([
          a.query('SELECT count(*)::int AS n FROM clickstream_events WHERE event_name = $1', ['page_view']),
          b.query(`SELECT properties->>'query' AS q FROM clickstream_events WHERE event_name = 'search'`),
        ]);
        expect(fromA.rows).toEqual([{ n: 2 }]);
        expect(fromB.rows).toEqual([{ q: 'boots' }]);
        await expect(b.query('SELECT nope')).rejects.toThrow(/column "nope" does not exist/);
        expect((await b.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
      } finally {
        await Promise.all([a.end(), b.end()]);
      }
      const port = Number(new URL(served.url).port);
      await expect(serveWarehouse({ dir: path.join(dir, 'other'), port, host: '127.0.0.1' })).rejects.toThrow(
        `port ${port} on 127.0.0.1 is in use: choose another with --port <n>`,
      );
    } finally {
      await served.close();
    }
  });
  it('refuses a non-loopback --host unless --allow-remote', async () => {
    vi.stubEnv('DATA_DIR', dir);
    vi.stubEnv('DATABASE_URL', '');
    expect(await run(['--serve', '--host', '0.0.0.0', '--port', '0'])).toBe(2);
    expect(err).toEqual([
      'clickstream sql: --host 0.0.0.0 is not a loopback address: the served warehouse has no authentication and ' +
        'every client is its superuser; pass --allow-remote to serve it there anyway (see clickstream sql --help)',
    ]);
    expect(await run(['--allow-remote', 'SELECT 1'])).toBe(2);
  });

  it('ETL, privacy and migrate commands refuse a served PGlite, in one line', async () => {
    const served = await serveWarehouse({ dir: path.join(dir, 'served'), port: 0, host: '127.0.0.1' });
    try {
      vi.stubEnv('DATA_DIR', path.join(dir, 'elsewhere'));
      vi.stubEnv('DATABASE_URL', served.url);
      const refusal = `DATABASE_URL=${served.url} is a PGlite served by \`clickstream sql --serve\`, not PostgreSQL`;
      expect(await etlCli(['db', 'migrate'])).toBe(1);
      expect(await etlCli(['run'])).toBe(1);
      expect(await privacyCli(['erase', '--client', 'c1'])).toBe(1);
      expect(err.filter((l) => l.startsWith(refusal))).toHaveLength(3);
      expect(err.every((l) => !l.includes('\n'))).toBe(true);
      // Reading it is what the served port is for.
      out = [];
      expect(await run(['SELECT count(*)::int AS n FROM etl_runs', '--json'])).toBe(0);
      expect(out).toEqual(['{"n":0}']);
    } finally {
      await served.close();
    }
  });
});
