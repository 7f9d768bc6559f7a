import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { ReviewEvent } from '../../domain/reviews/events.js';
import { reviewStreamId } from '../../domain/reviews/events.js';
import type { RoomEvent } from '../../domain/rooms/events.js';
import { DEFAULT_RANKING } from '../../domain/search/ranking.js';
import {
  pgRoomSearchReader,
  pgRoomSearchWriter,
  poolSql,
  transactionSql,
} from '../../infra/search/postgres/pgRoomSearch.js';
import { roomSearchProjection } from '../../projections/search/roomSearchProjection.js';
import { roomDetails } from '../support/builders/rooms.js';
import { projectionSpec, recordedEvent } from '../support/projectionSpec.js';

/** The search projection listens to reviews: given a room and its reviews, then what a search finds. */
const spec = projectionSpec(roomSearchProjection((em) => pgRoomSearchWriter(transactionSql(em)), transactionSql));
const details = roomDetails({ title: 'Room with reviews' });
const AT = '2027-01-05T10:00:00.000Z';

const find = async (roomId: string) =>
  (
    await pgRoomSearchReader(poolSql(spec.db.pool)).search({
      center: details.location,
      radiusMeters: 1_000,
      sort: 'distance',
      limit: 10,
      ranking: DEFAULT_RANKING,
    })
  ).items.find((hit) => hit.id === roomId);

describe('room search projection and reviews', () => {
  it('moves reviewCount and rating with published and hidden tenant reviews, past later room changes', async () => {
    const [roomId, landlordId, bookingId, reviewId] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
    const room = (revision: number, event: RoomEvent) => recordedEvent(`Room-${roomId}`, revision, event);
    await spec.apply([
      room(0, { type: 'RoomCreated', data: { roomId, landlordId, ...details, createdAt: AT } }),
      room(1, { type: 'RoomPublished', data: { roomId, publishedAt: AT } }),
    ]);
    expect(await find(roomId)).toMatchObject({ rating: null, reviewCount: 0 });

    const review = (revision: number, event: ReviewEvent) => recordedEvent(reviewStreamId(bookingId), revision, event);
    const base = { bookingId, roomId, reviewId, side: 'tenant' as const, rating: 3 };
    await spec.apply([
      review(2, {
        type: 'ReviewPublished',
        data: {
          ...base,
          authorId: randomUUID(),
          subjectId: landlordId,
          hidden: false,
          reason: 'window_closed',
          publishedAt: AT,
        },
      }),
      review(3, {
        type: 'ReviewPublished',
        data: {
          ...base,
          reviewId: randomUUID(),
          side: 'landlord',
          rating: 1,
          authorId: landlordId,
          subjectId: randomUUID(),
          hidden: false,
          reason: 'window_closed',
          publishedAt: AT,
        },
      }),
    ]);
    expect(await find(roomId), 'a guest review is not the room’s').toMatchObject({ rating: 3, reviewCount: 1 });

    // A room change after the review keeps the review's count: the document's version moved past both.
    await spec.apply([
      room(2, { type: 'RoomUpdated', data: { roomId, changes: { pricePerNight: 5_100 }, updatedAt: AT } }),
    ]);
    expect(await find(roomId)).toMatchObject({ rating: 3, reviewCount: 1, pricePerNight: 5_100 });

    await spec.apply([
      review(4, {
        type: 'ReviewHidden',
        data: { ...base, wasPublished: true, hiddenBy: randomUUID(), reason: 'spam', hiddenAt: AT },
      }),
    ]);
    expect(await find(roomId)).toMatchObject({ rating: null, reviewCount: 0 });
  });
});
