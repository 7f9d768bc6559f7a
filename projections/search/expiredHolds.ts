import type pg from 'pg';

/**
 * The rooms whose calendar, as the search projection last saw it, has a hold expired at `now` and not released:
 * the candidates of the sweep that records those releases (each is decided again on the calendar stream).
 */
export const roomsWithExpiredHoldsQuery =
  (pool: pg.Pool) =>
  async (now: Date, limit: number): Promise<string[]> => {
    const { rows } = await pool.query<{ room_id: string }>(
      `SELECT room_id FROM search_room_state s
        WHERE EXISTS (SELECT 1 FROM jsonb_each(s.state->'calendar'->'held') AS h(night, hold)
                       WHERE h.hold->>'expiresAt' <= $1)
        LIMIT $2`,
      [now.toISOString(), limit],
    );
    return rows.map((row) => row.room_id);
  };
