import type pg from 'pg';
import type { CredentialStore } from './ports.js';

/** Password hashes by user id, in PostgreSQL. */
export class PostgresCredentialStore implements CredentialStore {
  constructor(private readonly pool: pg.Pool) {}

  async set(userId: string, passwordHash: string): Promise<void> {
    await this.pool.query(
      `INSERT INTO credentials (user_id, password_hash) VALUES ($1, $2)
       ON CONFLICT (user_id) DO UPDATE SET password_hash = EXCLUDED.password_hash, updated_at = now()`,
      [userId, passwordHash],
    );
  }

  async get(userId: string): Promise<string | null> {
    const { rows } = await this.pool.query<{ password_hash: string }>(
      'SELECT password_hash FROM credentials WHERE user_id = $1',
      [userId],
    );
    return rows[0]?.password_hash ?? null;
  }

  async remove(userId: string): Promise<void> {
    await this.pool.query('DELETE FROM credentials WHERE user_id = $1', [userId]);
  }
}
