import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type pg from 'pg';

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

const digest = (secret: string) => createHash('sha256').update(secret).digest('hex');

/**
 * Rotating refresh tokens, stored only as hashes. A token is `<id>.<secret>`; each use marks it used
 * and issues the next one in its family. A token used twice means it leaked: the whole family is
 * revoked (`REFRESH_REUSED`), which signs out the thief and the owner alike.
 */
export class RefreshTokenStore {
  constructor(
    private readonly pool: pg.Pool,
    private readonly ttlSeconds: number,
  ) {}

  async issue(userId: string, familyId: string = randomUUID()): Promise<IssuedRefreshToken> {
    const id = randomUUID();
    const secret = randomBytes(32).toString('base64url');
    const expiresAt = new Date(Date.now() + this.ttlSeconds * 1000);
    await this.pool.query(
      'INSERT INTO refresh_tokens (id, family_id, user_id, token_hash, expires_at) VALUES ($1, $2, $3, $4, $5)',
      [id, familyId, userId, digest(secret), expiresAt],
    );
    return { token: `${id}.${secret}`, familyId, expiresAt };
  }

  /** Marks the token used and returns its owner and family; reuse revokes the family. */
  async consume(token: string): Promise<{ userId: string; familyId: string }> {
    const [id, secret] = token.split('.');
    if (!id || !secret || !/^[0-9a-f-]{36}$/.test(id))
      throw new RefreshRejected('REFRESH_INVALID', 'the refresh token is not valid');
    const { rows } = await this.pool.query<{
      family_id: string;
      user_id: string;
      token_hash: string;
      expires_at: Date;
      used_at: Date | null;
      revoked_at: Date | null;
    }>('SELECT family_id, user_id, token_hash, expires_at, used_at, revoked_at FROM refresh_tokens WHERE id = $1', [
      id,
    ]);
    const row = rows[0];
    const matches = row && timingSafeEqual(Buffer.from(row.token_hash), Buffer.from(digest(secret)));
    if (!row || !matches) throw new RefreshRejected('REFRESH_INVALID', 'the refresh token is not valid');
    if (row.revoked_at) throw new RefreshRejected('REFRESH_INVALID', 'the refresh token was revoked');
    if (row.expires_at.getTime() <= Date.now())
      throw new RefreshRejected('REFRESH_EXPIRED', 'the refresh token has expired');
    // Atomic: of two concurrent uses of one token, exactly one wins; the other is a reuse.
    const claimed = await this.pool.query(
      'UPDATE refresh_tokens SET used_at = now() WHERE id = $1 AND used_at IS NULL RETURNING 1',
      [id],
    );
    if (claimed.rowCount !== 1) {
      await this.revokeFamily(row.family_id);
      throw new RefreshRejected(
        'REFRESH_REUSED',
        'this refresh token was already used; every session of its family is revoked',
      );
    }
    return { userId: row.user_id, familyId: row.family_id };
  }

  async revokeFamily(familyId: string): Promise<void> {
    await this.pool.query('UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = $1 AND revoked_at IS NULL', [
      familyId,
    ]);
  }

  /** The family of a token the caller presents (for logout), if the token is genuine. */
  async familyOf(token: string): Promise<string | null> {
    const [id, secret] = token.split('.');
    if (!id || !secret || !/^[0-9a-f-]{36}$/.test(id)) return null;
    const { rows } = await this.pool.query<{ family_id: string; token_hash: string }>(
      'SELECT family_id, token_hash FROM refresh_tokens WHERE id = $1',
      [id],
    );
    const row = rows[0];
    return row && timingSafeEqual(Buffer.from(row.token_hash), Buffer.from(digest(secret))) ? row.family_id : null;
  }

  async revokeAllOf(userId: string): Promise<void> {
    await this.pool.query('UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL', [
      userId,
    ]);
  }
}
