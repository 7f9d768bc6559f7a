import type { DomainEvent } from '../shared/decider.js';

/** Who wrote a review: the tenant reviews the room, the landlord reviews the tenant (their guest). */
export type ReviewSide = 'tenant' | 'landlord';

/**
 * The reviews of one booking (`BookingReviews-<bookingId>`): both sides' reviews in one stream, so the double-blind
 * rule (hidden until both are in or the window closes) is decided in one consistency boundary.
 */
export type ReviewSubmitted = DomainEvent<
  'ReviewSubmitted',
  {
    bookingId: string;
    reviewId: string;
    roomId: string;
    side: ReviewSide;
    authorId: string;
    /** The reviewed party: the room's landlord for a tenant's review, the tenant for a guest review. */
    subjectId: string;
    tenantId: string;
    landlordId: string;
    rating: number;
    /** Personal data of the author: sealed at rest, null once the author is erased. */
    comment: string | null;
    submittedAt: string;
    /** Both reviews publish at the latest then (REVIEW_WINDOW_DAYS after check-out). */
    windowClosesAt: string;
  }
>;

/**
 * A review becomes visible. The booking's reviews publish together, one event each in the same append: both are
 * in, or the window closed with one.
 */
export type ReviewPublished = DomainEvent<
  'ReviewPublished',
  {
    bookingId: string;
    roomId: string;
    reviewId: string;
    side: ReviewSide;
    authorId: string;
    subjectId: string;
    rating: number;
    /** Hidden by a moderator before publication: it publishes hidden, and counts nowhere. */
    hidden: boolean;
    reason: 'both_submitted' | 'window_closed';
    publishedAt: string;
  }
>;

/** The landlord's one answer to the tenant's published review. */
export type ReviewResponded = DomainEvent<
  'ReviewResponded',
  {
    bookingId: string;
    roomId: string;
    reviewId: string;
    responseId: string;
    authorId: string;
    /** Personal data of the author: sealed at rest, null once the author is erased. */
    body: string | null;
    respondedAt: string;
  }
>;

/** A moderator hid a review: who and why stay in the event for auditors. */
export type ReviewHidden = DomainEvent<
  'ReviewHidden',
  {
    bookingId: string;
    roomId: string;
    reviewId: string;
    side: ReviewSide;
    rating: number;
    /** Whether it was public when hidden (a published tenant review leaves the room's rating). */
    wasPublished: boolean;
    hiddenBy: string;
    reason: string;
    hiddenAt: string;
  }
>;

export type ReviewResponseHidden = DomainEvent<
  'ReviewResponseHidden',
  {
    bookingId: string;
    roomId: string;
    reviewId: string;
    responseId: string;
    hiddenBy: string;
    reason: string;
    hiddenAt: string;
  }
>;

export type ReviewEvent = ReviewSubmitted | ReviewPublished | ReviewResponded | ReviewHidden | ReviewResponseHidden;

export const ReviewEventTypes = [
  'ReviewSubmitted',
  'ReviewPublished',
  'ReviewResponded',
  'ReviewHidden',
  'ReviewResponseHidden',
] as const satisfies readonly ReviewEvent['type'][];

export const reviewSchemaVersions = {
  ReviewSubmitted: 1,
  ReviewPublished: 1,
  ReviewResponded: 1,
  ReviewHidden: 1,
  ReviewResponseHidden: 1,
} as const satisfies Record<ReviewEvent['type'], number>;

export const REVIEW_STREAM_PREFIX = 'BookingReviews-';
export const reviewStreamId = (bookingId: string) => `${REVIEW_STREAM_PREFIX}${bookingId}`;

/**
 * A comment and a response are personal data of their author: sealed with the author's key, null once they are
 * erased. The moderator's reason is kept in plain text: it is the record auditors read.
 */
export const reviewPersonalDataPolicy = {
  ReviewSubmitted: { subject: (data: { authorId: string }) => data.authorId, fields: ['comment'] },
  ReviewResponded: { subject: (data: { authorId: string }) => data.authorId, fields: ['body'] },
} as const;

export const REVIEW_LIMITS = { commentChars: 2000, responseChars: 2000, reasonChars: 500 } as const;

export const REVIEW_NAMESPACE = '8c4b2e71-5d3a-4f6b-9e2c-1a7d0f3b6c58';
