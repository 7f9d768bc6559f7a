import type pg from 'pg';
import { bookingsProjection } from './bookingsProjection.js';

/** What the bookings read model knows of a tenant's pending bookings, and up to which store position. */
export interface PendingBookingsSeen {
  /** Pending bookings whose hold has not expired at the given instant. */
  bookingIds: string[];
  /** The projection's checkpoint read in the same snapshot: events after it are not in `bookingIds` yet. */
  asOfPosition: bigint;
}

/**
 * The query module of `bookings` for the pending-bookings cap. One statement, so the rows and the
 * checkpoint come from one snapshot (the projection writes both in one transaction).
 */
export function pendingBookingsQuery(pool: pg.Pool) {
  return async (tenantId: string, at: string): Promise<PendingBookingsSeen> => {
    const { rows } = await pool.query<{ position: string; ids: string[] }>(
      `SELECT COALESCE((SELECT position FROM projection_checkpoints WHERE name = $3), 0)::text AS position,
              ARRAY(SELECT id::text FROM bookings
                     WHERE tenant_id = $1 AND status = 'pending' AND hold_expires_at > $2) AS ids`,
      [tenantId, at, bookingsProjection.name],
    );
    return { bookingIds: rows[0]?.ids ?? [], asOfPosition: BigInt(rows[0]?.position ?? '0') };
  };
}
