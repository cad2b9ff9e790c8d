/**
 * Users and sign-in sessions in the OLTP database.
 *
 * The visitor cookie holds a random 256-bit token; the database only ever sees its SHA-256 (the
 * session id, or a guest cart's key), so reading the tables does not let anyone act as a shopper.
 * A session is valid until it expires or is revoked (log-out); the ID token the tracker sends is
 * kept with it and renewed through the identity provider when it is about to expire.
 */
import { createHash, randomBytes } from 'node:crypto';
import { and, eq, gt, isNull } from 'drizzle-orm';
import type { DirectoryUser, UserDirectory } from '../identity/local.ts';
import type { Authenticated, Profile, Tokens } from '../identity/provider.ts';
import type { OltpDb } from './db/open.ts';
import { sessions, users } from './db/schema.ts';

/** How long a sign-in lasts (Cognito's refresh tokens: 30 days in infra; a shop session is shorter). */
export const SESSION_TTL_MS = 7 * 24 * 3600 * 1000;

const TOKEN = /^[A-Za-z0-9_-]{43}$/;

export const newVisitorToken = () => randomBytes(32).toString('base64url');
export const isVisitorToken = (value: string | undefined): value is string => value !== undefined && TOKEN.test(value);
export const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

export function userDirectory(db: OltpDb): UserDirectory {
  const toDirectoryUser = (u: typeof users.$inferSelect): DirectoryUser => ({
    sub: u.id,
    username: u.username,
    email: u.email,
    name: u.displayName,
    passwordHash: u.passwordHash,
    method: u.signInMethod,
    providerUserId: u.providerUserId,
    createdAt: u.createdAt,
  });
  return {
    async findByEmail(email) {
      const [u] = await db
        .select()
        .from(users)
        .where(and(eq(users.email, email), eq(users.signInMethod, 'email')));
      return u && toDirectoryUser(u);
    },
    async findByUsername(username) {
      const [u] = await db.select().from(users).where(eq(users.username, username));
      return u && toDirectoryUser(u);
    },
    async insert(user) {
      const inserted = await db
        .insert(users)
        .values({
          id: user.sub,
          username: user.username,
          email: user.email,
          displayName: user.name,
          passwordHash: user.passwordHash,
          signInMethod: user.method,
          providerUserId: user.providerUserId,
          createdAt: user.createdAt,
        })
        .onConflictDoNothing()
        .returning({ id: users.id });
      return inserted.length === 1;
    },
  };
}

/** The shop's copy of a user signed in through Cognito (created on first sign-in, kept current). */
export async function upsertProfile(db: OltpDb, profile: Profile, now: Date): Promise<void> {
  await db
    .insert(users)
    .values({
      id: profile.sub,
      username: profile.username,
      email: profile.email,
      displayName: profile.name.slice(0, 100) || profile.email,
      signInMethod: profile.method,
      createdAt: now,
    })
    .onConflictDoUpdate({
      target: users.id,
      set: { email: profile.email, displayName: profile.name.slice(0, 100) || profile.email },
    });
}

export interface SignedIn extends Profile {
  sessionId: string;
  idToken: string;
  idTokenExpiresAt: Date;
  refreshToken: string | null;
}

/** Starts a session for `auth`; returns the new visitor token for the cookie. */
export async function createSession(db: OltpDb, auth: Authenticated, now: Date): Promise<string> {
  const token = newVisitorToken();
  await db.insert(sessions).values({
    id: hashToken(token),
    userId: auth.sub,
    createdAt: now,
    expiresAt: new Date(now.getTime() + SESSION_TTL_MS),
    idToken: auth.idToken,
    idTokenExpiresAt: auth.idTokenExpiresAt,
    refreshToken: auth.refreshToken ?? null,
  });
  return token;
}

/** The signed-in user of a session id, if the session exists, has not expired and was not revoked. */
export async function findSession(db: OltpDb, sessionId: string, now: Date): Promise<SignedIn | undefined> {
  const [row] = await db
    .select({ session: sessions, user: users })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(and(eq(sessions.id, sessionId), isNull(sessions.revokedAt), gt(sessions.expiresAt, now)));
  if (!row) return undefined;
  return {
    sessionId,
    sub: row.user.id,
    username: row.user.username,
    email: row.user.email,
    name: row.user.displayName,
    method: row.user.signInMethod,
    idToken: row.session.idToken,
    idTokenExpiresAt: row.session.idTokenExpiresAt,
    refreshToken: row.session.refreshToken,
  };
}

export async function updateSessionTokens(db: OltpDb, sessionId: string, tokens: Tokens): Promise<void> {
  await db
    .update(sessions)
    .set({
      idToken: tokens.idToken,
      idTokenExpiresAt: tokens.idTokenExpiresAt,
      ...(tokens.refreshToken ? { refreshToken: tokens.refreshToken } : {}),
    })
    .where(eq(sessions.id, sessionId));
}

export async function revokeSession(db: OltpDb, sessionId: string, now: Date): Promise<void> {
  await db
    .update(sessions)
    .set({ revokedAt: now })
    .where(and(eq(sessions.id, sessionId), isNull(sessions.revokedAt)));
}
