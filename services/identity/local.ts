/**
 * The local identity provider: a stand-in for the Cognito user pool, for development, tests and
 * the embedded stack. Users live in a directory the caller provides (the shop keeps them in its
 * OLTP `users` table); passwords are scrypt hashes; tokens are RS256 ID tokens shaped like
 * Cognito's (tokens.ts). Its one social option stands in for Google federation.
 */
import { createHash, randomUUID } from 'node:crypto';
import { decoyHash, hashPassword, passwordProblem, verifyPassword } from './passwords.ts';
import {
  AuthError,
  type Authenticated,
  type IdentityProvider,
  normaliseEmail,
  normaliseName,
  type Profile,
  type SignUpOutcome,
} from './provider.ts';
import type { TokenIssuer, TokenSubject } from './tokens.ts';

export interface DirectoryUser {
  sub: string;
  username: string;
  email: string;
  name: string;
  /** Null for federated users, who have no password here. */
  passwordHash: string | null;
  method: Profile['method'];
  /** The user's id at the social provider (federated users only). */
  providerUserId: string | null;
  createdAt: Date;
}

/** Where the local provider keeps its users. */
export interface UserDirectory {
  /** The e-mail (password) user with this canonical e-mail. */
  findByEmail(email: string): Promise<DirectoryUser | undefined>;
  findByUsername(username: string): Promise<DirectoryUser | undefined>;
  /** Adds the user; false when its username, or its e-mail among e-mail users, is taken. */
  insert(user: DirectoryUser): Promise<boolean>;
}

export interface LocalIdentityProviderOptions {
  directory: UserDirectory;
  issue: TokenIssuer;
  now: () => Date;
}

const GOOGLE = { providerName: 'Google', providerType: 'Google' } as const;

/** A stable 21-digit id per e-mail, the shape of Google's account ids (the stand-in has no Google to ask). */
function googleUserId(email: string): string {
  const digits = BigInt(`0x${createHash('sha256').update(`google:${email}`).digest('hex').slice(0, 18)}`);
  return `1${digits.toString().padStart(20, '0').slice(-20)}`;
}

function subjectOf(
  user: Pick<DirectoryUser, 'sub' | 'username' | 'email' | 'name' | 'method' | 'providerUserId' | 'createdAt'>,
): TokenSubject {
  return {
    sub: user.sub,
    username: user.username,
    email: user.email,
    name: user.name,
    ...(user.method === 'google' && user.providerUserId
      ? { identity: { ...GOOGLE, userId: user.providerUserId, dateCreated: user.createdAt } }
      : {}),
  };
}

function authenticated(user: DirectoryUser, issue: TokenIssuer): Authenticated {
  const { token, expiresAt } = issue(subjectOf(user));
  return {
    sub: user.sub,
    username: user.username,
    email: user.email,
    name: user.name,
    method: user.method,
    idToken: token,
    idTokenExpiresAt: expiresAt,
  };
}

export function createLocalIdentityProvider(opts: LocalIdentityProviderOptions): IdentityProvider {
  const { directory, issue, now } = opts;
  return {
    kind: 'local',

    async signUp(input): Promise<SignUpOutcome> {
      const email = normaliseEmail(input.email);
      const name = normaliseName(input.name);
      const problem = passwordProblem(input.password);
      if (problem) throw new AuthError('invalid_password', `The password needs ${problem}.`);
      // Like a pool with e-mail as sign-in alias: the username is the sub.
      const sub = randomUUID();
      const inserted = await directory.insert({
        sub,
        username: sub,
        email,
        name,
        passwordHash: await hashPassword(input.password),
        method: 'email',
        providerUserId: null,
        createdAt: now(),
      });
      if (!inserted) throw new AuthError('user_exists', 'An account with this e-mail already exists.');
      return { status: 'created', sub };
    },

    async confirmSignUp() {
      // Local sign-ups are usable at once: there is no mail to send a code with.
    },

    async signIn(emailInput, password) {
      let email: string;
      try {
        email = normaliseEmail(emailInput);
      } catch {
        throw new AuthError('invalid_credentials', 'Incorrect e-mail or password.');
      }
      const user = await directory.findByEmail(email);
      // The same work for an unknown e-mail as for a wrong password: no enumeration by timing.
      const ok = await verifyPassword(password, user?.passwordHash ?? (await decoyHash()));
      if (!user?.passwordHash || !ok) throw new AuthError('invalid_credentials', 'Incorrect e-mail or password.');
      return authenticated(user, issue);
    },

    async googleSignIn(input) {
      const email = normaliseEmail(input.email);
      const name = normaliseName(input.name);
      const providerUserId = googleUserId(email);
      const username = `Google_${providerUserId}`;
      const existing = await directory.findByUsername(username);
      if (existing) return { ...authenticated(existing, issue), created: false };
      const user: DirectoryUser = {
        sub: randomUUID(),
        username,
        email,
        name,
        passwordHash: null,
        method: 'google',
        providerUserId,
        createdAt: now(),
      };
      if (!(await directory.insert(user))) {
        // Created by a concurrent first sign-in of the same account.
        const raced = await directory.findByUsername(username);
        if (!raced) throw new AuthError('provider_unavailable', 'Google sign-in failed; try again.');
        return { ...authenticated(raced, issue), created: false };
      }
      return { ...authenticated(user, issue), created: true };
    },

    async refresh(profile) {
      const user = await directory.findByUsername(profile.username);
      if (!user) throw new AuthError('session_expired', 'Your account is no longer available; sign in again.');
      const { idToken, idTokenExpiresAt } = authenticated(user, issue);
      return { idToken, idTokenExpiresAt };
    },
  };
}
