import { createHash, randomBytes } from 'node:crypto';
import type pg from 'pg';
import type { PasswordResets } from './ports.js';

const digest = (token: string) => createHash('sha256').update(token).digest('hex');
const TOKEN = /^[A-Za-z0-9_-]{43}$/;

/**
 * Single-use password-reset tokens, stored only as hashes: whoever reads the table cannot reset anyone's
 * password. A token works once, within its lifetime, and issuing a new one or using one voids the others.
 */
export class PasswordResetStore implements PasswordResets {
  constructor(
    private readonly pool: pg.Pool,
    private readonly ttlSeconds: number,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** A new token for the person (returned once, in clear, for the mail); their earlier tokens stop working. */
  async issue(userId: string): Promise<{ token: string; expiresAt: Date }> {
    const token = randomBytes(32).toString('base64url');
    const now = this.now();
    const expiresAt = new Date(now.getTime() + this.ttlSeconds * 1000);
    await this.pool.query(
      `WITH voided AS (UPDATE password_reset_tokens SET used_at = $3 WHERE user_id = $2 AND used_at IS NULL)
       INSERT INTO password_reset_tokens (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)`,
      [digest(token), userId, now, expiresAt],
    );
    return { token, expiresAt };
  }

  /** The person a live token resets, without using it up (so a refused new password can be retried). */
  async peek(token: string): Promise<string | null> {
    if (!TOKEN.test(token)) return null;
    const { rows } = await this.pool.query<{ user_id: string }>(
      'SELECT user_id FROM password_reset_tokens WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2',
      [digest(token), this.now()],
    );
    return rows[0]?.user_id ?? null;
  }

  /** Uses the token up, atomically: of two concurrent uses one wins. Returns its person, or null. */
  async consume(token: string): Promise<string | null> {
    if (!TOKEN.test(token)) return null;
    const { rows } = await this.pool.query<{ user_id: string }>(
      `UPDATE password_reset_tokens SET used_at = $2
        WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2
        RETURNING user_id`,
      [digest(token), this.now()],
    );
    const userId = rows[0]?.user_id ?? null;
    if (userId) {
      await this.pool.query('UPDATE password_reset_tokens SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL', [
        userId,
        this.now(),
      ]);
    }
    return userId;
  }
}
