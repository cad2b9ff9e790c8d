/** The host entry turns the reader secret into DATABASE_URL (TLS verified against the shipped RDS CAs) or leaves the URL given. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'pg-connection-string';
import { afterAll, describe, expect, it } from 'vitest';
import { rdsCaBundle } from './ca.ts';
import { useReaderSecret } from './entry.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'entry-ca-'));
const CA_FILE = path.join(dir, 'rds-ca.pem');
writeFileSync(CA_FILE, rdsCaBundle());
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SECRET = JSON.stringify({
  username: 'dashboard_reader',
  password: 'p@ss:w/rd#1?%',
  host: 'wh.abc.eu-west-1.rds.amazonaws.com',
  port: '5432',
  dbname: 'clickstream',
});

describe('useReaderSecret', () => {
  it('builds the URL from the named secret, every part encoded, verify-full against the CA file', async () => {
    const env: NodeJS.ProcessEnv = {
      DATABASE_SECRET_ARN: 'arn:reader',
      DATABASE_CA_FILE: CA_FILE,
      DATABASE_URL: 'postgres://stale',
    };
    const asked: string[] = [];
    await useReaderSecret(env, async (id) => {
      asked.push(id);
      return SECRET;
    });
    expect(asked).toEqual(['arn:reader']);
    const url = new URL(env.DATABASE_URL ?? '');
    expect(decodeURIComponent(url.password)).toBe('p@ss:w/rd#1?%');
    expect(url.username).toBe('dashboard_reader');
    expect(url.host).toBe('wh.abc.eu-west-1.rds.amazonaws.com:5432');
    expect(url.pathname).toBe('/clickstream');
    expect(url.searchParams.get('sslmode')).toBe('verify-full');
    expect(url.searchParams.get('sslrootcert')).toBe(CA_FILE);
    // What node-postgres makes of it: the shipped CAs, and certificate checks left on.
    const config = parse(env.DATABASE_URL ?? '');
    const ssl = config.ssl as { ca?: string; rejectUnauthorized?: boolean };
    expect(ssl.ca).toBe(rdsCaBundle());
    expect(ssl.rejectUnauthorized).not.toBe(false);
    expect(config.password).toBe('p@ss:w/rd#1?%');
  });

  it('refuses to start without a readable CA file rather than connect unverified', async () => {
    const secret = async () => SECRET;
    await expect(useReaderSecret({ DATABASE_SECRET_ARN: 'arn:x' }, secret)).rejects.toThrow(
      /DATABASE_CA_FILE is not set/,
    );
    await expect(
      useReaderSecret({ DATABASE_SECRET_ARN: 'arn:x', DATABASE_CA_FILE: path.join(dir, 'missing.pem') }, secret),
    ).rejects.toThrow(/missing\.pem: ENOENT/);
    const notPem = path.join(dir, 'not.pem');
    writeFileSync(notPem, 'hello');
    await expect(useReaderSecret({ DATABASE_SECRET_ARN: 'arn:x', DATABASE_CA_FILE: notPem }, secret)).rejects.toThrow(
      /no PEM certificate/,
    );
  });

  it('keeps DATABASE_URL when no secret is named, and fails clearly on a broken secret', async () => {
    const env: NodeJS.ProcessEnv = { DATABASE_URL: 'postgres://given' };
    await useReaderSecret(env, async () => {
      throw new Error('must not be called');
    });
    expect(env.DATABASE_URL).toBe('postgres://given');
    await expect(
      useReaderSecret({ DATABASE_SECRET_ARN: 'arn:x', DATABASE_CA_FILE: CA_FILE }, async () => '{"username":"r"}'),
    ).rejects.toThrow(/missing field password/);
  });
});
