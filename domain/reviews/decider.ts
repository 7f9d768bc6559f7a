import type { Decider } from '../shared/decider.js';
import { DomainError } from '../shared/errors.js';
import { dayNumber, hasLoneSurrogate } from '../shared/values.js';
import type { CloseReviewWindow, HideReview, RespondToReview, ReviewCommand, SubmitReview } from './commands.js';
import {
  REVIEW_LIMITS,
  type ReviewEvent,
  type ReviewSide,
  type ReviewSubmitted,
  reviewSchemaVersions,
} from './events.js';

const DAY_MS = 86_400_000;

interface ReviewRef {
  reviewId: string;
  side: ReviewSide;
  authorId: string;
  subjectId: string;
  rating: number;
  hidden: boolean;
  response: { responseId: string; hidden: boolean } | null;
}

export interface ReviewState {
  status: 'none' | 'open' | 'published';
  bookingId?: string;
  roomId?: string;
  tenantId?: string;
  landlordId?: string;
  windowClosesAt?: string;
  reviews: Partial<Record<ReviewSide, ReviewRef>>;
}

export const initialReviewState: ReviewState = Object.freeze({ status: 'none', reviews: {} }) as ReviewState;

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/;

/** Free text as stored: NFC, trimmed, 1..`max` code points, well-formed, no controls but tab and line breaks. */
export function reviewText(raw: string, field: string, max: number): string {
  if (hasLoneSurrogate(raw) || CONTROL.test(raw)) {
    throw new DomainError('INVALID_TEXT', 'validation', `the ${field} holds characters no one types`, { field });
  }
  const text = raw.normalize('NFC').trim();
  let length = 0;
  for (const _ of text) length++;
  if (length === 0) throw new DomainError('EMPTY_TEXT', 'validation', `the ${field} needs some text`, { field });
  if (length > max) {
    throw new DomainError('TEXT_TOO_LONG', 'validation', `the ${field} holds at most ${max} characters`, {
      field,
      max,
      length,
    });
  }
  return text;
}

/** The instant the window closes: `windowDays` after the start (UTC) of the check-out day. */
export const reviewWindowClosesAt = (checkOut: string, windowDays: number) =>
  new Date((dayNumber(checkOut) + windowDays) * DAY_MS).toISOString();

const bookingNotFound = () => new DomainError('BOOKING_NOT_FOUND', 'not_found', 'booking not found');
const reviewNotFound = () => new DomainError('REVIEW_NOT_FOUND', 'not_found', 'review not found');
const windowClosed = () =>
  new DomainError('REVIEW_WINDOW_CLOSED', 'illegal_state', 'the review window of this stay has closed');

const reviewsOf = (state: ReviewState): ReviewRef[] =>
  (['tenant', 'landlord'] as const).flatMap((side) => (state.reviews[side] ? [state.reviews[side]] : []));

/** Every review in, published at once: one event each, appended together. */
function publication(
  state: ReviewState,
  reason: 'both_submitted' | 'window_closed',
  now: string,
  extra: ReviewRef[],
): ReviewEvent[] {
  return [...reviewsOf(state), ...extra].map(({ reviewId, side, authorId, subjectId, rating, hidden }) => ({
    type: 'ReviewPublished',
    data: {
      bookingId: state.bookingId!,
      roomId: state.roomId!,
      reviewId,
      side,
      authorId,
      subjectId,
      rating,
      hidden,
      reason,
      publishedAt: now,
    },
  }));
}

function submit(command: SubmitReview, state: ReviewState): ReviewEvent[] {
  const { context, data } = command;
  const booking = data.booking;
  if (!booking || booking.bookingId !== data.bookingId) throw bookingNotFound();
  const expectedRole = data.side;
  const party = data.side === 'tenant' ? booking.tenantId : booking.landlordId;
  if (context.actorRole !== expectedRole) {
    throw new DomainError('REVIEW_NOT_ALLOWED', 'forbidden', `only the booking's ${data.side} writes this review`);
  }
  // A booking of others is answered as one that does not exist: its existence is not for strangers.
  if (context.actorId !== party) throw bookingNotFound();
  if (data.roomId !== null && booking.roomId !== data.roomId) {
    throw new DomainError('BOOKING_NOT_OF_ROOM', 'validation', 'the booking is of another room');
  }
  if (booking.status !== 'completed') {
    throw new DomainError('STAY_NOT_COMPLETED', 'illegal_state', 'a stay is reviewed after check-out', {
      status: booking.status,
    });
  }
  if (state.reviews[data.side]) {
    throw new DomainError('REVIEW_EXISTS', 'conflict', 'this side has already reviewed this booking', {
      reviewId: state.reviews[data.side]!.reviewId,
    });
  }
  const windowClosesAt = state.windowClosesAt ?? reviewWindowClosesAt(booking.checkOut, data.windowDays);
  if (state.status === 'published' || Date.parse(context.now) >= Date.parse(windowClosesAt)) throw windowClosed();
  if (!Number.isInteger(data.rating) || data.rating < 1 || data.rating > 5) {
    throw new DomainError('INVALID_RATING', 'validation', 'a rating is a whole number from 1 to 5');
  }
  const comment = reviewText(data.comment, 'comment', REVIEW_LIMITS.commentChars);
  const subjectId = data.side === 'tenant' ? booking.landlordId : booking.tenantId;
  const submitted: ReviewSubmitted = {
    type: 'ReviewSubmitted',
    data: {
      bookingId: data.bookingId,
      reviewId: data.reviewId,
      roomId: booking.roomId,
      side: data.side,
      authorId: context.actorId,
      subjectId,
      tenantId: booking.tenantId,
      landlordId: booking.landlordId,
      rating: data.rating,
      comment,
      submittedAt: context.now,
      windowClosesAt,
    },
  };
  const other = state.reviews[data.side === 'tenant' ? 'landlord' : 'tenant'];
  if (!other) return [submitted];
  const base: ReviewState = { ...state, bookingId: data.bookingId, roomId: booking.roomId };
  const mine: ReviewRef = {
    reviewId: data.reviewId,
    side: data.side,
    authorId: context.actorId,
    subjectId,
    rating: data.rating,
    hidden: false,
    response: null,
  };
  return [submitted, ...publication(base, 'both_submitted', context.now, [mine])];
}

function close(command: CloseReviewWindow, state: ReviewState): ReviewEvent[] {
  const { context } = command;
  if (context.actorRole !== 'system') {
    throw new DomainError('REVIEW_WINDOW_NOT_YOURS', 'forbidden', 'only the system closes a review window');
  }
  if (state.status !== 'open') return [];
  if (Date.parse(context.now) < Date.parse(state.windowClosesAt!)) {
    throw new DomainError('REVIEW_WINDOW_OPEN', 'illegal_state', 'the review window is still open', {
      windowClosesAt: state.windowClosesAt,
    });
  }
  return publication(state, 'window_closed', context.now, []);
}

function respond(command: RespondToReview, state: ReviewState): ReviewEvent[] {
  const { context, data } = command;
  const review = state.reviews.tenant;
  // Only a published tenant review can be answered; anything else is not there for the landlord to see.
  if (state.status !== 'published' || !review || review.reviewId !== data.reviewId || review.hidden) {
    throw reviewNotFound();
  }
  if (context.actorRole !== 'landlord' || context.actorId !== state.landlordId) {
    throw new DomainError('RESPONSE_NOT_ALLOWED', 'forbidden', "only the room's landlord answers its reviews");
  }
  if (review.response) {
    throw new DomainError('RESPONSE_EXISTS', 'conflict', 'this review has already been answered', {
      responseId: review.response.responseId,
    });
  }
  const body = reviewText(data.body, 'response', REVIEW_LIMITS.responseChars);
  return [
    {
      type: 'ReviewResponded',
      data: {
        bookingId: state.bookingId!,
        roomId: state.roomId!,
        reviewId: review.reviewId,
        responseId: data.responseId,
        authorId: context.actorId,
        body,
        respondedAt: context.now,
      },
    },
  ];
}

function hide(command: HideReview, state: ReviewState): ReviewEvent[] {
  const { context, data } = command;
  if (context.actorRole !== 'admin') {
    throw new DomainError('MODERATION_NOT_ALLOWED', 'forbidden', 'only admins hide reviews');
  }
  const reason = reviewText(data.reason, 'reason', REVIEW_LIMITS.reasonChars);
  const moderation = { hiddenBy: context.actorId, reason, hiddenAt: context.now };
  for (const review of reviewsOf(state)) {
    if (review.reviewId === data.targetId) {
      if (review.hidden) return [];
      return [
        {
          type: 'ReviewHidden',
          data: {
            bookingId: state.bookingId!,
            roomId: state.roomId!,
            reviewId: review.reviewId,
            side: review.side,
            rating: review.rating,
            wasPublished: state.status === 'published',
            ...moderation,
          },
        },
      ];
    }
    if (review.response?.responseId === data.targetId) {
      if (review.response.hidden) return [];
      return [
        {
          type: 'ReviewResponseHidden',
          data: {
            bookingId: state.bookingId!,
            roomId: state.roomId!,
            reviewId: review.reviewId,
            responseId: review.response.responseId,
            ...moderation,
          },
        },
      ];
    }
  }
  throw reviewNotFound();
}

export function decide(command: ReviewCommand, state: ReviewState): ReviewEvent[] {
  switch (command.type) {
    case 'SubmitReview':
      return submit(command, state);
    case 'CloseReviewWindow':
      return close(command, state);
    case 'RespondToReview':
      return respond(command, state);
    case 'HideReview':
      return hide(command, state);
    default: {
      const unhandled: never = command;
      throw new Error(`unknown command ${(unhandled as { type: string }).type}`);
    }
  }
}

export function evolve(state: ReviewState, event: ReviewEvent): ReviewState {
  switch (event.type) {
    case 'ReviewSubmitted': {
      const { bookingId, roomId, tenantId, landlordId, windowClosesAt, reviewId, side, authorId, subjectId, rating } =
        event.data;
      if (state.reviews[side]) return state;
      return {
        status: state.status === 'none' ? 'open' : state.status,
        bookingId,
        roomId,
        tenantId,
        landlordId,
        windowClosesAt: state.windowClosesAt ?? windowClosesAt,
        reviews: {
          ...state.reviews,
          [side]: { reviewId, side, authorId, subjectId, rating, hidden: false, response: null },
        },
      };
    }
    case 'ReviewPublished':
      return state.status === 'none' ? state : { ...state, status: 'published' };
    case 'ReviewResponded': {
      const review = state.reviews.tenant;
      if (!review || review.reviewId !== event.data.reviewId) return state;
      return {
        ...state,
        reviews: {
          ...state.reviews,
          tenant: { ...review, response: { responseId: event.data.responseId, hidden: false } },
        },
      };
    }
    case 'ReviewHidden': {
      const review = state.reviews[event.data.side];
      if (!review) return state;
      return { ...state, reviews: { ...state.reviews, [event.data.side]: { ...review, hidden: true } } };
    }
    case 'ReviewResponseHidden': {
      const review = state.reviews.tenant;
      if (!review?.response) return state;
      return {
        ...state,
        reviews: { ...state.reviews, tenant: { ...review, response: { ...review.response, hidden: true } } },
      };
    }
    default: {
      const unhandled: never = event;
      throw new Error(`unknown event ${(unhandled as { type: string }).type}`);
    }
  }
}

export const reviewDecider: Decider<ReviewCommand, ReviewEvent, ReviewState> = {
  initialState: initialReviewState,
  decide,
  evolve,
  schemaVersions: reviewSchemaVersions,
};
