import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { ReviewedBookingFacts, SubmitReview } from '../../../domain/reviews/commands.js';
import { reviewDecider, reviewText, reviewWindowClosesAt } from '../../../domain/reviews/decider.js';
import type { ReviewEvent, ReviewSide, ReviewSubmitted } from '../../../domain/reviews/events.js';
import type { CommandContext, Role } from '../../../domain/shared/decider.js';
import { deciderSpec } from '../../support/deciderSpec.js';

const spec = deciderSpec(reviewDecider);
const DAY_MS = 86_400_000;
// Time is passed in: the decider never reads a clock, so fixed instants do not go stale.
const CHECK_OUT = '2027-03-10';
const AFTER_CHECK_OUT = '2027-03-11T09:00:00.000Z';
const WINDOW_CLOSES = reviewWindowClosesAt(CHECK_OUT, 14);
const bookingId = randomUUID();
const roomId = randomUUID();
const tenantId = randomUUID();
const landlordId = randomUUID();
const tenantReviewId = randomUUID();
const guestReviewId = randomUUID();
const booking: ReviewedBookingFacts = {
  bookingId,
  roomId,
  tenantId,
  landlordId,
  status: 'completed',
  checkOut: CHECK_OUT,
};
const as = (actorId: string, actorRole: Role | 'system', now = AFTER_CHECK_OUT): CommandContext => ({
  actorId,
  actorRole,
  now,
});

function review(
  side: ReviewSide,
  overrides: Partial<SubmitReview['data']> = {},
  context?: CommandContext,
): SubmitReview {
  return {
    type: 'SubmitReview',
    data: {
      bookingId,
      reviewId: side === 'tenant' ? tenantReviewId : guestReviewId,
      side,
      roomId: side === 'tenant' ? roomId : null,
      rating: side === 'tenant' ? 4 : 5,
      comment: side === 'tenant' ? '  Quiet room, good desk.  ' : 'A considerate guest.',
      booking,
      windowDays: 14,
      ...overrides,
    },
    context: context ?? (side === 'tenant' ? as(tenantId, 'tenant') : as(landlordId, 'landlord')),
  };
}

const submitted = (side: ReviewSide, at = AFTER_CHECK_OUT): ReviewSubmitted => ({
  type: 'ReviewSubmitted',
  data: {
    bookingId,
    reviewId: side === 'tenant' ? tenantReviewId : guestReviewId,
    roomId,
    side,
    authorId: side === 'tenant' ? tenantId : landlordId,
    subjectId: side === 'tenant' ? landlordId : tenantId,
    tenantId,
    landlordId,
    rating: side === 'tenant' ? 4 : 5,
    comment: side === 'tenant' ? 'Quiet room, good desk.' : 'A considerate guest.',
    submittedAt: at,
    windowClosesAt: WINDOW_CLOSES,
  },
});

const published = (reason: 'both_submitted' | 'window_closed', sides: ReviewSide[], at: string): ReviewEvent[] =>
  sides.map((side) => ({
    type: 'ReviewPublished',
    data: {
      bookingId,
      roomId,
      reviewId: side === 'tenant' ? tenantReviewId : guestReviewId,
      side,
      authorId: side === 'tenant' ? tenantId : landlordId,
      subjectId: side === 'tenant' ? landlordId : tenantId,
      rating: side === 'tenant' ? 4 : 5,
      hidden: false,
      reason,
      publishedAt: at,
    },
  }));

const admin = as(randomUUID(), 'admin');

describe('SubmitReview', () => {
  it('records the first review hidden, with the window it closes by', () => {
    spec
      .given([])
      .when(review('tenant'))
      .then([submitted('tenant')]);
    expect(WINDOW_CLOSES).toBe(new Date(Date.parse(`${CHECK_OUT}T00:00:00Z`) + 14 * DAY_MS).toISOString());
  });

  it('publishes both at once when the second side reviews', () => {
    spec
      .given([submitted('tenant')])
      .when(review('landlord'))
      .then([submitted('landlord'), ...published('both_submitted', ['tenant', 'landlord'], AFTER_CHECK_OUT)]);
  });

  it('refuses a second review of the same side (409)', () => {
    spec
      .given([submitted('tenant')])
      .when(review('tenant'))
      .thenThrows('REVIEW_EXISTS', 'conflict');
  });

  it('refuses a stay not completed', () => {
    spec
      .given([])
      .when(review('tenant', { booking: { ...booking, status: 'checked_in' } }))
      .thenThrows('STAY_NOT_COMPLETED', 'illegal_state');
  });

  it('answers a stranger as if the booking did not exist', () => {
    spec
      .given([])
      .when(review('tenant', {}, as(randomUUID(), 'tenant')))
      .thenThrows('BOOKING_NOT_FOUND', 'not_found');
    spec
      .given([])
      .when(review('landlord', {}, as(randomUUID(), 'landlord')))
      .thenThrows('BOOKING_NOT_FOUND', 'not_found');
    spec
      .given([])
      .when(review('tenant', { booking: null }))
      .thenThrows('BOOKING_NOT_FOUND', 'not_found');
  });

  it('refuses the wrong role and the wrong room', () => {
    spec
      .given([])
      .when(review('tenant', {}, as(tenantId, 'landlord')))
      .thenThrows('REVIEW_NOT_ALLOWED', 'forbidden');
    spec
      .given([])
      .when(review('tenant', { roomId: randomUUID() }))
      .thenThrows('BOOKING_NOT_OF_ROOM');
  });

  it('refuses after the window has closed, and after publication', () => {
    const late = as(tenantId, 'tenant', WINDOW_CLOSES);
    spec
      .given([])
      .when(review('tenant', {}, late))
      .thenThrows('REVIEW_WINDOW_CLOSED', 'illegal_state');
    spec
      .given([submitted('landlord'), ...published('window_closed', ['landlord'], WINDOW_CLOSES)])
      .when(review('tenant'))
      .thenThrows('REVIEW_WINDOW_CLOSED');
  });

  it('validates rating and text', () => {
    spec
      .given([])
      .when(review('tenant', { rating: 6 }))
      .thenThrows('INVALID_RATING', 'validation');
    spec
      .given([])
      .when(review('tenant', { rating: 2.5 }))
      .thenThrows('INVALID_RATING');
    spec
      .given([])
      .when(review('tenant', { comment: '   ' }))
      .thenThrows('EMPTY_TEXT');
    spec
      .given([])
      .when(review('tenant', { comment: 'x'.repeat(2001) }))
      .thenThrows('TEXT_TOO_LONG');
    spec
      .given([])
      .when(review('tenant', { comment: 'bad \u0000 byte' }))
      .thenThrows('INVALID_TEXT');
    spec
      .given([])
      .when(review('tenant', { comment: 'lone \uD800 half' }))
      .thenThrows('INVALID_TEXT');
    expect(reviewText('e\u0301 🏠', 'comment', 3)).toBe('é 🏠');
  });
});

describe('CloseReviewWindow', () => {
  const close = (now: string, actorRole: Role | 'system' = 'system') => ({
    type: 'CloseReviewWindow' as const,
    data: { bookingId },
    context: as('system', actorRole, now),
  });

  it('publishes the one review in when the window closes', () => {
    spec
      .given([submitted('tenant')])
      .when(close(WINDOW_CLOSES))
      .then(published('window_closed', ['tenant'], WINDOW_CLOSES));
  });

  it('refuses before the window closes (a timer that fires early is retried)', () => {
    spec
      .given([submitted('tenant')])
      .when(close(AFTER_CHECK_OUT))
      .thenThrows('REVIEW_WINDOW_OPEN');
  });

  it('does nothing once published or with no review, and only the system closes', () => {
    spec.given([]).when(close(WINDOW_CLOSES)).thenNothing();
    spec
      .given([
        submitted('tenant'),
        submitted('landlord'),
        ...published('both_submitted', ['tenant', 'landlord'], AFTER_CHECK_OUT),
      ])
      .when(close(WINDOW_CLOSES))
      .thenNothing();
    spec
      .given([submitted('tenant')])
      .when(close(WINDOW_CLOSES, 'admin'))
      .thenThrows('REVIEW_WINDOW_NOT_YOURS');
  });
});

describe('RespondToReview', () => {
  const both = [
    submitted('tenant'),
    submitted('landlord'),
    ...published('both_submitted', ['tenant', 'landlord'], AFTER_CHECK_OUT),
  ];
  const respond = (reviewId: string, context = as(landlordId, 'landlord')) => ({
    type: 'RespondToReview' as const,
    data: { bookingId, reviewId, responseId: 'b3f7c1a0-0000-4000-8000-000000000001', body: 'Thank you!' },
    context,
  });

  it("lets the landlord answer the tenant's published review once", () => {
    const answered: ReviewEvent = {
      type: 'ReviewResponded',
      data: {
        bookingId,
        roomId,
        reviewId: tenantReviewId,
        responseId: 'b3f7c1a0-0000-4000-8000-000000000001',
        authorId: landlordId,
        body: 'Thank you!',
        respondedAt: AFTER_CHECK_OUT,
      },
    };
    spec.given(both).when(respond(tenantReviewId)).then([answered]);
    spec
      .given([...both, answered])
      .when(respond(tenantReviewId))
      .thenThrows('RESPONSE_EXISTS', 'conflict');
  });

  it('hides an unpublished review, and refuses others than the landlord', () => {
    spec
      .given([submitted('tenant')])
      .when(respond(tenantReviewId))
      .thenThrows('REVIEW_NOT_FOUND', 'not_found');
    spec.given(both).when(respond(guestReviewId)).thenThrows('REVIEW_NOT_FOUND');
    spec
      .given(both)
      .when(respond(tenantReviewId, as(randomUUID(), 'landlord')))
      .thenThrows('RESPONSE_NOT_ALLOWED', 'forbidden');
  });
});

describe('HideReview', () => {
  const hide = (targetId: string, context = admin) => ({
    type: 'HideReview' as const,
    data: { bookingId, targetId, reason: 'insults the host' },
    context,
  });

  it('records who hid a review and why, and whether it was public', () => {
    spec
      .given([submitted('tenant')])
      .when(hide(tenantReviewId))
      .then([
        {
          type: 'ReviewHidden',
          data: {
            bookingId,
            roomId,
            reviewId: tenantReviewId,
            side: 'tenant',
            rating: 4,
            wasPublished: false,
            hiddenBy: admin.actorId,
            reason: 'insults the host',
            hiddenAt: AFTER_CHECK_OUT,
          },
        },
      ]);
  });

  it('publishes a review hidden before the window ends as hidden, and refuses an unknown id', () => {
    spec
      .given([submitted('tenant')])
      .when(hide(randomUUID()))
      .thenThrows('REVIEW_NOT_FOUND', 'not_found');
    const hidden = reviewDecider.decide(hide(tenantReviewId), stateOf([submitted('tenant')]));
    const [publication] = reviewDecider.decide(
      { type: 'CloseReviewWindow', data: { bookingId }, context: as('system', 'system', WINDOW_CLOSES) },
      stateOf([submitted('tenant'), ...hidden]),
    );
    expect(publication).toMatchObject({ type: 'ReviewPublished', data: { reviewId: tenantReviewId, hidden: true } });
  });

  it('does nothing the second time, and only admins hide', () => {
    const hidden = reviewDecider.decide(hide(tenantReviewId), stateOf([submitted('tenant')]));
    spec
      .given([submitted('tenant'), ...hidden])
      .when(hide(tenantReviewId))
      .thenNothing();
    spec
      .given([submitted('tenant')])
      .when(hide(tenantReviewId, as(landlordId, 'landlord')))
      .thenThrows('MODERATION_NOT_ALLOWED', 'forbidden');
  });
});

function stateOf(events: ReviewEvent[]) {
  return events.reduce(reviewDecider.evolve, reviewDecider.initialState);
}
