import type { EntityManager } from '@mikro-orm/postgresql';
import type { PersonalDataErased } from '../../domain/identity/events.js';
import { REVIEW_STREAM_PREFIX, type ReviewEvent, ReviewEventTypes } from '../../domain/reviews/events.js';
import type { RecordedEvent } from '../../infra/eventStore/eventStore.js';
import type { PgProjection } from '../projection.js';

export const reviewsProjectionName = 'reviews';

async function applyReviews(em: EntityManager, recorded: RecordedEvent): Promise<void> {
  const bookingId = recorded.streamId.slice(REVIEW_STREAM_PREFIX.length);
  const event = { type: recorded.type, data: recorded.data } as ReviewEvent;
  const [window] = await em.execute<Array<{ revision: string }>>(
    'SELECT revision FROM review_windows WHERE booking_id = ?',
    [bookingId],
  );
  // Skips what the rows already reflect: every event of the stream moves its window's revision.
  if (window && BigInt(window.revision) >= recorded.revision) return;
  if (!window && event.type !== 'ReviewSubmitted') return;
  const mark = [recorded.revision.toString(), recorded.position.toString()];
  switch (event.type) {
    case 'ReviewSubmitted': {
      const d = event.data;
      const erased = (recorded.data as { personalDataErased?: boolean }).personalDataErased === true;
      await em.execute(
        `INSERT INTO review_windows (booking_id, room_id, window_closes_at, revision, last_position)
         VALUES (?, ?, ?, ?, ?) ON CONFLICT (booking_id) DO NOTHING`,
        [bookingId, d.roomId, d.windowClosesAt, ...mark],
      );
      await em.execute(
        `INSERT INTO reviews (id, booking_id, room_id, side, author_id, subject_id, rating, comment, erased,
           submitted_at, position)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
        [
          d.reviewId,
          bookingId,
          d.roomId,
          d.side,
          d.authorId,
          d.subjectId,
          d.rating,
          erased ? null : d.comment,
          erased,
          d.submittedAt,
          recorded.position.toString(),
        ],
      );
      break;
    }
    case 'ReviewPublished': {
      const { publishedAt, reviewId } = event.data;
      await em.execute('UPDATE review_windows SET published_at = ? WHERE booking_id = ?', [publishedAt, bookingId]);
      await em.execute('UPDATE reviews SET published_at = ? WHERE id = ?', [publishedAt, reviewId]);
      break;
    }
    case 'ReviewResponded': {
      const d = event.data;
      const erased = (recorded.data as { personalDataErased?: boolean }).personalDataErased === true;
      await em.execute(
        `INSERT INTO review_responses (id, review_id, booking_id, author_id, body, erased, responded_at)
         VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
        [d.responseId, d.reviewId, bookingId, d.authorId, erased ? null : d.body, erased, d.respondedAt],
      );
      break;
    }
    case 'ReviewHidden': {
      const { reviewId, hiddenBy, reason, hiddenAt } = event.data;
      await em.execute('UPDATE reviews SET hidden_at = ?, hidden_by = ?, hidden_reason = ? WHERE id = ?', [
        hiddenAt,
        hiddenBy,
        reason,
        reviewId,
      ]);
      break;
    }
    case 'ReviewResponseHidden': {
      const { responseId, hiddenBy, reason, hiddenAt } = event.data;
      await em.execute('UPDATE review_responses SET hidden_at = ?, hidden_by = ?, hidden_reason = ? WHERE id = ?', [
        hiddenAt,
        hiddenBy,
        reason,
        responseId,
      ]);
      break;
    }
    default: {
      const unhandled: never = event;
      throw new Error(`reviews projection: unknown event ${(unhandled as { type: string }).type}`);
    }
  }
  await em.execute('UPDATE review_windows SET revision = ?, last_position = ? WHERE booking_id = ?', [
    ...mark,
    bookingId,
  ]);
}

/**
 * Builds the reviews read model from the BookingReviews streams, and removes an author's texts on their erasure
 * (the events read with null comments and bodies from then on). A stream's events are skipped by its window's
 * revision; the erasure is idempotent.
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
    for (const recorded of events) {
      if (recorded.streamId.startsWith(REVIEW_STREAM_PREFIX)) {
        await applyReviews(em, recorded);
      } else if (recorded.type === 'PersonalDataErased') {
        const { userId } = recorded.data as PersonalDataErased['data'];
        await em.execute('UPDATE reviews SET comment = NULL, erased = true WHERE author_id = ? AND NOT erased', [
          userId,
        ]);
        await em.execute('UPDATE review_responses SET body = NULL, erased = true WHERE author_id = ? AND NOT erased', [
          userId,
        ]);
      }
    }
  },

  async reset(em: EntityManager): Promise<void> {
    await em.execute('TRUNCATE review_windows, reviews, review_responses');
  },
};
