/**
 * The identity context's stores as the routes and commands see them. The adapters (PostgreSQL: credentials.ts,
 * sessions.ts, passwordResets.ts; Redis: denyList.ts) are built by the composition root (infra/runtime.ts).
 * Password hashing (passwords.ts) and token signing (tokens.ts) are services with no store behind them: CPU work
 * with bounded concurrency off the event loop, imported directly.
 */

/** Why a refresh token was refused; the route answers 401 with the code. */
export class RefreshRejected extends Error {
  constructor(
    readonly code: 'REFRESH_INVALID' | 'REFRESH_REUSED' | 'REFRESH_EXPIRED',
    message: string,
  ) {
    super(message);
    this.name = 'RefreshRejected';
  }
}

export interface IssuedRefreshToken {
  token: string;
  familyId: string;
  expiresAt: Date;
}

/** Password hashes by user id: command-side, never in events, logs or answers. */
export interface CredentialStore {
  set(userId: string, passwordHash: string): Promise<void>;
  get(userId: string): Promise<string | null>;
  remove(userId: string): Promise<void>;
}

/**
 * Rotating refresh tokens in families (one per sign-in; the family id is the session id `sid` of the access
 * tokens issued with it). A token used twice revokes its family.
 */
export interface SessionStore {
  /** Opens a new family (a sign-in) and issues its first token. */
  open(userId: string): Promise<IssuedRefreshToken>;
  /** Trades a token for the next one of its family; throws `RefreshRejected`. */
  rotate(token: string): Promise<{ userId: string; familyId: string; next: IssuedRefreshToken }>;
  revokeFamily(familyId: string): Promise<void>;
  /** The family of a token the caller presents (for logout), if the token is genuine. */
  familyOf(token: string): Promise<string | null>;
  /** Revokes every live family of the person but `keep`; returns the revoked ones (session ids to deny). */
  revokeAllOf(userId: string, keep?: string): Promise<string[]>;
}

/** What the deny list needs to know of an access token. */
export interface DeniableToken {
  jti: string;
  sub: string;
  iat: number;
  iat_ms?: number;
  /** The session (refresh family) the token was issued in. */
  sid?: string;
  /** Revision of the person's stream the token's claims were read from. */
  rev?: string;
}

/** Access tokens that must stop working before they expire, seen by every API process on the next request. */
export interface DenyList {
  deny(jti: string, expiresAtSeconds: number): Promise<void>;
  /** Every access token of these sessions stops working. */
  denySessions(sessionIds: readonly string[]): Promise<void>;
  /** Every token of this person whose claims were read before `revision` of their stream stops working. */
  denyRevisionsBelow(userId: string, revision: bigint): Promise<void>;
  /** Every token of this person issued up to now stops working. */
  denyAllIssuedBefore(userId: string, nowMs?: number): Promise<void>;
  isDenied(token: DeniableToken): Promise<boolean>;
  /** `isDenied` of each token, answered together (the feed's sweep over every open socket). */
  deniedAmong(tokens: readonly DeniableToken[]): Promise<boolean[]>;
}

/** Single-use password-reset tokens. */
export interface PasswordResets {
  /** A new token for the person (returned once, in clear, for the mail); their earlier tokens stop working. */
  issue(userId: string): Promise<{ token: string; expiresAt: Date }>;
  /** The person a live token resets, without using it up. */
  peek(token: string): Promise<string | null>;
  /** Uses the token up, atomically. Returns its person, or null. */
  consume(token: string): Promise<string | null>;
}
