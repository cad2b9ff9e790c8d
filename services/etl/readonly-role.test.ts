/**
 * ensureReadonlyRole on real PostgreSQL: idempotent, the role reads every warehouse table (also
 * one created later by the admin) and cannot write, and a password full of quotes is only data.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RolePasswordError } from '../db/role-password.ts';
import { asRole, createTempDatabase, TEST_PG_URL, type TempDatabase } from '../testing/postgres.ts';
import { verifierMatches } from '../testing/scram.ts';
import { ensureReadonlyRole, readerFromSecret } from './readonly-role.ts';
import { openWarehouse, type Warehouse } from './warehouse.ts';

describe('the dashboard reader role', () => {
  let temp: TempDatabase;
  let owner: Warehouse;
  const role = `reader_${randomBytes(4).toString('hex')}`;
  const password = `it's; DROP ROLE postgres; --\\'${randomBytes(8).toString('hex')}`;

  const asReader = <T>(fn: (c: pg.Client) => Promise<T>) => asRole(temp.url, role, password, fn);

  beforeAll(async () => {
    temp = await createTempDatabase('reader');
    owner = await openWarehouse({ databaseUrl: temp.url });
    await owner.migrate();
  });
  afterAll(async () => {
    await owner?.query(`DROP OWNED BY ${role}`).catch(() => {});
    await owner?.close();
    await temp?.drop();
    const admin = new pg.Client({ connectionString: TEST_PG_URL });
    await admin.connect();
    await admin.query(`DROP ROLE IF EXISTS ${role}`).finally(() => admin.end());
  });

  it('is created once, re-applied without error, and reads but never writes', async () => {
    const reader = { role, password, database: temp.name };
    await ensureReadonlyRole(owner, reader);
    await ensureReadonlyRole(owner, reader);
    const [attrs] = await owner.query<{ rolcanlogin: boolean; rolsuper: boolean; rolconfig: string[] }>(
      'SELECT rolcanlogin, rolsuper, rolconfig FROM pg_roles WHERE rolname = $1',
      [role],
    );
    expect(attrs).toEqual({ rolcanlogin: true, rolsuper: false, rolconfig: ['default_transaction_read_only=on'] });
    // Local PostgreSQL trusts every login: the password is checked as the SCRAM verifier it stores.
    const [{ rolpassword }] = await owner.query<{ rolpassword: string }>(
      'SELECT rolpassword FROM pg_authid WHERE rolname = $1',
      [role],
    );
    expect(verifierMatches(rolpassword, password)).toBe(true);

    await owner.query('CREATE TABLE later_table (id int)');
    await owner.query('INSERT INTO later_table VALUES (1)');
    await asReader(async (c) => {
      expect((await c.query('SELECT count(*)::int AS n FROM etl_runs')).rows).toEqual([{ n: 0 }]);
      expect((await c.query('SELECT id FROM later_table')).rows).toEqual([{ id: 1 }]);
      await expect(c.query('INSERT INTO later_table VALUES (2)')).rejects.toThrow(/read-only transaction/);
      // Even with the read-only default switched off, the grants refuse the write.
      await c.query('SET default_transaction_read_only = off');
      await expect(c.query('INSERT INTO later_table VALUES (2)')).rejects.toThrow(/permission denied/);
      await expect(c.query('CREATE TABLE mine (id int)')).rejects.toThrow(/permission denied/);
    });
  });

  it('reads its login from the reader secret and refuses a malformed one', () => {
    const secret = JSON.stringify({ username: 'dashboard_reader', password: 'p'.repeat(32), host: 'h' });
    expect(readerFromSecret(secret, 'clickstream')).toEqual({
      role: 'dashboard_reader',
      password: 'p'.repeat(32),
      database: 'clickstream',
    });
    expect(() => readerFromSecret('nope', 'db')).toThrow(RolePasswordError);
    expect(() => readerFromSecret(JSON.stringify({ username: 'Bad-Name', password: 'p'.repeat(32) }), 'db')).toThrow(
      /lower-case SQL identifier/,
    );
    expect(() => readerFromSecret(JSON.stringify({ username: 'r', password: 'short' }), 'db')).toThrow(/16 characters/);
  });
});
