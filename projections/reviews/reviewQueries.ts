import type pg from 'pg';

export interface ReviewResponseRow {
  id: string;
  authorId: string;
  /** Null once the author is erased. */
  body: string | null;
  erased: boolean;
  respondedAt: string;
}

export interface PublicReviewRow {
  id: string;
  bookingId: string;
  roomId: string;
  authorId: string;
  rating: number;
  /** Null once the author is erased. */
  comment: string | null;
  erased: boolean;
  submittedAt: string;
  publishedAt: string;
  /** The landlord's answer, unless none or hidden. */
  response: ReviewResponseRow | null;
}

/** What a review or response id names, for the commands that target one: its booking (the stream) and kind. */
export interface ReviewTarget {
  bookingId: string;
  reviewId: string;
  kind: 'review' | 'response';
}

const iso = (value: unknown): string =>
  value instanceof Date ? value.toISOString() : new Date(String(value)).toISOString();

export interface ReviewQueries {
  /** The room's published, visible tenant reviews, newest publication first, after the keyset given. */
  publicReviewsOf(
    roomId: string,
    page: { limit: number; after: { publishedAt: string; id: string } | null },
  ): Promise<PublicReviewRow[]>;
  /** The booking a review or response belongs to; null when the id names neither. */
  targetOf(id: string): Promise<ReviewTarget | null>;
  /** Bookings whose review window has closed by `now` with its reviews not yet published: the sweep's candidates. */
  windowsClosedBy(now: Date, limit: number): Promise<string[]>;
}

export function createReviewQueries(pool: pg.Pool): ReviewQueries {
  return {
    async publicReviewsOf(roomId, { limit, after }) {
      const { rows } = await pool.query(
        `SELECT r.id, r.booking_id, r.room_id, r.author_id, r.rating, r.comment, r.erased, r.submitted_at,
                r.published_at, s.id AS response_id, s.author_id AS response_author_id, s.body AS response_body,
                s.erased AS response_erased, s.responded_at
           FROM reviews r
           LEFT JOIN review_responses s ON s.review_id = r.id AND s.hidden_at IS NULL
          WHERE r.room_id = $1 AND r.side = 'tenant' AND r.published_at IS NOT NULL AND r.hidden_at IS NULL
            AND ($2::timestamptz IS NULL OR (r.published_at, r.id) < ($2::timestamptz, $3::uuid))
          ORDER BY r.published_at DESC, r.id DESC
          LIMIT $4`,
        [roomId, after?.publishedAt ?? null, after?.id ?? null, limit],
      );
      return rows.map((row) => ({
        id: row.id,
        bookingId: row.booking_id,
        roomId: row.room_id,
        authorId: row.author_id,
        rating: Number(row.rating),
        comment: row.comment ?? null,
        erased: row.erased === true,
        submittedAt: iso(row.submitted_at),
        publishedAt: iso(row.published_at),
        response: row.response_id
          ? {
              id: row.response_id,
              authorId: row.response_author_id,
              body: row.response_body ?? null,
              erased: row.response_erased === true,
              respondedAt: iso(row.responded_at),
            }
          : null,
      }));
    },

    async targetOf(id) {
      const { rows } = await pool.query<{ booking_id: string; review_id: string; kind: 'review' | 'response' }>(
        `SELECT booking_id, id AS review_id, 'review' AS kind FROM reviews WHERE id = $1
         UNION ALL
         SELECT booking_id, review_id, 'response' AS kind FROM review_responses WHERE id = $1
         LIMIT 1`,
        [id],
      );
      const row = rows[0];
      return row ? { bookingId: row.booking_id, reviewId: row.review_id, kind: row.kind } : null;
    },

    async windowsClosedBy(now, limit) {
      const { rows } = await pool.query<{ booking_id: string }>(
        `SELECT booking_id FROM review_windows WHERE published_at IS NULL AND window_closes_at <= $1
          ORDER BY window_closes_at LIMIT $2`,
        [now, limit],
      );
      return rows.map((row) => row.booking_id);
    },
  };
}
