/**
 * One process per PGlite folder (the lock file of openPgliteDir), and the warehouse's exclusive
 * transactions on the one PGlite connection its users share in the local stack.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openWarehouse, type Warehouse } from '../etl/warehouse.ts';
import { lockPgliteDir, openPgliteDir, PGLITE_LOCK_FILE, PgliteBusyError } from './connect.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'pglite-lock-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** The pid of a process that has exited (a real dead pid, not a guess). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0']);
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid!;
}

describe('openPgliteDir', () => {
  it('refuses a folder this process already has open, and frees it on close', async () => {
    const folder = path.join(dir, 'same');
    const db = await openPgliteDir(folder);
    const second = await openPgliteDir(folder).catch((err: unknown) => err);
    expect(second).toBeInstanceOf(PgliteBusyError);
    expect((second as Error).message).toContain(`in use by process ${process.pid} (this one)`);
    await db.close();
    expect(existsSync(path.join(folder, PGLITE_LOCK_FILE))).toBe(false);
    const again = await openPgliteDir(folder);
    await again.close();
  });

  it('refuses a folder a live process holds, naming it and what to do, without touching its lock', async () => {
    const folder = path.join(dir, 'busy');
    await mkdir(folder);
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
    try {
      await writeFile(path.join(folder, PGLITE_LOCK_FILE), `${holder.pid}\n`);
      const err = (await openPgliteDir(folder).catch((e: unknown) => e)) as Error;
      expect(err).toBeInstanceOf(PgliteBusyError);
      expect(err.message).toMatch(
        new RegExp(
          `^${folder.replaceAll('/', '\\/')} is in use by process ${holder.pid}: .*Stop that process.*DATABASE_URL`,
        ),
      );
      expect(existsSync(path.join(folder, PGLITE_LOCK_FILE))).toBe(true);
    } finally {
      holder.kill();
    }
  });

  it('takes over the lock of a process that died without closing', async () => {
    const folder = path.join(dir, 'stale');
    await mkdir(folder);
    await writeFile(path.join(folder, PGLITE_LOCK_FILE), `${await deadPid()}\n`);
    const db = await openPgliteDir(folder);
    expect((await db.query<{ x: number }>('SELECT 1 AS x')).rows).toEqual([{ x: 1 }]);
    await db.close();
  });
});

/**
 * `n` processes that each load lockPgliteDir, wait for "go" on stdin, try to take `folder` and say
 * "won" or "busy"; winners hold the lock (no release) until their stdin closes.
 */
async function raceForLock(folder: string, n: number): Promise<string[]> {
  const code = `
    import { lockPgliteDir } from ${JSON.stringify(new URL('./connect.ts', import.meta.url).href)};
    process.stdout.write('ready\\n');
    process.stdin.once('data', async () => {
      const result = await lockPgliteDir(${JSON.stringify(folder)}).then(() => 'won', (e) => e.name === 'PgliteBusyError' ? 'busy' : String(e));
      process.stdout.write(result + '\\n');
      process.stdin.resume();
      process.stdin.once('end', () => process.exit(0));
    });`;
  const children = Array.from({ length: n }, () =>
    spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
      stdio: ['pipe', 'pipe', 'inherit'],
    }),
  );
  const lines = children.map((child) => {
    const got: string[] = [];
    const waiters: ((line: string) => void)[] = [];
    let buf = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      buf += chunk;
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        const w = waiters.shift();
        if (w) w(line);
        else got.push(line);
      }
    });
    return () => (got.length ? Promise.resolve(got.shift()!) : new Promise<string>((r) => waiters.push(r)));
  });
  try {
    expect(await Promise.all(lines.map((next) => next()))).toEqual(children.map(() => 'ready'));
    for (const child of children) child.stdin.write('go\n');
    return await Promise.all(lines.map((next) => next()));
  } finally {
    await Promise.all(
      children.map((child) => {
        const exited = new Promise((r) => child.once('exit', r));
        child.stdin.end();
        return exited;
      }),
    );
  }
}

describe('the PGlite folder lock', () => {
  it('lets exactly one of several processes take over a stale lock at once', { timeout: 120_000 }, async () => {
    const folder = path.join(dir, 'race');
    await mkdir(folder);
    for (let round = 0; round < 4; round++) {
      await writeFile(path.join(folder, PGLITE_LOCK_FILE), `${await deadPid()}\n`);
      const results = await raceForLock(folder, 4);
      expect(results.filter((r) => r === 'won')).toHaveLength(1);
      expect(results.filter((r) => r === 'busy')).toHaveLength(3);
    }
  });

  it('on release, leaves alone a lock that is no longer its own', async () => {
    const folder = path.join(dir, 'not-mine');
    await mkdir(folder);
    const release = await lockPgliteDir(folder);
    const file = path.join(folder, PGLITE_LOCK_FILE);
    expect((await readFile(file, 'utf8')).split(' ')[0]).toBe(String(process.pid));
    // Somebody took it over (e.g. after deciding this process was gone).
    await writeFile(file, '12345 elsewhere 00ff\n');
    await release();
    expect(await readFile(file, 'utf8')).toBe('12345 elsewhere 00ff\n');
  });

  it('takes over a lock holding our own pid that this process does not hold (a restarted container)', async () => {
    const folder = path.join(dir, 'own-pid');
    await mkdir(folder);
    await writeFile(path.join(folder, PGLITE_LOCK_FILE), `${process.pid}\n`);
    const release = await lockPgliteDir(folder);
    expect(await lockPgliteDir(folder).catch((e: unknown) => e)).toBeInstanceOf(PgliteBusyError);
    await release();
    expect(existsSync(path.join(folder, PGLITE_LOCK_FILE))).toBe(false);
  });
});

describe('the PGlite warehouse shared by the ETL and the dashboard', () => {
  let wh: Warehouse;
  beforeAll(async () => {
    wh = await openWarehouse({ pgliteDir: 'memory://' });
  });
  afterAll(() => wh.close());

  it('keeps other queries out of a session transaction until it commits', async () => {
    {
      await wh.query('CREATE TABLE t (n int)');
      let outsideDone = false;
      let outside: Promise<unknown[]> | undefined;
      await wh.withSession(async (s) => {
        await s.query('BEGIN');
        await s.query('INSERT INTO t VALUES (1)');
        // A dashboard query while the ETL's transaction is open: it must neither see the
        // uncommitted row nor run inside the transaction.
        outside = wh.query('SELECT count(*)::int AS n FROM t').then((rows) => {
          outsideDone = true;
          return rows;
        });
        await new Promise((r) => setTimeout(r, 100));
        expect(outsideDone).toBe(false);
        await s.query('INSERT INTO t VALUES (2)');
        await s.query('COMMIT');
      });
      expect(await outside).toEqual([{ n: 2 }]);
    }
  });

  it('rolls back a session transaction whose work failed, and the connection stays usable', async () => {
    {
      await wh.query('CREATE TABLE u (n int PRIMARY KEY)');
      const failed = await wh
        .withSession(async (s) => {
          await s.query('BEGIN');
          await s.query('INSERT INTO u VALUES (1)');
          await s.query('INSERT INTO u VALUES (1)');
        })
        .catch((e: unknown) => e);
      expect((failed as Error).message).toMatch(/duplicate key/);
      expect(await wh.query('SELECT count(*)::int AS n FROM u')).toEqual([{ n: 0 }]);
      await wh.withSession(async (s) => {
        await s.query('BEGIN');
        await s.query('INSERT INTO u VALUES (3)');
        await s.query('ROLLBACK');
      });
      expect(await wh.query('SELECT count(*)::int AS n FROM u')).toEqual([{ n: 0 }]);
    }
  });

  it("never lets a second session end the first one's transaction", async () => {
    await wh.query('CREATE TABLE v (n int)');
    let began!: () => void;
    const aBegan = new Promise<void>((r) => {
      began = r;
    });
    let bReturned!: () => void;
    const bDone = new Promise<void>((r) => {
      bReturned = r;
    });
    const a = wh.withSession(async (s) => {
      expect(await s.tryLock(424_242)).toBe(true);
      await s.query('BEGIN');
      await s.query('INSERT INTO v VALUES (1)');
      began();
      await bDone;
      await s.query('INSERT INTO v VALUES (2)');
      await s.query('COMMIT');
      await s.unlock(424_242);
    });
    await aBegan;
    // The losing ETL run: it finds the lock taken and returns while A's transaction is open.
    const lost = await wh.withSession((s) => s.tryLock(424_242));
    expect(lost).toBe(false);
    bReturned();
    await a;
    expect(await wh.query('SELECT n FROM v ORDER BY n')).toEqual([{ n: 1 }, { n: 2 }]);
  });

  it('runs two sessions transactions one after the other, each committing its own rows', async () => {
    await wh.query('CREATE TABLE w (who text, n int)');
    const run = (who: string) =>
      wh.withSession(async (s) => {
        await s.query('BEGIN');
        await s.query('INSERT INTO w VALUES ($1, 1)', [who]);
        await new Promise((r) => setTimeout(r, 20));
        await s.query('INSERT INTO w VALUES ($1, 2)', [who]);
        await s.query(who === 'a' ? 'COMMIT' : 'ROLLBACK');
      });
    await Promise.all([run('a'), run('b')]);
    expect(await wh.query('SELECT who, n FROM w ORDER BY who, n')).toEqual([
      { who: 'a', n: 1 },
      { who: 'a', n: 2 },
    ]);
  });
});
