import { calendarDecider, calendarStreamId, isBlocked, nightsOf } from '../domain/bookings/calendar.js';
import type { BookingCommand, RequestBooking, RoomSnapshot } from '../domain/bookings/commands.js';
import { type BookingState, bookingDecider } from '../domain/bookings/decider.js';
import { type BookingEvent, bookingStreamId } from '../domain/bookings/events.js';
import { referenceStreamId } from '../domain/bookings/reference.js';
import {
  recentAdmissions,
  type TenantRequestsEvent,
  tenantRequestsDecider,
  tenantRequestsStreamId,
} from '../domain/bookings/tenantRequests.js';
import { roomDecider } from '../domain/rooms/decider.js';
import { type RoomEvent, roomStreamId } from '../domain/rooms/events.js';
import { fold } from '../domain/shared/decider.js';
import { DomainError } from '../domain/shared/errors.js';
import type { DateRange } from '../domain/shared/values.js';
import { type EventStore, WrongExpectedVersion } from '../infra/eventStore/eventStore.js';
import { type CommandEnvelope, type CommandResult, handleCommand } from './handleCommand.js';
import { loadState } from './loadState.js';

/** What a status change needs (no references: only requests make them). */
export type BookingStatusDeps = Pick<BookingDeps, 'store' | 'maxRetries'>;

export interface BookingDeps {
  store: EventStore;
  maxRetries?: number;
  /** A fresh reference candidate (`RL-XXXXXX`); uniqueness is reserved here, on the write side. Only requests use it. */
  newReference(): string;
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
 * the one that loses the race decides again and counts the winner as on its way.
 */
async function admitRequest(
  deps: BookingDeps,
  cap: NonNullable<BookingDeps['pendingCap']>,
  bookingId: string,
  context: RequestBooking['context'],
  envelope: CommandEnvelope,
): Promise<void> {
  const tenantId = context.actorId;
  const streamId = tenantRequestsStreamId(tenantId);
  const [fromReadModel, gate] = await Promise.all([
    cap.pendingBookingsOf(tenantId, context.now),
    loadState(deps.store, streamId, tenantRequestsDecider),
  ]);
  const candidates = new Set([...fromReadModel, ...recentAdmissions(gate.state, context.now)]);
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
    { maxRetries: deps.maxRetries ?? 20 },
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

/** Claims a reference no other booking has: a stream per reference, appended with no_stream. */
async function reserveReference(deps: BookingDeps, bookingId: string, envelope: CommandEnvelope): Promise<string> {
  for (let attempt = 0; attempt < 8; attempt++) {
    const reference = deps.newReference();
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
    }
  }
  throw new Error('could not find a free booking reference in 8 attempts');
}

/**
 * A booking request: validates against the room, claims a unique reference, holds every night on
 * the room's calendar stream (all or none), then records the booking. If recording fails, the
 * nights are released again.
 */
export async function requestBooking(
  deps: BookingDeps,
  input: Omit<RequestBooking['data'], 'room' | 'reference'> & { roomId: string },
  context: RequestBooking['context'],
  envelope: CommandEnvelope,
): Promise<CommandResult<BookingState, BookingEvent>> {
  // Both reads at once: the room, and the booking itself in case this is a retry.
  const [room, existing] = await Promise.all([
    loadRoom(deps.store, input.roomId),
    loadBooking(deps.store, input.bookingId),
  ]);
  const { roomId: _roomId, ...stay } = input;
  const draft: RequestBooking = { type: 'RequestBooking', data: { ...stay, room, reference: 'RL-XXXXXX' }, context };
  bookingDecider.decide(draft, bookingDecider.initialState); // every rule before anything is claimed
  if (existing.state.status !== 'none') {
    // A retry of a request that went through (same Idempotency-Key): answer as the first time.
    return { events: [], state: existing.state, position: null, revision: existing.revision };
  }
  const plain = { ...envelope, idSeed: undefined };
  if (deps.pendingCap) await admitRequest(deps, deps.pendingCap, input.bookingId, context, plain);
  try {
    return await holdAndRecord(deps, input, draft, room, context, envelope, plain);
  } catch (error) {
    // No booking came of it: the request no longer takes a place under the cap.
    if (deps.pendingCap) await withdrawRequest(deps, input.bookingId, context, plain).catch(() => undefined);
    throw error;
  }
}

async function holdAndRecord(
  deps: BookingDeps,
  input: Omit<RequestBooking['data'], 'room' | 'reference'> & { roomId: string },
  draft: RequestBooking,
  room: RoomSnapshot & { blocked: DateRange[] },
  context: RequestBooking['context'],
  envelope: CommandEnvelope,
  plain: CommandEnvelope,
): Promise<CommandResult<BookingState, BookingEvent>> {
  // The reference and the nights are claimed at once (they share a group commit). A reference claimed for a
  // request that then finds its nights taken stays unused: harmless, it names no booking that exists.
  const [referenceClaim, holdClaim] = await Promise.allSettled([
    reserveReference(deps, input.bookingId, plain),
    handleCommand(
      deps.store,
      calendarStreamId(room.roomId),
      calendarDecider,
      {
        type: 'HoldNights',
        data: { bookingId: input.bookingId, checkIn: input.checkIn, checkOut: input.checkOut, blocked: room.blocked },
        context,
      },
      plain,
      { maxRetries: deps.maxRetries ?? 20 },
    ),
  ]);
  if (holdClaim.status === 'rejected') throw holdClaim.reason;
  if (referenceClaim.status === 'rejected') {
    await releaseNights(deps, room.roomId, input.bookingId, context, plain).catch(() => undefined);
    throw referenceClaim.reason;
  }
  const reference = referenceClaim.value;
  try {
    await refuseNightsBlockedMeanwhile(deps.store, room.roomId, input.checkIn, input.checkOut);
    return await handleCommand(
      deps.store,
      bookingStreamId(input.bookingId),
      bookingDecider,
      { ...draft, data: { ...draft.data, reference } },
      envelope,
      { maxRetries: deps.maxRetries ?? 5, assumeNew: true },
    );
  } catch (error) {
    await releaseNights(deps, room.roomId, input.bookingId, context, plain).catch(() => undefined);
    throw error;
  }
}

/**
 * Blocked dates live on the room's stream, holds on the calendar stream. The hold above was checked against
 * the blocks read before it; a block the landlord added in between would slip through, so the room is read
 * again once the nights are held. A block visible now refuses the booking (and the nights are released); a
 * block committed after this read came after the hold, like a block over a booking already made.
 */
async function refuseNightsBlockedMeanwhile(
  store: EventStore,
  roomId: string,
  checkIn: string,
  checkOut: string,
): Promise<void> {
  const { blocked } = await loadRoom(store, roomId);
  const nights = nightsOf(checkIn, checkOut).filter((night) => isBlocked(night, blocked));
  if (nights.length > 0) {
    throw new DomainError('ROOM_UNAVAILABLE', 'conflict', `the room is not free on ${nights.join(', ')}`, { nights });
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
    {
      maxRetries: deps.maxRetries ?? 20,
    },
  );
  return position;
}

/** Statuses whose nights are free again. Releasing is idempotent, so a retry also repairs a release that failed. */
const RELEASED_STATUSES = new Set(['rejected', 'cancelled', 'expired']);

/** A status change; rejection, cancellation and expiry give the nights back. */
export async function changeBookingStatus(
  deps: BookingStatusDeps,
  command: Exclude<BookingCommand, RequestBooking>,
  envelope: CommandEnvelope,
): Promise<CommandResult<BookingState, BookingEvent>> {
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
    const released = await releaseNights(deps, result.state.roomId, command.data.bookingId, command.context, {
      ...envelope,
      idSeed: undefined,
    });
    // The answer's position covers the release too: a read with X-Min-Position sees the nights free.
    if (released !== null && (result.position === null || released > result.position)) {
      return { ...result, position: released };
    }
  }
  return result;
}
