import type pg from 'pg';

/**
 * The query module of `bookings` for the sweeps: candidates only. The sweep decides on each booking's own
 * stream, so a read model that lags can only delay a deadline, never act on a booking that moved on.
 */

/** Pending bookings whose hold ran out at `now`, oldest first. */
export function expiredHoldsQuery(pool: pg.Pool) {
  return async (now: Date, limit: number): Promise<string[]> => {
    const { rows } = await pool.query<{ id: string }>(
      `SELECT id::text AS id FROM bookings WHERE status = 'pending' AND hold_expires_at <= $1
        ORDER BY hold_expires_at LIMIT $2`,
      [now, limit],
    );
    return rows.map((row) => row.id);
  };
}

/** Checked-in stays whose check-out day (UTC) has come at `now`. */
export function endedStaysQuery(pool: pg.Pool) {
  return async (now: Date, limit: number): Promise<string[]> => {
    const { rows } = await pool.query<{ id: string }>(
      `SELECT id::text AS id FROM bookings
        WHERE status = 'checked_in' AND check_out <= ($1::timestamptz AT TIME ZONE 'UTC')::date
        ORDER BY check_out LIMIT $2`,
      [now, limit],
    );
    return rows.map((row) => row.id);
  };
}
