/** The host entry turns the reader secret into DATABASE_URL (TLS, no CA on the host) or leaves the URL given. */
import { describe, expect, it } from 'vitest';
import { useReaderSecret } from './entry.ts';

const SECRET = JSON.stringify({
  username: 'dashboard_reader',
  password: 'p@ss:w/rd#1?%',
  host: 'wh.abc.eu-west-1.rds.amazonaws.com',
  port: '5432',
  dbname: 'clickstream',
});

describe('useReaderSecret', () => {
  it('builds the URL from the named secret, every part encoded, TLS without CA verification', async () => {
    const env: NodeJS.ProcessEnv = { DATABASE_SECRET_ARN: 'arn:reader', DATABASE_URL: 'postgres://stale' };
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
    expect(url.searchParams.get('sslmode')).toBe('no-verify');
  });

  it('keeps DATABASE_URL when no secret is named, and fails clearly on a broken secret', async () => {
    const env: NodeJS.ProcessEnv = { DATABASE_URL: 'postgres://given' };
    await useReaderSecret(env, async () => {
      throw new Error('must not be called');
    });
    expect(env.DATABASE_URL).toBe('postgres://given');
    await expect(useReaderSecret({ DATABASE_SECRET_ARN: 'arn:x' }, async () => '{"username":"r"}')).rejects.toThrow(
      /missing field password/,
    );
  });
});
