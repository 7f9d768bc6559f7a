import type pg from 'pg';

/**
 * The query module of `payments` for the overdue sweep: bookings with a balance left one day after it was due at
 * `now`, not yet marked overdue. Candidates only: the sweep decides on each payment's own stream.
 */
export function overduePaymentsQuery(pool: pg.Pool) {
  return async (now: Date, limit: number): Promise<string[]> => {
    const { rows } = await pool.query<{ id: string }>(
      `SELECT booking_id::text AS id FROM payments
        WHERE balance_due > 0 AND overdue_at IS NULL AND due_at <= $1::timestamptz - interval '1 day'
        ORDER BY due_at LIMIT $2`,
      [now, limit],
    );
    return rows.map((row) => row.id);
  };
}
