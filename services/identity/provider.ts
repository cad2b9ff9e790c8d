/**
 * What the shop asks of an identity provider — Cognito, or the local stand-in that behaves like
 * it — so sign-up, sign-in and session handling have one code path whichever is configured.
 */

/** The sign-in methods the `login`/`sign_up` events know that a provider here offers. */
export type SignInMethod = 'email' | 'google';

export interface Profile {
  /** The user's stable id (`sub`), also the warehouse's `user_id`. */
  sub: string;
  /** `cognito:username`. */
  username: string;
  email: string;
  name: string;
  method: SignInMethod;
}

export interface Tokens {
  idToken: string;
  idTokenExpiresAt: Date;
  /** Cognito's refresh token; the local provider needs none (it re-signs). */
  refreshToken?: string;
}

export interface Authenticated extends Profile, Tokens {}

export type SignUpOutcome =
  | { status: 'created'; sub: string }
  /** Cognito sent a code (e-mail verification) that `confirmSignUp` takes before the first sign-in. */
  | { status: 'confirmation_required'; sub: string; destination?: string };

export type AuthErrorCode =
  | 'invalid_credentials'
  | 'user_exists'
  | 'invalid_email'
  | 'invalid_name'
  | 'invalid_password'
  | 'not_confirmed'
  | 'invalid_code'
  | 'challenge_unsupported'
  | 'too_many_attempts'
  | 'session_expired'
  | 'provider_unavailable';

/** A refusal the shopper can act on; `message` is safe to show. */
export class AuthError extends Error {
  override name = 'AuthError';
  constructor(
    readonly code: AuthErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface SignUpInput {
  email: string;
  password: string;
  name: string;
}

export interface IdentityProvider {
  readonly kind: 'local' | 'cognito';
  signUp(input: SignUpInput): Promise<SignUpOutcome>;
  /** Confirms a sign-up with the code the provider sent (Cognito); the local provider needs none. */
  confirmSignUp(email: string, code: string): Promise<void>;
  signIn(email: string, password: string): Promise<Authenticated>;
  /**
   * The local stand-in for Cognito's Google federation (Hosted UI → Google → back): signs in, or
   * first creates, the Google user with this e-mail. Absent on Cognito, where that flow is the
   * Hosted UI's.
   */
  googleSignIn?(input: { email: string; name: string }): Promise<Authenticated & { created: boolean }>;
  /** A fresh ID token for a signed-in user whose token is expiring. */
  refresh(profile: Profile, refreshToken: string | undefined): Promise<Tokens>;
}

const EMAIL = /^[^\s@<>()[\]\\,;:"]+@[^\s@<>()[\]\\,;:"]+\.[^\s@<>()[\]\\,;:"]+$/;

/** The e-mail in its canonical (lower-case, trimmed) form, or an AuthError. */
export function normaliseEmail(email: string): string {
  const canonical = email.trim().toLowerCase();
  if (canonical.length > 254 || !EMAIL.test(canonical))
    throw new AuthError('invalid_email', 'Enter a valid e-mail address.');
  return canonical;
}

/** The display name, trimmed: 1–100 characters, no control characters (any other text is kept and escaped on output). */
export function normaliseName(name: string): string {
  const trimmed = name.trim();
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this refuses
  if (trimmed.length === 0 || trimmed.length > 100 || /[\u0000-\u001f\u007f]/.test(trimmed)) {
    throw new AuthError('invalid_name', 'Enter a name of 1 to 100 characters.');
  }
  return trimmed;
}
