/**
 * Test helper: a fresh, empty PostgreSQL database per test file on the real server
 * (127.0.0.1:5432 here and in CI), dropped afterwards. Tests never share tables, so files run in
 * parallel. Override the server with TEST_PG_URL.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const TEST_PG_URL = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TempDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

export async function createTempDatabase(prefix = 'test'): Promise<TempDatabase> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: TEST_PG_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(TEST_PG_URL);
  url.pathname = `/${name}`;
  return {
    url: url.href,
    name,
    async drop() {
      const c = new pg.Client({ connectionString: TEST_PG_URL });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** Runs `fn` on a connection to the database at `url` as `role` with `password` (closed after). */
export async function asRole<T>(
  url: string,
  role: string,
  password: string,
  fn: (c: pg.Client) => Promise<T>,
): Promise<T> {
  const u = new URL(url);
  u.username = role;
  u.password = password;
  const client = new pg.Client({ connectionString: u.href });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}
