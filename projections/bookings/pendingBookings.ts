import type pg from 'pg';

/**
 * The query module of `bookings` for the pending-bookings cap: the ids of a tenant's pending bookings
 * whose hold has not expired at `at`. The write side reads each of them again from the store, so a
 * read model that lags behind can only miss bookings, never count one that ended.
 */
export function pendingBookingsQuery(pool: pg.Pool) {
  return async (tenantId: string, at: string): Promise<string[]> => {
    const { rows } = await pool.query<{ id: string }>(
      `SELECT id::text AS id FROM bookings WHERE tenant_id = $1 AND status = 'pending' AND hold_expires_at > $2`,
      [tenantId, at],
    );
    return rows.map((row) => row.id);
  };
}
