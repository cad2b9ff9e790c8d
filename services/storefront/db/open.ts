/**
 * The shop's OLTP database: real PostgreSQL when `OLTP_DATABASE_URL` is set, otherwise embedded
 * PGlite in `<DATA_DIR>/oltp` — opened and migrated through the same helpers as the warehouse
 * (services/db/connect.ts), with its own migrations folder and its own migrations table, so the
 * two histories never mix even in one database.
 *
 * PGlite is a single connection: its `transaction()` runs exclusively (other queries wait), so
 * checkout transactions are serialised there; on PostgreSQL they run concurrently and the
 * conditional stock update decides (services/storefront/checkout.ts).
 */
import { fileURLToPath } from 'node:url';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import {
  createPgPool,
  type MigrationsConfig,
  migratePgliteDb,
  migratePostgres,
  openPgliteDir,
  pgliteLocation,
  redactUrl,
} from '../../db/connect.ts';
import * as schema from './schema.ts';

export const OLTP_MIGRATIONS: MigrationsConfig = {
  migrationsFolder: fileURLToPath(new URL('../../../migrations/oltp/', import.meta.url)),
  migrationsTable: '__oltp_migrations',
};

/** pg_advisory_lock key of `oltp migrate` (the warehouse uses 72_001/72_002). */
const MIGRATE_LOCK_KEY = 72_101;

export type OltpDb = PgDatabase<PgQueryResultHKT, typeof schema>;
export type OltpTx = Parameters<Parameters<OltpDb['transaction']>[0]>[0];

export interface Oltp {
  readonly kind: 'postgres' | 'pglite';
  /** Where it lives, without credentials, for logs. */
  readonly location: string;
  readonly db: OltpDb;
  /** Applies every pending migration of migrations/oltp/; concurrent callers are serialised. */
  migrate(): Promise<void>;
  close(): Promise<void>;
}

export interface OpenOltpOptions {
  /** `postgres://…`; empty or undefined selects PGlite. */
  databaseUrl?: string;
  /** PGlite data folder (`<DATA_DIR>/oltp`), or `memory://` for a throwaway database. */
  pgliteDir?: string;
}

export async function openOltp(opts: OpenOltpOptions): Promise<Oltp> {
  if (opts.databaseUrl) {
    // Room for concurrent checkouts; each transaction holds one connection.
    const pool = createPgPool(opts.databaseUrl, 10);
    return {
      kind: 'postgres',
      location: redactUrl(opts.databaseUrl),
      db: drizzlePg(pool, { schema }) as unknown as OltpDb,
      migrate: () => migratePostgres(pool, MIGRATE_LOCK_KEY, OLTP_MIGRATIONS),
      close: () => pool.end(),
    };
  }
  if (!opts.pgliteDir) throw new Error('openOltp: either databaseUrl or pgliteDir is required');
  const client = await openPgliteDir(opts.pgliteDir);
  return {
    kind: 'pglite',
    location: pgliteLocation(opts.pgliteDir),
    db: drizzlePglite(client, { schema }) as unknown as OltpDb,
    migrate: () => migratePgliteDb(client, OLTP_MIGRATIONS),
    close: () => client.close(),
  };
}
