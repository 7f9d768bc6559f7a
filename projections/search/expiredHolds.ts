import type pg from 'pg';

/**
 * The rooms whose calendar, as the search projection last saw it, has a hold expired at `now` and not released:
 * the candidates of the sweep that records those releases (each is decided again on the calendar stream), oldest
 * expiry first, through the index on `next_hold_expiry` (migration 0015).
 */
export const roomsWithExpiredHoldsQuery =
  (pool: pg.Pool) =>
  async (now: Date, limit: number): Promise<string[]> => {
    const { rows } = await pool.query<{ room_id: string }>(
      `SELECT room_id FROM search_room_state
        WHERE next_hold_expiry <= $1
        ORDER BY next_hold_expiry LIMIT $2`,
      [now, limit],
    );
    return rows.map((row) => row.room_id);
  };
