/**
 * Opening a database the way every service here does: real PostgreSQL over a `pg` pool when a
 * `postgres://` URL is configured, otherwise embedded PGlite (Postgres compiled to WASM) in a data
 * folder. The warehouse (services/etl/warehouse.ts) and the shop's OLTP database
 * (services/storefront/db/open.ts) both open and migrate through these functions.
 */
import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
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
    /** Set when the holder is on another machine (a shared folder), where its pid cannot be checked. */
    readonly host?: string,
  ) {
    super(
      `${dir} is in use by process ${pid}${host ? ` on host ${host}` : pid === process.pid ? ' (this one)' : ''}: PGlite allows one process per data folder. ` +
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

/** Folders this process holds (a lock file with our own pid that is not in here is stale). */
const heldDirs = new Set<string>();

interface LockOwner {
  pid: number;
  host: string;
  nonce: string;
}

/** `pid host nonce` (a lock written before hosts and nonces were stored holds the pid only). */
function parseLock(text: string): LockOwner | undefined {
  const [pidText, host = hostname(), nonce = ''] = text.trim().split(/\s+/);
  const pid = Number.parseInt(pidText ?? '', 10);
  return Number.isInteger(pid) && pid > 0 ? { pid, host, nonce } : undefined;
}

const readOrEmpty = (file: string) =>
  readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });

/**
 * Takes `<dir>/.clickstream.lock`, holding `pid host nonce`: written to a unique temporary file
 * and `link()`ed to the lock name, which fails if the lock exists, so the lock never appears half
 * written. A lock whose process is gone (killed, crashed; or our own pid after a container
 * restart, when this process does not hold the folder) is taken over; one held by a live process —
 * or by a process on another host, which cannot be checked — is a PgliteBusyError: two PGlite
 * instances on one folder would corrupt it, and PGlite itself neither detects nor waits.
 *
 * Taking over is serialised by `<lock>.takeover`, a hard link to the stale lock made with
 * `link()` (exclusive): only its maker removes the stale lock, and only after checking that the
 * link is to the very lock it found stale (nonces make every lock's content unique), so two
 * processes taking over at once can never both win nor remove the other's new lock.
 * Exported for its tests.
 */
export async function lockPgliteDir(dir: string): Promise<() => Promise<void>> {
  const key = path.resolve(dir);
  const file = path.join(dir, PGLITE_LOCK_FILE);
  const guard = `${file}.takeover`;
  const nonce = randomBytes(12).toString('hex');
  const mine = `${process.pid} ${hostname()} ${nonce}\n`;
  const tmp = `${file}.${nonce}.tmp`;
  await writeFile(tmp, mine, { flag: 'wx' });
  try {
    for (let attempt = 0; ; attempt++) {
      if (attempt > 300) throw new Error(`could not take ${file}: it keeps changing`);
      try {
        await link(tmp, file);
        heldDirs.add(key);
        return async () => {
          // Only our own lock: never one that somebody took over.
          if ((await readOrEmpty(file).catch(() => undefined)) === mine) await unlink(file).catch(() => {});
          heldDirs.delete(key);
        };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const seen = await readOrEmpty(file);
      if (seen === undefined) continue;
      const owner = parseLock(seen);
      if (owner && owner.host !== hostname()) throw new PgliteBusyError(dir, owner.pid, owner.host);
      if (owner && (owner.pid === process.pid ? heldDirs.has(key) : alive(owner.pid))) {
        throw new PgliteBusyError(dir, owner.pid);
      }
      // Stale (or unreadable garbage, which no lock of ours ever is): take it over.
      // A guard unchanged for about a second is one left by a process that died taking over.
      await takeOver(file, guard, seen, attempt > 100);
      await new Promise((r) => setTimeout(r, attempt < 5 ? 0 : 10));
    }
  } finally {
    await unlink(tmp).catch(() => {});
  }
}

/** Removes the lock `file` if it still is `stale`, as the one holder of `guard`; see lockPgliteDir. */
async function takeOver(file: string, guard: string, stale: string, impatient: boolean): Promise<void> {
  try {
    await link(file, guard);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return; // the lock is gone already
    if (code !== 'EEXIST') throw err;
    // Another process is taking over — unless the guard is a leftover of one that died mid-way:
    // a guard is always a link to the current lock, so one unlike the lock is left over.
    const left = await readOrEmpty(guard);
    if (left === undefined || (left === stale && !impatient)) return;
    const aside = `${guard}.${randomBytes(6).toString('hex')}`;
    await rename(guard, aside).catch(() => {});
    if ((await readOrEmpty(aside)) !== left) await link(aside, guard).catch(() => {});
    await unlink(aside).catch(() => {});
    return;
  }
  try {
    // Ours is the guard: nobody else removes the lock now. Is it still the stale one we read?
    if ((await readOrEmpty(guard)) === stale) await unlink(file);
  } finally {
    await unlink(guard).catch(() => {});
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
