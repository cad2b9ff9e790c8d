/**
 * Opening a database the way every service here does: real PostgreSQL over a `pg` pool when a
 * `postgres://` URL is configured, otherwise embedded PGlite (Postgres compiled to WASM) in a data
 * folder. The warehouse (services/etl/warehouse.ts) and the shop's OLTP database
 * (services/storefront/db/open.ts) both open and migrate through these functions.
 */
import { mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
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

/** The file in a PGlite folder that says which process has it open. */
export const PGLITE_LOCK_FILE = '.clickstream.lock';

/** A PGlite folder another process (or this one) already has open. */
export class PgliteBusyError extends Error {
  override name = 'PgliteBusyError';
  constructor(
    readonly dir: string,
    readonly pid: number,
  ) {
    super(
      `${dir} is in use by process ${pid}${pid === process.pid ? ' (this one)' : ''}: PGlite allows one process per data folder. ` +
        'Stop that process, use the running stack (`npm start` serves every part), or set DATABASE_URL / ' +
        `OLTP_DATABASE_URL to a PostgreSQL server. If process ${pid} is not a clickstream command, delete ${path.join(dir, PGLITE_LOCK_FILE)}.`,
    );
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes `<dir>/.clickstream.lock` (created with O_EXCL, holding our pid). A lock left by a process
 * that is gone (killed, crashed) is taken over; one held by a live process is a PgliteBusyError —
 * two PGlite instances on one folder would corrupt it, and PGlite itself neither detects nor waits.
 */
async function lockPgliteDir(dir: string): Promise<() => Promise<void>> {
  const file = path.join(dir, PGLITE_LOCK_FILE);
  for (let attempt = 0; ; attempt++) {
    try {
      await writeFile(file, `${process.pid}\n`, { flag: 'wx' });
      return () => unlink(file).catch(() => {});
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 2) throw err;
    }
    const pid = Number.parseInt(await readFile(file, 'utf8').catch(() => ''), 10);
    // A lock file being written right now is empty for a moment: treat it as held, once.
    if (Number.isInteger(pid) && pid > 0 ? alive(pid) : attempt === 0) {
      if (!(Number.isInteger(pid) && pid > 0)) {
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      throw new PgliteBusyError(dir, pid);
    }
    // Stale: its process is gone. Removed, then created again with O_EXCL, so of two processes
    // taking it over at once only one wins.
    await unlink(file).catch(() => {});
  }
}

/**
 * PGlite in `dir` (created if missing), or a throwaway in-memory database for `memory://…`. A
 * folder is held by one process at a time (see lockPgliteDir); `close()` releases it.
 */
export async function openPgliteDir(dir: string): Promise<PGlite> {
  if (dir.startsWith('memory://')) return PGlite.create(dir);
  await mkdir(dir, { recursive: true });
  const release = await lockPgliteDir(dir);
  let db: PGlite;
  try {
    db = await PGlite.create(dir);
  } catch (err) {
    await release();
    throw err;
  }
  const close = db.close.bind(db);
  // Every caller closes through db.close() (drizzle's client, the warehouse): release the folder there.
  db.close = async () => {
    try {
      await close();
    } finally {
      await release();
    }
  };
  return db;
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
