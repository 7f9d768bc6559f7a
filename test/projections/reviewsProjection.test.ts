import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { ReviewEvent, ReviewSide } from '../../domain/reviews/events.js';
import { reviewStreamId } from '../../domain/reviews/events.js';
import { createReviewQueries } from '../../projections/reviews/reviewQueries.js';
import { reviewsProjection } from '../../projections/reviews/reviewsProjection.js';
import { roomsProjection } from '../../projections/rooms/roomsProjection.js';
import { RoomView } from '../../projections/rooms/roomView.js';
import { roomCreated } from '../support/builders/rooms.js';
import { projectionSpec, recordedEvent } from '../support/projectionSpec.js';

const reviews = projectionSpec(reviewsProjection);
const rooms = projectionSpec(roomsProjection);
const AT = '2027-01-05T10:00:00.000Z';
const CLOSES = '2027-01-19T00:00:00.000Z';

function pair() {
  const ids = { bookingId: randomUUID(), roomId: randomUUID(), tenantId: randomUUID(), landlordId: randomUUID() };
  const reviewIdOf = { tenant: randomUUID(), landlord: randomUUID() } as const;
  const authorOf = (side: ReviewSide) => (side === 'tenant' ? ids.tenantId : ids.landlordId);
  const subjectOf = (side: ReviewSide) => (side === 'tenant' ? ids.landlordId : ids.tenantId);
  const submitted = (side: ReviewSide, rating: number): ReviewEvent => ({
    type: 'ReviewSubmitted',
    data: {
      ...ids,
      reviewId: reviewIdOf[side],
      side,
      authorId: authorOf(side),
      subjectId: subjectOf(side),
      rating,
      comment: `${side} says hello`,
      submittedAt: AT,
      windowClosesAt: CLOSES,
    },
  });
  const published = (side: ReviewSide, rating: number, hidden = false): ReviewEvent => ({
    type: 'ReviewPublished',
    data: {
      bookingId: ids.bookingId,
      roomId: ids.roomId,
      reviewId: reviewIdOf[side],
      side,
      authorId: authorOf(side),
      subjectId: subjectOf(side),
      rating,
      hidden,
      reason: 'both_submitted',
      publishedAt: AT,
    },
  });
  const hidden = (side: ReviewSide, rating: number): ReviewEvent => ({
    type: 'ReviewHidden',
    data: {
      bookingId: ids.bookingId,
      roomId: ids.roomId,
      reviewId: reviewIdOf[side],
      side,
      rating,
      wasPublished: true,
      hiddenBy: randomUUID(),
      reason: 'spam',
      hiddenAt: AT,
    },
  });
  let revision = 0;
  const recorded = (events: ReviewEvent[]) =>
    events.map((event) => recordedEvent(reviewStreamId(ids.bookingId), revision++, event));
  return { ...ids, reviewIdOf, submitted, published, hidden, recorded };
}

describe('reviews projection', () => {
  it('lists a review once published, applies each event once, and drops texts on the author’s erasure', async () => {
    const p = pair();
    const queries = createReviewQueries(reviews.db.pool);
    const first = p.recorded([p.submitted('tenant', 4)]);
    await reviews.apply(first);
    expect(await queries.publicReviewsOf(p.roomId, { limit: 10, after: null })).toEqual([]);
    expect(await queries.windowsClosedBy(new Date(CLOSES), 10)).toContain(p.bookingId);
    expect(await queries.targetOf(p.reviewIdOf.tenant)).toEqual({
      bookingId: p.bookingId,
      reviewId: p.reviewIdOf.tenant,
      kind: 'review',
    });

    const rest = p.recorded([p.submitted('landlord', 5), p.published('tenant', 4), p.published('landlord', 5)]);
    await reviews.apply(rest);
    await reviews.apply([...first, ...rest]); // a replay changes nothing
    const listed = await queries.publicReviewsOf(p.roomId, { limit: 10, after: null });
    expect(listed).toMatchObject([{ id: p.reviewIdOf.tenant, rating: 4, comment: 'tenant says hello', erased: false }]);
    expect(await queries.windowsClosedBy(new Date(CLOSES), 10)).not.toContain(p.bookingId);

    const responseId = randomUUID();
    await reviews.apply(
      p.recorded([
        {
          type: 'ReviewResponded',
          data: {
            bookingId: p.bookingId,
            roomId: p.roomId,
            reviewId: p.reviewIdOf.tenant,
            responseId,
            authorId: p.landlordId,
            body: 'Thanks for staying',
            respondedAt: AT,
          },
        },
      ]),
    );
    expect(await queries.targetOf(responseId)).toMatchObject({ reviewId: p.reviewIdOf.tenant, kind: 'response' });
    expect(await queries.publicReviewsOf(p.roomId, { limit: 10, after: null })).toMatchObject([
      { response: { id: responseId, body: 'Thanks for staying', erased: false } },
    ]);

    for (const userId of [p.tenantId, p.landlordId]) {
      await reviews.apply([recordedEvent(`User-${userId}`, 3, { type: 'PersonalDataErased', data: { userId } })]);
    }
    expect(await queries.publicReviewsOf(p.roomId, { limit: 10, after: null })).toMatchObject([
      { comment: null, erased: true, response: { body: null, erased: true } },
    ]);
  });
});

describe('rooms projection listens to reviews', () => {
  it('counts published tenant reviews once, leaves guest reviews and hidden ones out', async () => {
    const p = pair();
    const row = () => rooms.orm.em.fork().findOne(RoomView, { id: p.roomId });
    await rooms.apply([recordedEvent(`Room-${p.roomId}`, 0, roomCreated(p.roomId, p.landlordId))]);
    const publication = p.recorded([
      p.submitted('tenant', 5),
      p.submitted('landlord', 2),
      p.published('tenant', 5),
      p.published('landlord', 2),
    ]);
    await rooms.apply(publication);
    await rooms.apply(publication);
    expect(await row()).toMatchObject({ rating: 5, reviewCount: 1 });

    const other = pair();
    const second = other.recorded([other.published('tenant', 2)]).map((event) => ({
      ...event,
      data: { ...(event.data as object), roomId: p.roomId },
    }));
    await rooms.apply(second);
    expect(await row()).toMatchObject({ rating: 3.5, reviewCount: 2 });

    const hiddenOne = p.recorded([p.hidden('tenant', 5)]);
    await rooms.apply(hiddenOne);
    await rooms.apply(hiddenOne);
    expect(await row()).toMatchObject({ rating: 2, reviewCount: 1 });
  });
});
