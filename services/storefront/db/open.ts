/**
 * The shop's OLTP database: real PostgreSQL when `OLTP_DATABASE_URL` is set, otherwise embedded
 * PGlite in `<DATA_DIR>/oltp` — opened and migrated through the same helpers as the warehouse
 * (services/db/connect.ts), with its own migrations folder and its own migrations table, so the
 * two histories never mix even in one database.
 *
 * On AWS the shop runs outside the VPC (Amplify compute), so a third driver reaches Aurora through
 * the RDS Data API (IAM-signed HTTPS, no open port; docs/adr-003-oltp-access.md). All three are
 * the same Drizzle PgDatabase over the same schema: only the driver differs.
 *
 * PGlite is a single connection: its `transaction()` runs exclusively (other queries wait), so
 * checkout transactions are serialised there; on PostgreSQL they run concurrently and the
 * conditional stock update decides (services/storefront/checkout.ts).
 */
import { fileURLToPath } from 'node:url';
import { RDSDataClient } from '@aws-sdk/client-rds-data';
import { drizzle as drizzleDataApi } from 'drizzle-orm/aws-data-api/pg';
import { migrate as migrateDataApi } from 'drizzle-orm/aws-data-api/pg/migrator';
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
  readonly kind: 'postgres' | 'pglite' | 'data-api';
  /** Where it lives, without credentials, for logs. */
  readonly location: string;
  readonly db: OltpDb;
  /** Applies every pending migration of migrations/oltp/; concurrent callers are serialised. */
  migrate(): Promise<void>;
  close(): Promise<void>;
}

export interface DataApiTarget {
  /** Aurora cluster ARN. */
  resourceArn: string;
  /** Secret with the cluster credentials the Data API signs in with. */
  secretArn: string;
  database: string;
  region?: string;
  /** A preconfigured client (tests point one at a local HTTP endpoint); default: one for `region`. */
  client?: RDSDataClient;
}

export interface OpenOltpOptions {
  /** `postgres://…`; empty or undefined (and no dataApi) selects PGlite. */
  databaseUrl?: string;
  /** Aurora through the RDS Data API. */
  dataApi?: DataApiTarget;
  /** PGlite data folder (`<DATA_DIR>/oltp`), or `memory://` for a throwaway database. */
  pgliteDir?: string;
  /** Where migrations/oltp/ is (default: the repository's); a bundle that ships it elsewhere says so. */
  migrationsFolder?: string;
}

export async function openOltp(opts: OpenOltpOptions): Promise<Oltp> {
  const migrations = { ...OLTP_MIGRATIONS, ...(opts.migrationsFolder && { migrationsFolder: opts.migrationsFolder }) };
  if (opts.dataApi) {
    const { resourceArn, secretArn, database, region } = opts.dataApi;
    const client = opts.dataApi.client ?? new RDSDataClient({ region });
    const db = drizzleDataApi(client, { schema, database, resourceArn, secretArn });
    return {
      kind: 'data-api',
      location: `${resourceArn}/${database}`,
      db: db as unknown as OltpDb,
      // No session-level advisory lock over the Data API, and none needed: on AWS only the
      // deploy-time step migrates (one CloudFormation update at a time; infra/lambda/oltp-setup.ts),
      // the shop never does. A failure is reported as it is, never retried into a second error.
      migrate: () => migrateDataApi(db, migrations),
      close: async () => client.destroy(),
    };
  }
  if (opts.databaseUrl) {
    // Room for concurrent checkouts; each transaction holds one connection.
    const pool = createPgPool(opts.databaseUrl, 10);
    return {
      kind: 'postgres',
      location: redactUrl(opts.databaseUrl),
      db: drizzlePg(pool, { schema }) as unknown as OltpDb,
      migrate: () => migratePostgres(pool, MIGRATE_LOCK_KEY, migrations),
      close: () => pool.end(),
    };
  }
  if (!opts.pgliteDir) throw new Error('openOltp: either databaseUrl or pgliteDir is required');
  const client = await openPgliteDir(opts.pgliteDir);
  return {
    kind: 'pglite',
    location: pgliteLocation(opts.pgliteDir),
    db: drizzlePglite(client, { schema }) as unknown as OltpDb,
    migrate: () => migratePgliteDb(client, migrations),
    close: () => client.close(),
  };
}
