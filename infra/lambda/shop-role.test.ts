/**
 * The deploy-time OLTP step on real PostgreSQL (the migrations through the PostgreSQL driver, the
 * role statements through the same Queryable the Data API adapter implements): the shop's login
 * reads and writes the shop's rows and sequences, and can create, alter, drop or read nothing
 * else. The local server trusts every login, so the password is checked as its stored verifier.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Oltp, openOltp } from '../../services/storefront/db/open.ts';
import { prepareOltp } from '../../services/storefront/server.ts';
import { asRole, createTempDatabase, TEST_PG_URL, type TempDatabase } from '../../services/testing/postgres.ts';
import { verifierMatches } from '../../services/testing/scram.ts';
import { setupOltp } from './oltp-setup.ts';

describe('the shop_app login', () => {
  let temp: TempDatabase;
  let oltp: Oltp;
  let admin: pg.Client;
  const role = `shop_app_${randomBytes(4).toString('hex')}`;
  const password = `x'; DROP SCHEMA shop; -- ${randomBytes(8).toString('hex')}`;
  const secret = JSON.stringify({ username: role, password });
  const db = { query: async (sql: string, params?: unknown[]) => (await admin.query(sql, params)).rows };

  const asShop = <T>(fn: (c: pg.Client) => Promise<T>) => asRole(temp.url, role, password, fn);

  beforeAll(async () => {
    temp = await createTempDatabase('shoprole');
    oltp = await openOltp({ databaseUrl: temp.url });
    admin = new pg.Client({ connectionString: temp.url });
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.query(`DROP OWNED BY ${role}`).catch(() => {});
    await admin?.end();
    await oltp?.close();
    await temp?.drop();
    const server = new pg.Client({ connectionString: TEST_PG_URL });
    await server.connect();
    await server.query(`DROP ROLE IF EXISTS ${role}`).finally(() => server.end());
  });

  it('migrates, then gives the login DML on schema shop only; applying it again changes nothing', async () => {
    expect(await setupOltp(oltp, db, secret)).toEqual({ role });
    const [before] = (await admin.query('SELECT rolpassword FROM pg_authid WHERE rolname = $1', [role])).rows;
    expect(await setupOltp(oltp, db, secret)).toEqual({ role });
    const [after] = (await admin.query('SELECT rolpassword FROM pg_authid WHERE rolname = $1', [role])).rows;
    expect(after.rolpassword).toBe(before.rolpassword);
    expect(verifierMatches(after.rolpassword, password)).toBe(true);
    const [attrs] = (
      await admin.query(
        'SELECT rolcanlogin, rolsuper, rolcreatedb, rolcreaterole, rolbypassrls FROM pg_roles WHERE rolname = $1',
        [role],
      )
    ).rows;
    expect(attrs).toEqual({
      rolcanlogin: true,
      rolsuper: false,
      rolcreatedb: false,
      rolcreaterole: false,
      rolbypassrls: false,
    });

    await admin.query('CREATE TABLE public.elsewhere (id int)');
    await asShop(async (c) => {
      // Rows and the serial's sequence.
      const { rows } = await c.query("INSERT INTO shop.categories (slug, name) VALUES ('tools', 'Tools') RETURNING id");
      expect(rows).toHaveLength(1);
      await c.query("UPDATE shop.categories SET name = 'Hand tools' WHERE slug = 'tools'");
      expect((await c.query('SELECT name FROM shop.categories')).rows).toEqual([{ name: 'Hand tools' }]);
      await c.query("DELETE FROM shop.categories WHERE slug = 'tools'");
      expect((await c.query('SELECT count(*)::int AS n FROM shop.categories')).rows).toEqual([{ n: 0 }]);

      // No DDL, in its schema or anywhere else.
      await expect(c.query('CREATE TABLE shop.mine (id int)')).rejects.toThrow(/permission denied/);
      await expect(c.query('DROP TABLE shop.categories')).rejects.toThrow(/must be owner/);
      await expect(c.query('ALTER TABLE shop.products ADD COLUMN x int')).rejects.toThrow(/must be owner/);
      await expect(c.query('TRUNCATE shop.categories')).rejects.toThrow(/permission denied/);
      await expect(c.query('CREATE TABLE public.mine (id int)')).rejects.toThrow(/permission denied/);
      await expect(c.query('CREATE SCHEMA mine')).rejects.toThrow(/permission denied/);
      // No other schema's rows: not the migration history, not public.
      await expect(c.query('SELECT * FROM drizzle.__oltp_migrations')).rejects.toThrow(/permission denied/);
      await expect(c.query('SELECT * FROM public.elsewhere')).rejects.toThrow(/permission denied/);
    });
  });

  it('lets the shop start as shop_app: no migrations, the catalogue seeded through its grants', async () => {
    const url = new URL(temp.url);
    url.username = role;
    const asShopApp = await openOltp({ databaseUrl: url.href });
    try {
      const now = () => new Date('2026-03-01T12:00:00Z');
      const seeded = await prepareOltp(asShopApp, now, { migrate: false });
      expect(seeded.productsInserted).toBeGreaterThan(0);
      expect(await prepareOltp(asShopApp, now, { migrate: false })).toEqual({ productsInserted: 0 });
      // Migrating as shop_app is what the deploy step exists to avoid: it is refused.
      await expect(asShopApp.migrate()).rejects.toThrow(/CREATE SCHEMA/);
    } finally {
      await asShopApp.close();
    }
  });

  it('refuses a malformed shop secret before touching the database', async () => {
    await expect(setupOltp(oltp, db, '{"username":"shop_app"}')).rejects.toThrow(/shop secret: password missing/);
  });
});
