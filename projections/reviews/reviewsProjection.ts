import type { EntityManager } from '@mikro-orm/postgresql';
import type { PersonalDataErased } from '../../domain/identity/events.js';
import { REVIEW_STREAM_PREFIX, type ReviewEvent, ReviewEventTypes } from '../../domain/reviews/events.js';
import type { RecordedEvent } from '../../infra/eventStore/eventStore.js';
import { asJson, IN_UUIDS, runSql } from '../jsonParameters.js';
import type { PgProjection } from '../projection.js';

export const reviewsProjectionName = 'reviews';

interface WindowRow {
  booking_id: string;
  room_id: string;
  window_closes_at: string | Date;
  published_at: string | Date | null;
  revision: string;
  last_position: string;
}

interface Moderation {
  hidden_at: string | null;
  hidden_by: string | null;
  hidden_reason: string | null;
}

interface ReviewRow extends Moderation {
  id: string;
  booking_id: string;
  room_id: string;
  side: string;
  author_id: string;
  subject_id: string;
  rating: number;
  comment: string | null;
  erased: boolean;
  submitted_at: string;
  published_at: string | null;
  position: string;
}

interface ResponseRow extends Moderation {
  id: string;
  review_id: string;
  booking_id: string;
  author_id: string;
  body: string | null;
  erased: boolean;
  responded_at: string;
}

/** What the batch changes of a stored review or response. */
interface StoredChange extends Partial<Moderation> {
  published_at?: string;
}

/**
 * One batch of the reviews model, applied in memory in event order and written in a fixed handful of statements:
 * its windows read first, new reviews and responses inserted whole, what it changes of stored ones updated in one
 * statement each, its erasures last.
 */
class ReviewsBatch {
  private readonly windows = new Map<string, WindowRow | null>();
  private readonly changedWindows = new Set<string>();
  private readonly reviews = new Map<string, ReviewRow>();
  private readonly responses = new Map<string, ResponseRow>();
  private readonly storedReviews = new Map<string, StoredChange>();
  private readonly storedResponses = new Map<string, StoredChange>();
  private readonly erasedAuthors = new Set<string>();

  constructor(private readonly em: EntityManager) {}

  async load(events: readonly RecordedEvent[]): Promise<void> {
    const ids = new Set<string>();
    for (const recorded of events) {
      if (recorded.streamId.startsWith(REVIEW_STREAM_PREFIX))
        ids.add(recorded.streamId.slice(REVIEW_STREAM_PREFIX.length));
    }
    if (ids.size === 0) return;
    const rows = await runSql<WindowRow>(this.em, `SELECT * FROM review_windows WHERE booking_id ${IN_UUIDS}`, [
      asJson([...ids]),
    ]);
    for (const id of ids) this.windows.set(id, null);
    for (const row of rows) this.windows.set(row.booking_id, row);
  }

  apply(recorded: RecordedEvent): void {
    if (recorded.streamId.startsWith(REVIEW_STREAM_PREFIX)) {
      this.applyReviews(recorded);
    } else if (recorded.type === 'PersonalDataErased') {
      // The events read with null comments and bodies from now on; the copies here go too.
      const { userId } = recorded.data as PersonalDataErased['data'];
      this.erasedAuthors.add(userId);
      for (const row of this.reviews.values()) {
        if (row.author_id === userId) Object.assign(row, { comment: null, erased: true });
      }
      for (const row of this.responses.values()) {
        if (row.author_id === userId) Object.assign(row, { body: null, erased: true });
      }
    }
  }

  private changeReview(id: string, change: StoredChange): void {
    const row = this.reviews.get(id);
    if (row) Object.assign(row, change);
    else this.storedReviews.set(id, { ...this.storedReviews.get(id), ...change });
  }

  private applyReviews(recorded: RecordedEvent): void {
    const bookingId = recorded.streamId.slice(REVIEW_STREAM_PREFIX.length);
    const event = { type: recorded.type, data: recorded.data } as ReviewEvent;
    let window = this.windows.get(bookingId) ?? null;
    // Skips what the rows already reflect: every event of the stream moves its window's revision.
    if (window && BigInt(window.revision) >= recorded.revision) return;
    if (!window && event.type !== 'ReviewSubmitted') return;
    const erased = (recorded.data as { personalDataErased?: boolean }).personalDataErased === true;
    switch (event.type) {
      case 'ReviewSubmitted': {
        const d = event.data;
        window ??= {
          booking_id: bookingId,
          room_id: d.roomId,
          window_closes_at: d.windowClosesAt,
          published_at: null,
          revision: '0',
          last_position: '0',
        };
        this.windows.set(bookingId, window);
        if (!this.reviews.has(d.reviewId)) {
          this.reviews.set(d.reviewId, {
            id: d.reviewId,
            booking_id: bookingId,
            room_id: d.roomId,
            side: d.side,
            author_id: d.authorId,
            subject_id: d.subjectId,
            rating: d.rating,
            comment: erased ? null : d.comment,
            erased,
            submitted_at: d.submittedAt,
            published_at: null,
            hidden_at: null,
            hidden_by: null,
            hidden_reason: null,
            position: recorded.position.toString(),
          });
        }
        break;
      }
      case 'ReviewPublished': {
        const { publishedAt, reviewId } = event.data;
        window!.published_at = publishedAt;
        this.changeReview(reviewId, { published_at: publishedAt });
        break;
      }
      case 'ReviewResponded': {
        const d = event.data;
        if (!this.responses.has(d.responseId)) {
          this.responses.set(d.responseId, {
            id: d.responseId,
            review_id: d.reviewId,
            booking_id: bookingId,
            author_id: d.authorId,
            body: erased ? null : d.body,
            erased,
            responded_at: d.respondedAt,
            hidden_at: null,
            hidden_by: null,
            hidden_reason: null,
          });
        }
        break;
      }
      case 'ReviewHidden': {
        const { reviewId, hiddenBy, reason, hiddenAt } = event.data;
        this.changeReview(reviewId, { hidden_at: hiddenAt, hidden_by: hiddenBy, hidden_reason: reason });
        break;
      }
      case 'ReviewResponseHidden': {
        const { responseId, hiddenBy, reason, hiddenAt } = event.data;
        const change = { hidden_at: hiddenAt, hidden_by: hiddenBy, hidden_reason: reason };
        const row = this.responses.get(responseId);
        if (row) Object.assign(row, change);
        else this.storedResponses.set(responseId, change);
        break;
      }
      default: {
        const unhandled: never = event;
        throw new Error(`reviews projection: unknown event ${(unhandled as { type: string }).type}`);
      }
    }
    window!.revision = recorded.revision.toString();
    window!.last_position = recorded.position.toString();
    this.changedWindows.add(bookingId);
  }

  async write(): Promise<void> {
    const em = this.em;
    if (this.changedWindows.size > 0) {
      await runSql(
        em,
        `INSERT INTO review_windows (booking_id, room_id, window_closes_at, published_at, revision, last_position)
         SELECT * FROM jsonb_to_recordset(?::jsonb) AS w(booking_id uuid, room_id uuid, window_closes_at timestamptz,
              published_at timestamptz, revision bigint, last_position bigint)
         ON CONFLICT (booking_id) DO UPDATE SET published_at = excluded.published_at, revision = excluded.revision,
           last_position = excluded.last_position`,
        [asJson([...this.changedWindows].map((id) => this.windows.get(id)))],
      );
    }
    if (this.reviews.size > 0) {
      await runSql(
        em,
        `INSERT INTO reviews (id, booking_id, room_id, side, author_id, subject_id, rating, comment, erased,
           submitted_at, published_at, hidden_at, hidden_by, hidden_reason, position)
         SELECT * FROM jsonb_to_recordset(?::jsonb) AS r(id uuid, booking_id uuid, room_id uuid, side text,
              author_id uuid, subject_id uuid, rating smallint, comment text, erased boolean, submitted_at timestamptz,
              published_at timestamptz, hidden_at timestamptz, hidden_by uuid, hidden_reason text, position bigint)
         ON CONFLICT (id) DO NOTHING`,
        [asJson([...this.reviews.values()])],
      );
    }
    if (this.responses.size > 0) {
      await runSql(
        em,
        `INSERT INTO review_responses (id, review_id, booking_id, author_id, body, erased, responded_at, hidden_at,
           hidden_by, hidden_reason)
         SELECT * FROM jsonb_to_recordset(?::jsonb) AS r(id uuid, review_id uuid, booking_id uuid, author_id uuid,
              body text, erased boolean, responded_at timestamptz, hidden_at timestamptz, hidden_by uuid,
              hidden_reason text)
         ON CONFLICT (id) DO NOTHING`,
        [asJson([...this.responses.values()])],
      );
    }
    // A key present in a change is set; an absent one stays as stored.
    const changes = (stored: Map<string, StoredChange>) =>
      asJson(
        [...stored].map(([id, change]) => ({
          id,
          set_published: 'published_at' in change,
          set_hidden: 'hidden_at' in change,
          ...change,
        })),
      );
    const set = (column: string, flag: string) =>
      `${column} = CASE WHEN u.${flag} THEN u.${column} ELSE t.${column} END`;
    if (this.storedReviews.size > 0) {
      await runSql(
        em,
        `UPDATE reviews AS t SET ${set('published_at', 'set_published')}, ${set('hidden_at', 'set_hidden')},
              ${set('hidden_by', 'set_hidden')}, ${set('hidden_reason', 'set_hidden')}
           FROM jsonb_to_recordset(?::jsonb) AS u(id uuid, set_published boolean, set_hidden boolean,
                published_at timestamptz, hidden_at timestamptz, hidden_by uuid, hidden_reason text)
          WHERE t.id = u.id`,
        [changes(this.storedReviews)],
      );
    }
    if (this.storedResponses.size > 0) {
      await runSql(
        em,
        `UPDATE review_responses AS t SET ${set('hidden_at', 'set_hidden')}, ${set('hidden_by', 'set_hidden')},
              ${set('hidden_reason', 'set_hidden')}
           FROM jsonb_to_recordset(?::jsonb) AS u(id uuid, set_hidden boolean, hidden_at timestamptz, hidden_by uuid,
                hidden_reason text)
          WHERE t.id = u.id`,
        [changes(this.storedResponses)],
      );
    }
    if (this.erasedAuthors.size > 0) {
      const authors = asJson([...this.erasedAuthors]);
      await runSql(em, `UPDATE reviews SET comment = NULL, erased = true WHERE NOT erased AND author_id ${IN_UUIDS}`, [
        authors,
      ]);
      await runSql(
        em,
        `UPDATE review_responses SET body = NULL, erased = true WHERE NOT erased AND author_id ${IN_UUIDS}`,
        [authors],
      );
    }
  }
}

/**
 * Builds the reviews read model from the BookingReviews streams, and removes an author's texts on their erasure
 * (the events read with null comments and bodies from then on). A stream's events are skipped by its window's
 * revision; the erasure is idempotent. One batch at a time (ReviewsBatch).
 */
export const reviewsProjection: PgProjection = {
  name: reviewsProjectionName,
  version: 1,
  tables: ['review_windows', 'reviews', 'review_responses'],
  filter: {
    eventTypes: [...ReviewEventTypes, 'PersonalDataErased'],
    streamPrefixes: [REVIEW_STREAM_PREFIX, 'User-'],
  },

  async apply(em: EntityManager, events: readonly RecordedEvent[]): Promise<void> {
    const batch = new ReviewsBatch(em);
    await batch.load(events);
    for (const recorded of events) batch.apply(recorded);
    await batch.write();
  },

  async reset(em: EntityManager): Promise<void> {
    await em.execute('TRUNCATE review_windows, reviews, review_responses');
  },
};
