/**
 * The local identity provider: scrypt hashes, the key pair in <DATA_DIR>/identity, and ID tokens
 * that the ingest's own identity code (services/ingest/identity.ts, aws-jwt-verify) accepts as it
 * would Cognito's.
 *
 * aws-jwt-verify checks `exp` against the real clock and has no clock option, so tokens that must
 * verify are issued by a clock pinned in 2100, and expired ones by a clock pinned in 2001: both on
 * the right side of any day the suite runs on (CI moves the clock two years either way).
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIdentityResolver } from '../ingest/identity.ts';
import { createLocalIdentityProvider, type DirectoryUser, type UserDirectory } from './local.ts';
import { hashPassword, passwordProblem, verifyPassword } from './passwords.ts';
import { AuthError } from './provider.ts';
import {
  createTokenIssuer,
  identityKeyFiles,
  loadOrCreateSigningKey,
  type SigningKey,
  signingKeyFromPem,
} from './tokens.ts';

const FUTURE = () => new Date('2100-01-01T00:00:00Z');
const PAST = () => new Date('2001-01-01T00:00:00Z');
const ISSUER = 'http://localhost:3000';
const AUDIENCE = 'shop-client';
const GOOD_PASSWORD = 'Correct-Horse-9';

let dataDir: string;
let key: SigningKey;
let resolve: Awaited<ReturnType<typeof createIdentityResolver>>;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'identity-test-'));
  key = await loadOrCreateSigningKey(dataDir);
  resolve = await createIdentityResolver(
    {
      COGNITO_USER_POOL_ID: '',
      COGNITO_CLIENT_ID: AUDIENCE,
      JWT_ISSUER: ISSUER,
      JWKS_URI: `file://${identityKeyFiles(dataDir).jwksFile}`,
    },
    { now: FUTURE },
  );
});
afterAll(() => rm(dataDir, { recursive: true, force: true }));

/** An in-memory directory: the provider's contract, without the shop's database (tested in storefront/). */
function memoryDirectory(): UserDirectory & { users: DirectoryUser[] } {
  const users: DirectoryUser[] = [];
  return {
    users,
    findByEmail: async (email) => users.find((u) => u.email === email && u.method === 'email'),
    findByUsername: async (username) => users.find((u) => u.username === username),
    insert: async (user) => {
      if (
        users.some(
          (u) =>
            u.username === user.username || (u.method === 'email' && user.method === 'email' && u.email === user.email),
        )
      ) {
        return false;
      }
      users.push(user);
      return true;
    },
  };
}

describe('passwords', () => {
  it('hashes with scrypt and a random salt, and verifies only the right password', async () => {
    const a = await hashPassword(GOOD_PASSWORD);
    const b = await hashPassword(GOOD_PASSWORD);
    expect(a).toMatch(/^scrypt\$32768\$8\$1\$[\w-]{22}\$[\w-]{43}$/);
    expect(a).not.toBe(b);
    expect(a).not.toContain(GOOD_PASSWORD);
    expect(await verifyPassword(GOOD_PASSWORD, a)).toBe(true);
    expect(await verifyPassword('Correct-Horse-8', a)).toBe(false);
    expect(await verifyPassword(GOOD_PASSWORD, 'md5$abc')).toBe(false);
  });

  it('applies the Cognito pool policy', () => {
    expect(passwordProblem('Short-1a')).toBe('at least 12 characters');
    expect(passwordProblem('alllowercase-1')).toBe('an upper-case letter');
    expect(passwordProblem('ALLUPPERCASE-1')).toBe('a lower-case letter');
    expect(passwordProblem('No-Digits-Here')).toBe('a digit');
    expect(passwordProblem('NoSymbols1234')).toBe('a symbol');
    expect(passwordProblem(GOOD_PASSWORD)).toBeUndefined();
  });
});

describe('signing key', () => {
  it('is created once in <DATA_DIR>/identity, private to its owner, and stable across loads', async () => {
    const files = identityKeyFiles(dataDir);
    expect((await stat(files.privateKeyFile)).mode & 0o777).toBe(0o600);
    const again = await loadOrCreateSigningKey(dataDir);
    expect(again.kid).toBe(key.kid);
    const jwks = JSON.parse(await readFile(files.jwksFile, 'utf8'));
    expect(jwks).toEqual(key.jwks);
    expect(jwks.keys[0]).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig', kid: key.kid });
    expect(JSON.stringify(jwks)).not.toMatch(/"d"|"p"|"q"/);
  });
});

describe('ID tokens', () => {
  const subject = {
    sub: '6f0c2a1e-8d5b-4a57-9a55-3c1c0c7d2f10',
    username: '6f0c2a1e-8d5b-4a57-9a55-3c1c0c7d2f10',
    email: 'ana@example.com',
    name: 'Ana',
  };

  it('carry the claims of a Cognito ID token', () => {
    const { token, expiresAt } = createTokenIssuer({ key, issuer: ISSUER, audience: AUDIENCE, now: FUTURE })(subject);
    const [header, payload] = token
      .split('.')
      .slice(0, 2)
      .map((p) => JSON.parse(Buffer.from(p, 'base64url').toString()));
    expect(header).toEqual({ kid: key.kid, alg: 'RS256' });
    expect(payload).toMatchObject({
      sub: subject.sub,
      iss: ISSUER,
      aud: AUDIENCE,
      token_use: 'id',
      'cognito:username': subject.username,
      email: 'ana@example.com',
      iat: 4102444800,
      auth_time: 4102444800,
      exp: 4102444800 + 3600,
    });
    expect(payload.identities).toBeUndefined();
    expect(expiresAt.toISOString()).toBe('2100-01-01T01:00:00.000Z');
  });

  it('are verified by the ingest through JWT_ISSUER + JWKS_URI: the user and where they signed in', async () => {
    const issue = createTokenIssuer({ key, issuer: ISSUER, audience: AUDIENCE, now: FUTURE });
    expect(await resolve(`Bearer ${issue(subject).token}`)).toEqual({
      identity: { user_id: subject.sub, user_login_state: 'logged_in', identity_source: 'cognito' },
      token: { accepted: true },
    });
    const google = issue({
      ...subject,
      username: 'Google_104958372610293847561',
      identity: {
        providerName: 'Google',
        providerType: 'Google',
        userId: '104958372610293847561',
        dateCreated: FUTURE(),
      },
    });
    expect((await resolve(`Bearer ${google.token}`)).identity.identity_source).toBe('google');
  });

  it('are refused by the ingest when expired, forged, or for another audience or issuer', async () => {
    const expired = createTokenIssuer({ key, issuer: ISSUER, audience: AUDIENCE, now: PAST })(subject).token;
    const other = signingKeyFromPem(
      generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'pem', type: 'pkcs8' }) as string,
    );
    // Same kid as the trusted key, signed with another one.
    const forged = createTokenIssuer({
      key: { ...other, kid: key.kid },
      issuer: ISSUER,
      audience: AUDIENCE,
      now: FUTURE,
    })(subject).token;
    const wrongAudience = createTokenIssuer({ key, issuer: ISSUER, audience: 'someone-else', now: FUTURE })(
      subject,
    ).token;
    const wrongIssuer = createTokenIssuer({ key, issuer: 'https://evil.example', audience: AUDIENCE, now: FUTURE })(
      subject,
    ).token;
    const reasons = await Promise.all(
      [expired, forged, wrongAudience, wrongIssuer].map(async (t) => (await resolve(`Bearer ${t}`)).token),
    );
    expect(reasons).toEqual([
      { accepted: false, reason: 'expired' },
      { accepted: false, reason: 'invalid' },
      { accepted: false, reason: 'wrong_audience' },
      { accepted: false, reason: 'wrong_issuer' },
    ]);
  });
});

describe('local identity provider', () => {
  const make = () => {
    const directory = memoryDirectory();
    const provider = createLocalIdentityProvider({
      directory,
      issue: createTokenIssuer({ key, issuer: ISSUER, audience: AUDIENCE, now: FUTURE }),
      now: FUTURE,
    });
    return { directory, provider };
  };

  it('signs up with a canonical e-mail and a scrypt hash, then signs in with a verifiable token', async () => {
    const { directory, provider } = make();
    const outcome = await provider.signUp({
      email: '  Ana@Example.COM ',
      password: GOOD_PASSWORD,
      name: ' Ana <b>Lima</b> ',
    });
    expect(outcome.status).toBe('created');
    expect(directory.users).toHaveLength(1);
    expect(directory.users[0]).toMatchObject({
      email: 'ana@example.com',
      name: 'Ana <b>Lima</b>',
      method: 'email',
      username: outcome.sub,
    });
    expect(directory.users[0]!.passwordHash).toMatch(/^scrypt\$/);
    const auth = await provider.signIn('ANA@example.com', GOOD_PASSWORD);
    expect(auth).toMatchObject({ sub: outcome.sub, email: 'ana@example.com', method: 'email' });
    expect((await resolve(`Bearer ${auth.idToken}`)).identity.user_id).toBe(outcome.sub);
  });

  it('refuses a duplicate e-mail, a weak password, a bad e-mail or name, a wrong password and an unknown user', async () => {
    const { provider } = make();
    await provider.signUp({ email: 'bo@example.com', password: GOOD_PASSWORD, name: 'Bo' });
    const code = (p: Promise<unknown>) =>
      p.then(
        () => 'ok',
        (e: unknown) => (e instanceof AuthError ? e.code : String(e)),
      );
    expect(
      await Promise.all([
        code(provider.signUp({ email: 'BO@example.com', password: GOOD_PASSWORD, name: 'Bo again' })),
        code(provider.signUp({ email: 'cy@example.com', password: 'password', name: 'Cy' })),
        code(provider.signUp({ email: 'not-an-email', password: GOOD_PASSWORD, name: 'Cy' })),
        code(provider.signUp({ email: 'cy@example.com', password: GOOD_PASSWORD, name: '   ' })),
        code(provider.signIn('bo@example.com', 'Wrong-Password-1')),
        code(provider.signIn('nobody@example.com', GOOD_PASSWORD)),
        code(provider.signIn('', '')),
      ]),
    ).toEqual([
      'user_exists',
      'invalid_password',
      'invalid_email',
      'invalid_name',
      'invalid_credentials',
      'invalid_credentials',
      'invalid_credentials',
    ]);
  });

  it('stands in for Google federation: one user per Google account, with identities in the token', async () => {
    const { directory, provider } = make();
    const first = await provider.googleSignIn!({ email: 'dee@gmail.example', name: 'Dee' });
    const again = await provider.googleSignIn!({ email: 'DEE@gmail.example', name: 'Dee' });
    expect(first.created).toBe(true);
    expect(again).toMatchObject({ created: false, sub: first.sub, method: 'google' });
    expect(first.username).toMatch(/^Google_\d{21}$/);
    expect(directory.users).toHaveLength(1);
    expect(directory.users[0]!.passwordHash).toBeNull();
    // A Google user has no password to sign in with.
    await expect(provider.signIn('dee@gmail.example', '')).rejects.toMatchObject({ code: 'invalid_credentials' });
    const payload = JSON.parse(Buffer.from(first.idToken.split('.')[1]!, 'base64url').toString());
    expect(payload.identities).toEqual([
      expect.objectContaining({
        providerName: 'Google',
        providerType: 'Google',
        userId: first.username.slice(7),
        primary: 'true',
      }),
    ]);
  });

  it('renews a signed-in user’s token, and ends the session of a user who is gone', async () => {
    const { directory, provider } = make();
    const { sub } = await provider.signUp({ email: 'eve@example.com', password: GOOD_PASSWORD, name: 'Eve' });
    const auth = await provider.signIn('eve@example.com', GOOD_PASSWORD);
    const renewed = await provider.refresh(auth, undefined);
    expect((await resolve(`Bearer ${renewed.idToken}`)).identity.user_id).toBe(sub);
    directory.users.length = 0;
    await expect(provider.refresh(auth, undefined)).rejects.toMatchObject({ code: 'session_expired' });
  });
});
