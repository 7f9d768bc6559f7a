import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type pg from 'pg';
import { type IssuedRefreshToken, RefreshRejected, type SessionStore } from './ports.js';

export { type IssuedRefreshToken, RefreshRejected } from './ports.js';

export interface SessionSettings {
  /** Lifetime of one refresh token (REFRESH_TOKEN_TTL_SECONDS). */
  tokenTtlSeconds: number;
  /** Absolute lifetime of a family, however often it is refreshed (REFRESH_FAMILY_MAX_AGE_SECONDS). */
  familyMaxAgeSeconds: number;
  /** The app's clock. */
  now?: () => Date;
}

const digest = (secret: string) => createHash('sha256').update(secret).digest('hex');
const CANONICAL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SECRET = /^[A-Za-z0-9_-]{43}$/;

/** `<id>.<secret>` as issued, or null for anything else (which is never sent to PostgreSQL). */
function parse(token: string): { id: string; hash: string } | null {
  const dot = token.indexOf('.');
  const id = token.slice(0, dot);
  const secret = token.slice(dot + 1);
  if (dot < 0 || !CANONICAL_UUID.test(id) || !SECRET.test(secret)) return null;
  return { id, hash: digest(secret) };
}

/**
 * Rotating refresh tokens, stored only as hashes, in families (one per sign-in). A token is
 * `<id>.<secret>`; each use claims it and issues the next one of its family, in one statement that also
 * checks the family is neither revoked nor past its absolute lifetime. A token used twice means it leaked:
 * the whole family is revoked (`REFRESH_REUSED`), which signs out the thief and the owner alike.
 *
 * The family id is the session id (`sid`) of the access tokens issued with it: revoking a family and
 * denying its `sid` ends the session, including a refresh that was in flight while it was revoked.
 */
export class RefreshTokenStore implements SessionStore {
  private readonly now: () => Date;

  constructor(
    private readonly pool: pg.Pool,
    private readonly settings: SessionSettings,
  ) {
    this.now = settings.now ?? (() => new Date());
  }

  /** Opens a new family (a sign-in) and issues its first token. */
  async open(userId: string): Promise<IssuedRefreshToken> {
    const familyId = randomUUID();
    const now = this.now();
    const familyExpires = new Date(now.getTime() + this.settings.familyMaxAgeSeconds * 1000);
    const secret = randomBytes(32).toString('base64url');
    const id = randomUUID();
    const { rows } = await this.pool.query<{ expires_at: Date }>(
      `WITH family AS (
         INSERT INTO refresh_families (id, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4) RETURNING id
       )
       INSERT INTO refresh_tokens (id, family_id, user_id, token_hash, created_at, expires_at)
       SELECT $5, family.id, $2, $6, $3, LEAST($3::timestamptz + make_interval(secs => $7), $4) FROM family
       RETURNING expires_at`,
      [familyId, userId, now, familyExpires, id, digest(secret), this.settings.tokenTtlSeconds],
    );
    return { token: `${id}.${secret}`, familyId, expiresAt: rows[0]!.expires_at };
  }

  /**
   * Trades a token for the next one of its family. The claim and the next token are one statement that
   * succeeds only while the token is unused and unexpired and its family is live; a reuse revokes the family.
   */
  async rotate(token: string): Promise<{ userId: string; familyId: string; next: IssuedRefreshToken }> {
    const parsed = parse(token);
    if (!parsed) throw new RefreshRejected('REFRESH_INVALID', 'the refresh token is not valid');
    const now = this.now();
    const secret = randomBytes(32).toString('base64url');
    const nextId = randomUUID();
    const { rows } = await this.pool.query<{ user_id: string; family_id: string; expires_at: Date }>(
      `WITH claimed AS (
         UPDATE refresh_tokens t SET used_at = $3
           FROM refresh_families f
          WHERE t.id = $1 AND t.token_hash = $2 AND t.used_at IS NULL AND t.expires_at > $3
            AND f.id = t.family_id AND f.revoked_at IS NULL AND f.expires_at > $3
         RETURNING t.family_id, t.user_id, f.expires_at AS family_expires
       )
       INSERT INTO refresh_tokens (id, family_id, user_id, token_hash, created_at, expires_at)
       SELECT $4, family_id, user_id, $5, $3, LEAST($3::timestamptz + make_interval(secs => $6), family_expires)
         FROM claimed
       RETURNING user_id, family_id, expires_at`,
      [parsed.id, parsed.hash, now, nextId, digest(secret), this.settings.tokenTtlSeconds],
    );
    const row = rows[0];
    if (row) {
      return {
        userId: row.user_id,
        familyId: row.family_id,
        next: { token: `${nextId}.${secret}`, familyId: row.family_id, expiresAt: row.expires_at },
      };
    }
    throw await this.whyRefused(parsed, now);
  }

  private async whyRefused(parsed: { id: string; hash: string }, now: Date): Promise<RefreshRejected> {
    const { rows } = await this.pool.query<{
      family_id: string;
      expires_at: Date;
      used_at: Date | null;
      family_expires: Date;
      family_revoked: Date | null;
    }>(
      `SELECT t.family_id, t.expires_at, t.used_at, f.expires_at AS family_expires, f.revoked_at AS family_revoked
         FROM refresh_tokens t JOIN refresh_families f ON f.id = t.family_id
        WHERE t.id = $1 AND t.token_hash = $2`,
      [parsed.id, parsed.hash],
    );
    const row = rows[0];
    if (!row) return new RefreshRejected('REFRESH_INVALID', 'the refresh token is not valid');
    if (row.family_revoked) return new RefreshRejected('REFRESH_INVALID', 'the refresh token was revoked');
    if (row.used_at) {
      await this.revokeFamily(row.family_id);
      return new RefreshRejected(
        'REFRESH_REUSED',
        'this refresh token was already used; every session of its family is revoked',
      );
    }
    if (row.expires_at <= now || row.family_expires <= now) {
      return new RefreshRejected('REFRESH_EXPIRED', 'the refresh token has expired; sign in again');
    }
    // It was live when this method looked: the claim lost to a concurrent use or revocation.
    return new RefreshRejected('REFRESH_INVALID', 'the refresh token was revoked');
  }

  async revokeFamily(familyId: string): Promise<void> {
    await this.pool.query('UPDATE refresh_families SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL', [
      familyId,
      this.now(),
    ]);
  }

  /** The family of a token the caller presents (for logout), if the token is genuine. */
  async familyOf(token: string): Promise<string | null> {
    const parsed = parse(token);
    if (!parsed) return null;
    const { rows } = await this.pool.query<{ family_id: string }>(
      'SELECT family_id FROM refresh_tokens WHERE id = $1 AND token_hash = $2',
      [parsed.id, parsed.hash],
    );
    return rows[0]?.family_id ?? null;
  }

  /** Revokes every live family of the person but `keep`; returns the revoked ones (session ids to deny). */
  async revokeAllOf(userId: string, keep?: string): Promise<string[]> {
    const { rows } = await this.pool.query<{ id: string }>(
      `UPDATE refresh_families SET revoked_at = $3
        WHERE user_id = $1 AND revoked_at IS NULL AND ($2::uuid IS NULL OR id <> $2::uuid)
        RETURNING id`,
      [userId, keep ?? null, this.now()],
    );
    return rows.map((row) => row.id);
  }
}
