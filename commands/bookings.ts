import { createHash } from 'node:crypto';
import { calendarDecider, calendarStreamId } from '../domain/bookings/calendar.js';
import type { BookingCommand, RequestBooking, RoomSnapshot } from '../domain/bookings/commands.js';
import { type BookingState, bookingDecider } from '../domain/bookings/decider.js';
import { type BookingEvent, bookingStreamId } from '../domain/bookings/events.js';
import { referenceFromDigest, referenceStreamId } from '../domain/bookings/reference.js';
import { recentAdmissions, tenantRequestsDecider, tenantRequestsStreamId } from '../domain/bookings/tenantRequests.js';
import { roomDecider } from '../domain/rooms/decider.js';
import { roomStreamId } from '../domain/rooms/events.js';
import { DomainError } from '../domain/shared/errors.js';
import type { DateRange } from '../domain/shared/values.js';
import { type EventStore, type RecordedEvent, WrongExpectedVersion } from '../infra/eventStore/eventStore.js';
import { type CommandEnvelope, type CommandResult, handleCommand } from './handleCommand.js';
import { foldHistory, loadState, readHistory, readStreamState } from './loadState.js';
import type { StreamSnapshots } from './snapshots.js';

/** What a status change needs. */
export type BookingStatusDeps = Pick<BookingDeps, 'store' | 'maxRetries' | 'snapshots'>;

export interface BookingDeps {
  store: EventStore;
  maxRetries?: number;
  /** The room calendars' snapshots: a calendar is read from its latest one (commands/snapshots.ts). */
  snapshots?: StreamSnapshots;
  /** @deprecated References derive from the booking id now (`claimReference`); ignored, kept for old callers. */
  newReference?: () => string;
  /**
   * The pending-bookings cap: the most pending bookings a tenant may have, and the ids of the tenant's
   * pending bookings in the bookings read model (through its query module). Absent: no cap.
   */
  pendingCap?: {
    max: number;
    pendingBookingsOf(tenantId: string, at: string): Promise<string[]>;
  };
}

async function loadRoom(store: EventStore, roomId: string): Promise<RoomSnapshot & { blocked: DateRange[] }> {
  const { state: room } = await loadState(store, roomStreamId(roomId), roomDecider);
  if (room.status === 'none') throw new DomainError('ROOM_NOT_FOUND', 'not_found', 'room not found');
  return {
    roomId,
    status: room.status,
    landlordId: room.landlordId!,
    pricePerNight: room.pricePerNight!,
    currency: room.currency!,
    maxOccupants: room.maxOccupants!,
    cancellationPolicy: room.cancellationPolicy ?? 'moderate',
    blocked: room.blocked,
  };
}

/**
 * Admits the request on the tenant's request stream, or refuses it (TOO_MANY_PENDING_BOOKINGS). The
 * candidates are the read model's pending bookings and the requests admitted in the last minute; each
 * is then read from its own stream, so neither a request nor an answer the projection has not applied
 * yet is miscounted. The append with the expected revision serialises the tenant's concurrent requests:
 * the one that loses the race decides again and counts the winner as on its way. `reads` are the read model's
 * candidates and the tenant's stream, read with the room (no round trip of their own).
 */
async function admitRequest(
  deps: BookingDeps,
  cap: NonNullable<BookingDeps['pendingCap']>,
  bookingId: string,
  reads: { fromReadModel: string[]; tenantStream: readonly RecordedEvent[] },
  context: RequestBooking['context'],
  envelope: CommandEnvelope,
): Promise<void> {
  const streamId = tenantRequestsStreamId(context.actorId);
  const gate = foldHistory(reads.tenantStream, tenantRequestsDecider);
  const candidates = new Set([...reads.fromReadModel, ...recentAdmissions(gate.state, context.now)]);
  candidates.delete(bookingId);
  const pendingBookingIds: string[] = [];
  const recordedBookingIds: string[] = [];
  await Promise.all(
    [...candidates].map(async (id) => {
      const { state } = await loadBooking(deps.store, id);
      if (state.status === 'none') return;
      recordedBookingIds.push(id);
      if (state.status === 'pending' && Date.parse(state.holdExpiresAt!) > Date.parse(context.now)) {
        pendingBookingIds.push(id);
      }
    }),
  );
  await handleCommand(
    deps.store,
    streamId,
    tenantRequestsDecider,
    {
      type: 'AdmitBookingRequest',
      data: { bookingId, max: cap.max, pendingBookingIds, recordedBookingIds },
      context,
    },
    envelope,
    { maxRetries: deps.maxRetries ?? 20, firstRead: { base: null, events: reads.tenantStream } },
  );
}

async function withdrawRequest(
  deps: BookingDeps,
  bookingId: string,
  context: RequestBooking['context'],
  envelope: CommandEnvelope,
): Promise<void> {
  await handleCommand(
    deps.store,
    tenantRequestsStreamId(context.actorId),
    tenantRequestsDecider,
    { type: 'WithdrawBookingRequest', data: { bookingId }, context },
    envelope,
    { maxRetries: deps.maxRetries ?? 20 },
  );
}

/** The booking's reference candidate for an attempt: derived from the booking id, so a retry finds its own. */
const referenceCandidate = (bookingId: string, attempt: number) =>
  referenceFromDigest(createHash('sha256').update(`${bookingId}#${attempt}`).digest());

/** Who claimed a reference stream (null: nobody). */
const referenceOwner = {
  initialState: null as string | null,
  evolve: (owner: string | null, event: { type: string; data: unknown }) =>
    owner ?? (event.data as { bookingId: string }).bookingId,
};

/**
 * Claims the booking's reference: a stream per reference, appended with no_stream. The first candidate is derived
 * from the booking id, so the claim runs at once with the hold (one group commit, no round trip of its own) and a
 * retried request finds the reference it claimed. Only a clash with another booking's reference (27^6 names)
 * costs a further attempt.
 */
async function claimReference(deps: BookingDeps, bookingId: string, envelope: CommandEnvelope): Promise<string> {
  for (let attempt = 0; attempt < 8; attempt++) {
    const reference = referenceCandidate(bookingId, attempt);
    try {
      await deps.store.append(
        referenceStreamId(reference),
        [
          {
            eventId: envelope.newId(),
            type: 'BookingReferenceReserved',
            schemaVersion: 1,
            data: { bookingId, reference },
            metadata: { ...envelope.metadata, occurredAt: envelope.now },
          },
        ],
        { expectedRevision: 'no_stream' },
      );
      return reference;
    } catch (error) {
      if (!(error instanceof WrongExpectedVersion)) throw error;
      const { state: owner } = await loadState(deps.store, referenceStreamId(reference), referenceOwner);
      if (owner === bookingId) return reference;
    }
  }
  throw new Error('could not find a free booking reference in 8 attempts');
}

const holdExpiry = (now: string, holdMinutes: number) => new Date(Date.parse(now) + holdMinutes * 60_000).toISOString();

/**
 * A booking request. Availability is decided on the room's calendar stream alone (its blocks and its holds, one
 * expected revision), and the hold carries the booking's answer deadline as its expiry. The three claims (the
 * nights, the tenant's admission under the pending cap, the reference) run at once and share a group commit; the
 * booking is recorded only once all three hold. Whatever a crash or a failure leaves behind is safe to lose: the
 * hold frees itself at its expiry, an admission without a booking stops counting after IN_FLIGHT_MS, an unused
 * reference names no booking. Releasing them on failure is a courtesy that only frees things sooner.
 */
export async function requestBooking(
  deps: BookingDeps,
  input: Omit<RequestBooking['data'], 'room' | 'reference'> & { roomId: string },
  context: RequestBooking['context'],
  envelope: CommandEnvelope,
): Promise<CommandResult<BookingState, BookingEvent>> {
  // Every read at once (one round trip): the room, the booking itself in case this is a retry, the room's calendar,
  // and for the pending cap the tenant's request stream and the read model's pending bookings.
  const cap = deps.pendingCap;
  const [room, existing, calendar, tenantStream, fromReadModel] = await Promise.all([
    loadRoom(deps.store, input.roomId),
    loadBooking(deps.store, input.bookingId),
    readStreamState(deps.store, calendarStreamId(input.roomId), calendarDecider, deps.snapshots),
    cap ? readHistory(deps.store, tenantRequestsStreamId(context.actorId)) : [],
    cap ? cap.pendingBookingsOf(context.actorId, context.now) : [],
  ]);
  const { roomId: _roomId, ...stay } = input;
  const draft: RequestBooking = { type: 'RequestBooking', data: { ...stay, room, reference: 'RL-XXXXXX' }, context };
  bookingDecider.decide(draft, bookingDecider.initialState); // every rule before anything is claimed
  if (existing.state.status !== 'none') {
    // A retry of a request that went through (same Idempotency-Key): answer as the first time.
    return { events: [], state: existing.state, position: null, revision: existing.revision };
  }
  const plain = { ...envelope, idSeed: undefined };
  // The three claims at once (one group commit): the tenant's admission, the nights, the reference.
  const [admission, hold, reference] = await Promise.allSettled([
    cap ? admitRequest(deps, cap, input.bookingId, { fromReadModel, tenantStream }, context, plain) : Promise.resolve(),
    handleCommand(
      deps.store,
      calendarStreamId(room.roomId),
      calendarDecider,
      {
        type: 'HoldNights',
        data: {
          bookingId: input.bookingId,
          checkIn: input.checkIn,
          checkOut: input.checkOut,
          expiresAt: holdExpiry(context.now, input.holdMinutes),
          roomBlocked: room.blocked,
        },
        context,
      },
      plain,
      { maxRetries: deps.maxRetries ?? 20, firstRead: calendar, snapshots: deps.snapshots },
    ),
    claimReference(deps, input.bookingId, plain),
  ]);
  const undo = () =>
    Promise.all([
      hold.status === 'fulfilled' ? releaseNights(deps, room.roomId, input.bookingId, context, plain) : null,
      cap && admission.status === 'fulfilled' ? withdrawRequest(deps, input.bookingId, context, plain) : null,
    ]).catch(() => undefined);
  const failed = [admission, hold, reference].find((claim) => claim.status === 'rejected');
  if (failed) {
    await undo();
    throw failed.reason;
  }
  try {
    return await handleCommand(
      deps.store,
      bookingStreamId(input.bookingId),
      bookingDecider,
      { ...draft, data: { ...draft.data, reference: (reference as PromiseFulfilledResult<string>).value } },
      envelope,
      { maxRetries: deps.maxRetries ?? 5, assumeNew: true },
    );
  } catch (error) {
    // A concurrent retry of the same request may have recorded the booking: its nights stay.
    const after = await loadBooking(deps.store, input.bookingId).catch(() => null);
    if (after?.state.status === 'none') await undo();
    throw error;
  }
}

export async function loadBooking(
  store: EventStore,
  bookingId: string,
): Promise<{ state: BookingState; revision: bigint | null }> {
  return loadState(store, bookingStreamId(bookingId), bookingDecider);
}

async function releaseNights(
  deps: BookingStatusDeps,
  roomId: string,
  bookingId: string,
  context: RequestBooking['context'],
  envelope: CommandEnvelope,
): Promise<bigint | null> {
  const { position } = await handleCommand(
    deps.store,
    calendarStreamId(roomId),
    calendarDecider,
    { type: 'ReleaseNights', data: { bookingId }, context },
    envelope,
    { maxRetries: deps.maxRetries ?? 20, snapshots: deps.snapshots },
  );
  return position;
}

/** Statuses whose nights are free again. Releasing is idempotent, so a retry also repairs a release that failed. */
const RELEASED_STATUSES = new Set(['rejected', 'cancelled', 'expired']);

/**
 * A status change; rejection, cancellation and expiry give the nights back. A confirmation first makes the hold
 * last on the calendar (refused there once the hold expired), then records itself: a crash in between leaves a
 * pending booking whose own expiry releases the nights.
 */
export async function changeBookingStatus(
  deps: BookingStatusDeps,
  command: Exclude<BookingCommand, RequestBooking>,
  envelope: CommandEnvelope,
): Promise<CommandResult<BookingState, BookingEvent>> {
  const plain = { ...envelope, idSeed: undefined };
  if (command.type === 'ConfirmBooking') await confirmHold(deps, command, plain);
  const result = await handleCommand(
    deps.store,
    bookingStreamId(command.data.bookingId),
    bookingDecider,
    command,
    envelope,
    {
      maxRetries: deps.maxRetries ?? 5,
    },
  );
  if (RELEASED_STATUSES.has(result.state.status) && result.state.roomId) {
    const released = await releaseNights(deps, result.state.roomId, command.data.bookingId, command.context, plain);
    // The answer's position covers the release too: a read with X-Min-Position sees the nights free.
    if (released !== null && (result.position === null || released > result.position)) {
      return { ...result, position: released };
    }
  }
  return result;
}

/** Checks the confirmation against the booking (who, from which status), then confirms the hold on the calendar. */
async function confirmHold(
  deps: BookingStatusDeps,
  command: Extract<BookingCommand, { type: 'ConfirmBooking' }>,
  envelope: CommandEnvelope,
): Promise<void> {
  const { state } = await loadBooking(deps.store, command.data.bookingId);
  if (bookingDecider.decide(command, state).length === 0 || !state.roomId) return;
  await handleCommand(
    deps.store,
    calendarStreamId(state.roomId),
    calendarDecider,
    { type: 'ConfirmHold', data: { bookingId: command.data.bookingId }, context: command.context },
    envelope,
    { maxRetries: deps.maxRetries ?? 20, snapshots: deps.snapshots },
  );
}

/**
 * Frees the nights of holds that expired without their booking being confirmed: a hold's expiry already frees
 * its nights for the calendar's decisions; this records it, so the read models (search) show them free.
 * Idempotent: a calendar with no expired hold changes nothing. Returns the number of holds released.
 */
export async function releaseExpiredHolds(
  deps: BookingStatusDeps,
  roomId: string,
  context: RequestBooking['context'],
  envelope: CommandEnvelope,
): Promise<number> {
  const { events } = await handleCommand(
    deps.store,
    calendarStreamId(roomId),
    calendarDecider,
    { type: 'ReleaseExpiredHolds', data: {}, context },
    envelope,
    { maxRetries: deps.maxRetries ?? 20, snapshots: deps.snapshots },
  );
  return events.length;
}

/**
 * The sweep of holds that expired without a confirmed booking: candidates from the search projection's query
 * module (`roomsWithExpiredHoldsQuery`), each decided again on its calendar stream at `now`. Safe to run from
 * several workers at once and again after a crash. Returns the number of holds released.
 */
export async function releaseExpiredCalendarHolds(
  deps: BookingStatusDeps & { roomsWithExpiredHolds(now: Date, limit: number): Promise<string[]> },
  now: Date,
  envelopeAt: (now: string) => CommandEnvelope,
): Promise<number> {
  const at = now.toISOString();
  const context = { actorId: 'system', actorRole: 'system', now: at } as const;
  let released = 0;
  for (const roomId of await deps.roomsWithExpiredHolds(now, 500)) {
    released += await releaseExpiredHolds(deps, roomId, context, envelopeAt(at));
  }
  return released;
}
