/**
 * Opening a database the way every service here does: real PostgreSQL over a `pg` pool when a
 * `postgres://` URL is configured, otherwise embedded PGlite (Postgres compiled to WASM) in a data
 * folder. The warehouse (services/etl/warehouse.ts) and the shop's OLTP database
 * (services/storefront/db/open.ts) both open and migrate through these functions.
 */
import { mkdir } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import pg from 'pg';

/** Drizzle's migrator options: the folder, and the table that records what was applied. */
export interface MigrationsConfig {
  migrationsFolder: string;
  /** Default `__drizzle_migrations` (in schema `drizzle`); two histories in one database need two tables. */
  migrationsTable?: string;
}

/** A pool whose dead connections fail the next query instead of crashing the process. */
export function createPgPool(databaseUrl: string, max = 4): pg.Pool {
  const pool = new pg.Pool({ connectionString: databaseUrl, max });
  // An idle client whose backend died (e.g. pg_terminate_backend) emits 'error' on the pool;
  // unhandled, that would crash the process instead of failing the next query.
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  return pool;
}

/** The URL without its password, for logs. */
export function redactUrl(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  url.password = '';
  return url.href;
}

/** PGlite in `dir` (created if missing), or a throwaway in-memory database for `memory://…`. */
export async function openPgliteDir(dir: string): Promise<PGlite> {
  if (!dir.startsWith('memory://')) await mkdir(dir, { recursive: true });
  return PGlite.create(dir);
}

/** `pglite:<dir>` or the `memory://` name, for logs. */
export function pgliteLocation(dir: string): string {
  return dir.startsWith('memory://') ? dir : `pglite:${dir}`;
}

/**
 * Applies pending migrations on one connection of `pool`, holding the advisory lock `lockKey` so
 * that concurrent starts (several processes against one server) run them once, one after another.
 */
export async function migratePostgres(pool: pg.Pool, lockKey: number, config: MigrationsConfig): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [lockKey]);
    try {
      await migratePg(drizzlePg(client), config);
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [lockKey]);
    }
  } finally {
    client.release();
  }
}

/** Applies pending migrations to PGlite (one process per data folder, so no lock is needed). */
export async function migratePgliteDb(db: PGlite, config: MigrationsConfig): Promise<void> {
  await migratePglite(drizzlePglite(db), config);
}
