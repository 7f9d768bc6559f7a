import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { purgeExpiredSessions } from '../../workers/maintenance.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase(2);
});
afterAll(async () => {
  await db?.drop();
});

describe('the hourly clean-up of sessions', () => {
  it('purgeExpiredSessions deletes refresh tokens, sessions and reset tokens a day past their end, and nothing live', async () => {
    // The app's clock, not the database's: the rows are dated from it, as the purge compares with it.
    const now = new Date();
    const user = randomUUID();
    const [oldFamily, liveFamily] = [randomUUID(), randomUUID()];
    await db.pool.query(
      `INSERT INTO refresh_families (id, user_id, created_at, expires_at) VALUES
         ($1, $3, $4::timestamptz - interval '100 days', $4::timestamptz - interval '2 days'),
         ($2, $3, $4::timestamptz, $4::timestamptz + interval '90 days')`,
      [oldFamily, liveFamily, user, now],
    );
    await db.pool.query(
      `INSERT INTO refresh_tokens (id, family_id, user_id, token_hash, created_at, expires_at) VALUES
         ($1, $3, $5, 'h1', $6::timestamptz - interval '40 days', $6::timestamptz - interval '2 days'),
         ($2, $4, $5, 'h2', $6::timestamptz, $6::timestamptz + interval '30 days')`,
      [randomUUID(), randomUUID(), oldFamily, liveFamily, user, now],
    );
    await db.pool.query(
      `INSERT INTO password_reset_tokens (token_hash, user_id, created_at, expires_at, used_at) VALUES
         ('r-old', $1, $2::timestamptz - interval '3 days', $2::timestamptz - interval '3 days' + interval '30 minutes', NULL),
         ('r-used', $1, $2::timestamptz - interval '2 days', $2::timestamptz + interval '30 minutes', $2::timestamptz - interval '2 days'),
         ('r-live', $1, $2::timestamptz, $2::timestamptz + interval '30 minutes', NULL)`,
      [user, now],
    );
    expect(await purgeExpiredSessions(db.pool, now)).toBe(4);
    expect(await purgeExpiredSessions(db.pool, now)).toBe(0);
    const families = await db.pool.query('SELECT id FROM refresh_families WHERE user_id = $1', [user]);
    expect(families.rows.map((r) => r.id)).toEqual([liveFamily]);
    const resets = await db.pool.query('SELECT token_hash FROM password_reset_tokens WHERE user_id = $1', [user]);
    expect(resets.rows.map((r) => r.token_hash)).toEqual(['r-live']);
  });
});
