import type pg from 'pg';

/**
 * A person's email address from the users read model, for the workers that mail people by user id at send time:
 * undefined when the person is unknown (yet: the projection may lag), null once erased.
 */
export function addressQuery(pool: pg.Pool) {
  return async (userId: string): Promise<string | null | undefined> => {
    const { rows } = await pool.query<{ email: string | null }>('SELECT email FROM users WHERE id = $1', [userId]);
    return rows.length === 0 ? undefined : rows[0]!.email;
  };
}
