/**
 * The warehouse connection: real PostgreSQL when `DATABASE_URL` is set, otherwise embedded PGlite
 * (Postgres compiled to WASM) in `<DATA_DIR>/dwh`. Both sit behind one small interface so the ETL
 * has a single code path, and both are migrated from the same `migrations/` folder by drizzle-orm's
 * own migrators.
 *
 * A `Session` is one database connection held for a whole ETL run: the advisory lock, the
 * temporary staging table and each batch transaction must all live on the same connection.
 *
 * PGlite is one connection shared by everything in the process (the local stack runs the ETL and
 * the dashboard side by side on it): a session's BEGIN … COMMIT runs as PGlite's own exclusive
 * `transaction()`, so nobody else's query can land inside an ETL transaction — they wait for its
 * COMMIT or ROLLBACK, as they would on PostgreSQL's separate connections.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PGlite, Transaction } from '@electric-sql/pglite';
import type pg from 'pg';
import { type Config, ConfigError } from '../config.ts';
import {
  createPgPool,
  migratePgliteDb,
  migratePostgres,
  openPgliteDir,
  pgliteLocation,
  redactUrl,
} from '../db/connect.ts';
import { copyFromStdin } from './pg-copy.ts';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url));

/** Advisory lock keys (pg_advisory_lock's bigint space is shared by the whole database). */
export const LOCK_KEYS = { migrate: 72_001, etl: 72_002 } as const;

export interface Session {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<{ rows: T[]; rowCount: number }>;
  /** Runs `COPY … FROM STDIN` (text format) with `data` as its input. */
  copyIn(copySql: string, data: Uint8Array): Promise<void>;
  /**
   * Takes the session-level advisory lock `key` if nobody holds it. PGlite is one connection
   * shared by everything in the process, where a Postgres advisory lock would be re-entrant, so
   * there the lock is also kept in process memory.
   */
  tryLock(key: number): Promise<boolean>;
  unlock(key: number): Promise<void>;
  /** The server process id of this connection (what pg_terminate_backend takes). */
  backendPid(): Promise<number>;
}

export interface Warehouse {
  readonly kind: 'postgres' | 'pglite';
  /** Where it lives, without credentials, for logs. */
  readonly location: string;
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Runs `fn` on one dedicated connection, released afterwards (destroyed if `fn` threw). */
  withSession<T>(fn: (s: Session) => Promise<T>): Promise<T>;
  /** Applies every pending migration of `migrations/`; concurrent callers are serialised. */
  migrate(): Promise<void>;
  close(): Promise<void>;
}

export interface OpenWarehouseOptions {
  /** `postgres://…`; empty or undefined selects PGlite. */
  databaseUrl?: string;
  /** PGlite data folder (`<DATA_DIR>/dwh`), or `memory://` for a throwaway database. */
  pgliteDir?: string;
  migrationsDir?: string;
}

/** Where the configured warehouse is: DATABASE_URL, or the embedded PGlite in `<DATA_DIR>/dwh`. */
export function warehouseOptions(config: Pick<Config, 'DATABASE_URL' | 'DATA_DIR'>): OpenWarehouseOptions {
  return { databaseUrl: config.DATABASE_URL, pgliteDir: path.resolve(config.DATA_DIR, 'dwh') };
}

/**
 * The configured warehouse. The very first start of the embedded one creates PGlite's files and
 * applies every migration — seconds of silence otherwise — so it says so on stderr.
 */
export async function openConfiguredWarehouse(config: Pick<Config, 'DATABASE_URL' | 'DATA_DIR'>): Promise<Warehouse> {
  const opts = warehouseOptions(config);
  const first = !opts.databaseUrl && !existsSync(opts.pgliteDir as string);
  if (first) process.stderr.write(`creating the embedded warehouse in ${opts.pgliteDir} (first start only) …\n`);
  const warehouse = await openWarehouse(opts);
  if (!first) return warehouse;
  return {
    ...warehouse,
    kind: warehouse.kind,
    location: warehouse.location,
    migrate: async () => {
      process.stderr.write('applying the warehouse migrations …\n');
      await warehouse.migrate();
    },
  };
}

export async function openWarehouse(opts: OpenWarehouseOptions): Promise<Warehouse> {
  const migrationsFolder = opts.migrationsDir ?? MIGRATIONS_DIR;
  if (opts.databaseUrl) return openPostgres(opts.databaseUrl, migrationsFolder);
  if (!opts.pgliteDir) throw new Error('openWarehouse: either databaseUrl or pgliteDir is required');
  return openPglite(opts.pgliteDir, migrationsFolder);
}

/**
 * A served PGlite (`clickstream sql --serve`) speaks the PostgreSQL protocol, but all its
 * connections share one backend: an advisory lock excludes nobody there, so the commands that
 * rely on one (ETL runs, privacy erasures, migrations) refuse it.
 */
function refuseServedPglite(pool: pg.Pool, databaseUrl: string): () => Promise<void> {
  let checked: Promise<void> | undefined;
  return () =>
    (checked ??= pool.query<{ v: string }>('SELECT version() AS v').then(
      (res) => {
        if (/PGlite/i.test(res.rows[0]?.v ?? '')) {
          throw new ConfigError(
            `DATABASE_URL=${redactUrl(databaseUrl)} is a PGlite served by \`clickstream sql --serve\`, not PostgreSQL: ` +
              'its connections share one backend, so the ETL, privacy and migrate commands cannot lock it; ' +
              'stop `sql --serve` and run them without DATABASE_URL (on the embedded warehouse itself)',
          );
        }
      },
      (err: unknown) => {
        checked = undefined;
        throw err;
      },
    ));
}

function openPostgres(databaseUrl: string, migrationsFolder: string): Warehouse {
  const pool = createPgPool(databaseUrl);
  const notServedPglite = refuseServedPglite(pool, databaseUrl);
  return {
    kind: 'postgres',
    location: redactUrl(databaseUrl),
    async query<T>(sql: string, params?: unknown[]) {
      // The extended protocol, as on PGlite: one statement per call, several are refused.
      const config = { text: sql, values: params ?? [], queryMode: 'extended' } as pg.QueryConfig;
      return (await pool.query(config)).rows as T[];
    },
    async withSession<T>(fn: (s: Session) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      let broken = false;
      try {
        return await fn(pgSession(client, notServedPglite));
      } catch (err) {
        broken = true;
        throw err;
      } finally {
        // A failed run may leave a transaction or a COPY half-done; never hand that connection back.
        client.release(broken);
      }
    },
    migrate: async () => {
      await notServedPglite();
      await migratePostgres(pool, LOCK_KEYS.migrate, { migrationsFolder });
    },
    close: () => pool.end(),
  };
}

function pgSession(client: pg.PoolClient, lockable: () => Promise<void>): Session {
  return {
    async query<T>(sql: string, params?: unknown[]) {
      const res = await client.query(sql, params);
      return { rows: res.rows as T[], rowCount: res.rowCount ?? 0 };
    },
    async copyIn(copySql: string, data: Uint8Array) {
      await copyFromStdin(client, copySql, data);
    },
    async tryLock(key: number) {
      await lockable();
      const res = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [key]);
      return res.rows[0]?.ok === true;
    },
    async unlock(key: number) {
      await client.query('SELECT pg_advisory_unlock($1)', [key]);
    },
    async backendPid() {
      return (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    },
  };
}

/** An open exclusive PGlite transaction: its handle, and how to end it. */
interface OpenTransaction {
  tx: Transaction;
  end(commit: boolean): Promise<void>;
}

/**
 * Starts `db.transaction()` and hands its transaction out instead of running a callback: the
 * session's later statements go to it until COMMIT/ROLLBACK ends it. Until then PGlite's
 * transaction mutex keeps every `db.query` of other users waiting.
 */
async function beginExclusive(db: PGlite): Promise<OpenTransaction> {
  let handOut!: (tx: Transaction) => void;
  const ready = new Promise<Transaction>((resolve) => {
    handOut = resolve;
  });
  let decide!: (commit: boolean) => void;
  const decided = new Promise<boolean>((resolve) => {
    decide = resolve;
  });
  const done = db.transaction(async (tx) => {
    handOut(tx);
    if (!(await decided)) await tx.rollback();
  });
  const tx = await Promise.race([
    ready,
    done.then(() => {
      throw new Error('the PGlite transaction ended before it began');
    }),
  ]);
  return {
    tx,
    async end(commit) {
      decide(commit);
      await done;
    },
  };
}

const TX_START = /^\s*(BEGIN|START\s+TRANSACTION)\b/i;
const TX_COMMIT = /^\s*(COMMIT|END)\b/i;
const TX_ROLLBACK = /^\s*ROLLBACK\s*;?\s*$/i;

async function openPglite(dir: string, migrationsFolder: string): Promise<Warehouse> {
  const db = await openPgliteDir(dir);
  const heldLocks = new Set<number>();
  /** How to end each session's open transaction (for close()). */
  const openSessions = new Set<(commit: boolean) => Promise<void>>();
  const none = { rows: [], rowCount: 0 };
  // Each session has its own transaction state: one session ending (or failing) must never end
  // another's transaction. Two sessions' transactions are serialised by PGlite's own exclusive
  // `transaction()` (beginExclusive waits for the other's COMMIT/ROLLBACK).
  const newSession = () => {
    let open: OpenTransaction | undefined;
    const endOpen = async (commit: boolean) => {
      const ending = open;
      open = undefined;
      await ending?.end(commit);
    };
    const session: Session = {
      async query<T>(sql: string, params?: unknown[]) {
        if (!open && TX_START.test(sql) && !params?.length) {
          open = await beginExclusive(db);
          return none;
        }
        if (open && TX_COMMIT.test(sql)) {
          await endOpen(true);
          return none;
        }
        if (open && TX_ROLLBACK.test(sql)) {
          await endOpen(false);
          return none;
        }
        const res = await (open ? open.tx : db).query<T>(sql, params);
        return { rows: res.rows, rowCount: res.affectedRows ?? 0 };
      },
      async copyIn(copySql: string, data: Uint8Array) {
        // PGlite has no COPY protocol stream; it reads COPY input from a Blob at /dev/blob.
        const blob = new Blob([data as Uint8Array<ArrayBuffer>]);
        await (open ? open.tx : db).query(copySql.replace(/FROM\s+STDIN/i, "FROM '/dev/blob'"), [], { blob });
      },
      async tryLock(key: number) {
        if (heldLocks.has(key)) return false;
        heldLocks.add(key);
        return true;
      },
      async unlock(key: number) {
        heldLocks.delete(key);
      },
      async backendPid() {
        return (await (open ? open.tx : db).query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      },
    };
    return { session, endOpen };
  };
  return {
    kind: 'pglite',
    location: pgliteLocation(dir),
    async query<T>(sql: string, params?: unknown[]) {
      return (await db.query<T>(sql, params)).rows;
    },
    async withSession<T>(fn: (s: Session) => Promise<T>): Promise<T> {
      const { session, endOpen } = newSession();
      openSessions.add(endOpen);
      try {
        return await fn(session);
      } finally {
        // The one connection is shared: leave no failed transaction behind for the next user, and
        // a session that returned inside a transaction would hold everyone else off forever.
        await endOpen(false).catch(() => {});
        openSessions.delete(endOpen);
      }
    },
    migrate: () => migratePgliteDb(db, { migrationsFolder }),
    close: async () => {
      await Promise.all([...openSessions].map((end) => end(false).catch(() => {})));
      await db.close();
    },
  };
}
