import { uuidV5 } from '../domain/messaging/conversationId.js';
import type { ReviewCommand, ReviewedBookingFacts } from '../domain/reviews/commands.js';
import { type ReviewState, reviewDecider } from '../domain/reviews/decider.js';
import { REVIEW_NAMESPACE, type ReviewEvent, type ReviewSide, reviewStreamId } from '../domain/reviews/events.js';
import type { CommandContext } from '../domain/shared/decider.js';
import type { EventStore } from '../infra/eventStore/eventStore.js';
import { loadBooking } from './bookings.js';
import { type CommandEnvelope, type CommandResult, handleCommand, systemEnvelope } from './handleCommand.js';
import { loadState } from './loadState.js';

export interface ReviewDeps {
  store: EventStore;
  /** REVIEW_WINDOW_DAYS: how long after check-out the parties may review. */
  windowDays: number;
  maxRetries?: number;
}

type ReviewResult = CommandResult<ReviewState, ReviewEvent>;

/** A side's review of a booking has one id for good: a retry or a second attempt names the same review. */
export const reviewIdOf = (bookingId: string, side: ReviewSide) =>
  uuidV5(`${bookingId.toLowerCase()}|${side}`, REVIEW_NAMESPACE);
/** A review is answered once: its response's id follows from it. */
export const responseIdOf = (reviewId: string) => uuidV5(`${reviewId.toLowerCase()}|response`, REVIEW_NAMESPACE);

function run(deps: ReviewDeps, command: ReviewCommand, envelope: CommandEnvelope): Promise<ReviewResult> {
  return handleCommand(deps.store, reviewStreamId(command.data.bookingId), reviewDecider, command, envelope, {
    maxRetries: deps.maxRetries ?? 5,
  });
}

export async function loadReviews(store: EventStore, bookingId: string) {
  return loadState(store, reviewStreamId(bookingId), reviewDecider);
}

async function bookingFacts(store: EventStore, bookingId: string): Promise<ReviewedBookingFacts | null> {
  const { state } = await loadBooking(store, bookingId);
  if (state.status === 'none' || !state.roomId || !state.checkOut) return null;
  return {
    bookingId,
    roomId: state.roomId,
    tenantId: state.tenantId!,
    landlordId: state.landlordId!,
    status: state.status,
    checkOut: state.checkOut,
  };
}

/**
 * A party's review of a completed stay: the tenant's of the room (`roomId` from the URL), or the landlord's of the
 * tenant (`roomId` null). When the other side's is already in, both publish in the same append.
 */
export async function submitReview(
  deps: ReviewDeps,
  input: { bookingId: string; side: ReviewSide; roomId: string | null; rating: number; comment: string },
  context: CommandContext,
  envelope: CommandEnvelope,
): Promise<ReviewResult & { reviewId: string }> {
  const booking = await bookingFacts(deps.store, input.bookingId);
  const reviewId = reviewIdOf(input.bookingId, input.side);
  const result = await run(
    deps,
    {
      type: 'SubmitReview',
      data: { ...input, reviewId, booking, windowDays: deps.windowDays },
      context,
    },
    envelope,
  );
  return { ...result, reviewId };
}

export async function respondToReview(
  deps: ReviewDeps,
  input: { bookingId: string; reviewId: string; body: string },
  context: CommandContext,
  envelope: CommandEnvelope,
): Promise<ReviewResult & { responseId: string }> {
  const responseId = responseIdOf(input.reviewId);
  const result = await run(deps, { type: 'RespondToReview', data: { ...input, responseId }, context }, envelope);
  return { ...result, responseId };
}

export function hideReview(
  deps: ReviewDeps,
  input: { bookingId: string; targetId: string; reason: string },
  context: CommandContext,
  envelope: CommandEnvelope,
): Promise<ReviewResult> {
  return run(deps, { type: 'HideReview', data: input, context }, envelope);
}

/** Publishes what is in of a booking whose window has closed at `now`; whether it changed anything. */
export async function closeReviewWindow(deps: Pick<ReviewDeps, 'store'>, bookingId: string, now: Date) {
  const at = now.toISOString();
  const result = await handleCommand(
    deps.store,
    reviewStreamId(bookingId),
    reviewDecider,
    { type: 'CloseReviewWindow', data: { bookingId }, context: { actorId: 'system', actorRole: 'system', now: at } },
    systemEnvelope(at),
  );
  return result.events.length > 0;
}

/** Ids of bookings whose review window closed by `now` with reviews still hidden (the reviews read model). */
export type ReviewWindowCandidates = (now: Date, limit: number) => Promise<string[]>;

/**
 * The sweep behind the review windows, as the booking sweeps are behind their deadlines: candidates from the read
 * model, every decision from the booking's review stream, so running it twice or from two workers publishes once.
 */
export async function publishClosedReviewWindows(
  deps: { store: EventStore; candidates: ReviewWindowCandidates },
  now: Date,
): Promise<number> {
  let published = 0;
  for (const bookingId of await deps.candidates(now, 500)) {
    if (await closeReviewWindow(deps, bookingId, now)) published++;
  }
  return published;
}
