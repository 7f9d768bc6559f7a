import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { notificationsFor } from '../../../domain/notifications/rules.js';
import type { ReviewPublished } from '../../../domain/reviews/events.js';

const published = (overrides: Partial<ReviewPublished['data']> = {}): ReviewPublished => ({
  type: 'ReviewPublished',
  data: {
    bookingId: randomUUID(),
    roomId: randomUUID(),
    reviewId: randomUUID(),
    side: 'tenant',
    authorId: randomUUID(),
    subjectId: randomUUID(),
    rating: 4,
    hidden: false,
    reason: 'both_submitted',
    publishedAt: '2027-03-24T00:00:00.000Z',
    ...overrides,
  },
});

describe('review notifications', () => {
  it('tells the reviewed party of a review once it is published, naming its author', () => {
    const event = published();
    expect(notificationsFor(event, { booking: null })).toEqual([
      {
        userId: event.data.subjectId,
        kind: 'review_received',
        subject: {
          bookingId: event.data.bookingId,
          roomId: event.data.roomId,
          reviewId: event.data.reviewId,
          senderId: event.data.authorId,
        },
      },
    ]);
  });

  it('tells the tenant of the guest review the same way', () => {
    const event = published({ side: 'landlord', reason: 'window_closed' });
    expect(notificationsFor(event, { booking: null })).toMatchObject([
      { userId: event.data.subjectId, kind: 'review_received' },
    ]);
  });

  it('says nothing of a review hidden before it was published', () => {
    expect(notificationsFor(published({ hidden: true }), { booking: null })).toEqual([]);
  });
});
