/**
 * Role passwords as SCRAM verifiers, on real PostgreSQL (superuser here, so pg_authid is readable
 * in the test; the local server trusts every login, so "can log in" is checked as "pg_authid holds
 * the verifier of exactly this password", the value a SCRAM login is checked against).
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_PG_URL } from '../testing/postgres.ts';
import { verifierMatches } from '../testing/scram.ts';
import { applyRolePassword, RolePasswordError, scramVerifier } from './role-password.ts';

describe('role passwords', () => {
  let admin: pg.Client;
  const role = `pw_${randomBytes(4).toString('hex')}`;
  const stored = async () =>
    (await admin.query('SELECT rolpassword FROM pg_authid WHERE rolname = $1', [role])).rows[0].rolpassword as string;
  const db = { query: async (sql: string, params?: unknown[]) => (await admin.query(sql, params)).rows };

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: TEST_PG_URL });
    await admin.connect();
    await admin.query(`CREATE ROLE ${role} LOGIN`);
  });
  afterAll(async () => {
    await admin?.query(`DROP ROLE IF EXISTS ${role}`);
    await admin?.end();
  });

  it('computes the verifier PostgreSQL itself stores for a plaintext password (same salt and iterations)', async () => {
    const password = `it's a \\ "test" ${randomBytes(6).toString('hex')}`;
    await admin.query("SET password_encryption = 'scram-sha-256'");
    await admin.query(`ALTER ROLE ${role} PASSWORD '${password.replace(/'/g, "''")}'`);
    const own = await stored();
    expect(own).toMatch(/^SCRAM-SHA-256\$4096:/);
    expect(verifierMatches(own, password)).toBe(true);
    expect(verifierMatches(own, `${password}x`)).toBe(false);
  });

  it('sends a verifier, not the password, and only when the password changed', async () => {
    const first = `first-${randomBytes(12).toString('hex')}`;
    expect(await applyRolePassword(db, role, first)).toBe(true);
    const v1 = await stored();
    expect(verifierMatches(v1, first)).toBe(true);
    const [{ comment }] = (
      await admin.query("SELECT shobj_description(oid, 'pg_authid') AS comment FROM pg_roles WHERE rolname = $1", [
        role,
      ])
    ).rows;
    expect(comment).toMatch(/^clickstream-password pbkdf2-sha256:100000:/);
    expect(comment).not.toContain(first);

    // Same password: nothing altered (a fresh verifier would have a fresh salt).
    expect(await applyRolePassword(db, role, first)).toBe(false);
    expect(await stored()).toBe(v1);

    const second = `second-${randomBytes(12).toString('hex')}`;
    expect(await applyRolePassword(db, role, second)).toBe(true);
    const v2 = await stored();
    expect(verifierMatches(v2, second)).toBe(true);
    expect(verifierMatches(v2, first)).toBe(false);
  });

  it('refuses a role that does not exist and a password it cannot SASLprep', async () => {
    await expect(applyRolePassword(db, `${role}_missing`, 'p'.repeat(20))).rejects.toThrow(/does not exist/);
    expect(() => scramVerifier('pässwörd-pässwörd')).toThrow(RolePasswordError);
  });
});
