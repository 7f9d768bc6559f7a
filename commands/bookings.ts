import { calendarDecider, calendarStreamId, isBlocked, nightsOf } from '../domain/bookings/calendar.js';
import type { BookingCommand, RequestBooking, RoomSnapshot } from '../domain/bookings/commands.js';
import { type BookingState, bookingDecider } from '../domain/bookings/decider.js';
import { type BookingEvent, BookingEventTypes, bookingStreamId } from '../domain/bookings/events.js';
import { referenceStreamId } from '../domain/bookings/reference.js';
import { roomDecider } from '../domain/rooms/decider.js';
import { type RoomEvent, roomStreamId } from '../domain/rooms/events.js';
import { fold } from '../domain/shared/decider.js';
import { DomainError } from '../domain/shared/errors.js';
import type { DateRange } from '../domain/shared/values.js';
import { type EventStore, WrongExpectedVersion } from '../infra/eventStore/eventStore.js';
import { type CommandEnvelope, type CommandResult, handleCommand } from './handleCommand.js';

/** What a status change needs (no references: only requests make them). */
export type BookingStatusDeps = Pick<BookingDeps, 'store' | 'maxRetries'>;

export interface BookingDeps {
  store: EventStore;
  maxRetries?: number;
  /** A fresh reference candidate (`RL-XXXXXX`); uniqueness is reserved here, on the write side. Only requests use it. */
  newReference(): string;
  /**
   * The pending-bookings cap: the most pending bookings a tenant may have, and the bookings read model's
   * view of them (through its query module). Both absent: no cap.
   */
  pendingCap?: {
    max: number;
    pendingBookingsOf(tenantId: string, at: string): Promise<{ bookingIds: string[]; asOfPosition: bigint }>;
  };
}

/**
 * The tenant's pending bookings, this one not counted (so a retry of a request that went through is not
 * refused). The read model may lag behind the store: the booking events after its checkpoint are read
 * from the store and applied on top, so requests made a moment ago count, and answers given a moment ago
 * free their place.
 */
async function pendingBookings(
  deps: BookingDeps,
  cap: NonNullable<BookingDeps['pendingCap']>,
  tenantId: string,
  bookingId: string,
  now: string,
): Promise<number> {
  const seen = await cap.pendingBookingsOf(tenantId, now);
  const pending = new Set(seen.bookingIds);
  const recent = deps.store.readAll({
    fromPosition: seen.asOfPosition,
    filter: { eventTypes: BookingEventTypes, streamPrefixes: ['Booking-'] },
  });
  for await (const event of recent) {
    const data = event.data as { bookingId: string; tenantId?: string; holdExpiresAt?: string };
    if (event.type !== 'BookingRequested') pending.delete(data.bookingId);
    else if (data.tenantId === tenantId && Date.parse(data.holdExpiresAt!) > Date.parse(now))
      pending.add(data.bookingId);
  }
  pending.delete(bookingId);
  return pending.size;
}

async function loadRoom(store: EventStore, roomId: string): Promise<RoomSnapshot & { blocked: DateRange[] }> {
  const events: RoomEvent[] = [];
  for await (const event of store.readStream(roomStreamId(roomId)))
    events.push({ type: event.type, data: event.data } as RoomEvent);
  const room = fold(roomDecider, events);
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
  const cap = deps.pendingCap;
  const [room, existing, pending] = await Promise.all([
    loadRoom(deps.store, input.roomId),
    loadBooking(deps.store, input.bookingId),
    cap ? pendingBookings(deps, cap, context.actorId, input.bookingId, context.now) : undefined,
  ]);
  const { roomId: _roomId, ...stay } = input;
  const pendingLimit = cap && pending !== undefined ? { pending, max: cap.max } : undefined;
  const draft: RequestBooking = {
    type: 'RequestBooking',
    data: { ...stay, room, reference: 'RL-XXXXXX', ...(pendingLimit ? { pendingLimit } : {}) },
    context,
  };
  bookingDecider.decide(draft, bookingDecider.initialState); // every rule before anything is claimed
  if (existing.state.status !== 'none') {
    // A retry of a request that went through (same Idempotency-Key): answer as the first time.
    return { events: [], state: existing.state, position: null, revision: existing.revision };
  }
  const plain = { ...envelope, idSeed: undefined };
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
  const events: BookingEvent[] = [];
  let revision: bigint | null = null;
  for await (const event of store.readStream(bookingStreamId(bookingId))) {
    events.push({ type: event.type, data: event.data } as BookingEvent);
    revision = event.revision;
  }
  return { state: fold(bookingDecider, events), revision };
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
