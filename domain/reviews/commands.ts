import type { CommandContext } from '../shared/decider.js';
import type { ReviewSide } from './events.js';

type ReviewCommandOf<T extends string, Data> = { type: T; data: { bookingId: string } & Data; context: CommandContext };

/** The booking reviewed, as its stream says: null when no such booking exists. */
export interface ReviewedBookingFacts {
  bookingId: string;
  roomId: string;
  tenantId: string;
  landlordId: string;
  status: string;
  /** `YYYY-MM-DD`: the window runs from this day's start (UTC) for `windowDays`. */
  checkOut: string;
}

/**
 * A party's review of the booking: the tenant's of the room (`roomId` as in the URL), or the landlord's of the
 * tenant. The handler loads the booking's facts and names the review (one per side and booking).
 */
export type SubmitReview = ReviewCommandOf<
  'SubmitReview',
  {
    reviewId: string;
    side: ReviewSide;
    /** The room the tenant's review is posted under (null for a guest review). */
    roomId: string | null;
    rating: number;
    comment: string;
    booking: ReviewedBookingFacts | null;
    windowDays: number;
  }
>;

/** The window is over: whatever is in publishes (a sweep sends it, as the system). */
export type CloseReviewWindow = ReviewCommandOf<'CloseReviewWindow', Record<never, never>>;

export type RespondToReview = ReviewCommandOf<
  'RespondToReview',
  { reviewId: string; responseId: string; body: string }
>;

/** A moderator hides a review or a response (`targetId` names either). */
export type HideReview = ReviewCommandOf<'HideReview', { targetId: string; reason: string }>;

export type ReviewCommand = SubmitReview | CloseReviewWindow | RespondToReview | HideReview;
