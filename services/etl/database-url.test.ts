import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { DatabaseSecretError, databaseUrlFromSecret } from './database-url.ts';

// The shape RDS writes into a generated secret (Credentials.fromGeneratedSecret + attachment).
const secret = (over: Record<string, unknown> = {}) =>
  JSON.stringify({
    engine: 'postgres',
    host: 'wh.abc123.eu-west-1.rds.amazonaws.com',
    port: 5432,
    username: 'clickstream_admin',
    password: 'p@ss:w/o#rd?%&=+ !',
    dbname: 'clickstream',
    dbInstanceIdentifier: 'wh',
    ...over,
  });

/** What node-postgres (the warehouse's driver) makes of a connection string. */
const parse = (connectionString: string) => {
  const c = new pg.Client({ connectionString });
  return { host: c.host, port: c.port, user: c.user, password: c.password, database: c.database, ssl: c.ssl };
};

describe('databaseUrlFromSecret', () => {
  it('builds a URL that pg parses back to the exact credentials, with verified TLS', () => {
    const parsed = parse(databaseUrlFromSecret(secret()));
    expect(parsed).toMatchObject({
      host: 'wh.abc123.eu-west-1.rds.amazonaws.com',
      port: 5432,
      user: 'clickstream_admin',
      password: 'p@ss:w/o#rd?%&=+ !',
      database: 'clickstream',
    });
    // verify-full: certificate and host name are checked (no rejectUnauthorized: false).
    expect(parsed.ssl).toBeTruthy();
    expect(parsed.ssl).not.toMatchObject({ rejectUnauthorized: false });
  });

  it('accepts the port as a string and a secret without dbname', () => {
    const url = databaseUrlFromSecret(secret({ port: '5433', dbname: undefined }));
    expect(parse(url).port).toBe(5433);
    // No path: the server's default database (the user's) is used.
    expect(new URL(url).pathname).toBe('');
  });

  it.each([
    [undefined, 'no SecretString'],
    ['not json', 'not JSON'],
    [secret({ password: '' }), 'missing field password'],
    [secret({ host: undefined }), 'missing field host'],
    [secret({ port: 'x' }), 'port is not a TCP port'],
  ])('rejects a bad secret with a clear message (%#)', (value, message) => {
    expect(() => databaseUrlFromSecret(value)).toThrow(DatabaseSecretError);
    expect(() => databaseUrlFromSecret(value)).toThrow(message);
  });
});
