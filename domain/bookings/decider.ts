import type { CommandContext, Decider } from '../shared/decider.js';
import { DomainError } from '../shared/errors.js';
import { dayNumber } from '../shared/values.js';
import type { BookingCommand } from './commands.js';
import { type BookingEvent, type BookingStatus, bookingSchemaVersions, type StayTerms } from './events.js';

export const BOOKING_LIMITS = { maxNights: 60, minHoldMinutes: 15, maxHoldMinutes: 7 * 24 * 60 } as const;

export interface BookingState extends Partial<StayTerms> {
  status: BookingStatus | 'none';
  bookingId?: string;
  reference?: string;
  holdExpiresAt?: string;
  confirmedAt?: string;
}

export const initialBookingState: BookingState = { status: 'none' };

const DAY_MS = 86_400_000;
const todayOf = (context: CommandContext) => Math.floor(Date.parse(context.now) / DAY_MS);

/**
 * Check-in as an instant: the start of the check-in day in UTC. Rooms carry no time zone yet, so
 * "24 hours before check-in" is counted from there.
 */
export const checkInInstant = (checkIn: string) => dayNumber(checkIn) * DAY_MS;

/**
 * The fee a cancellation leaves due, in minor units. Nothing is due before the landlord confirmed.
 * flexible: free until 24 h before check-in, then the first night; moderate: free until 5 days
 * before, then the first night; strict: half of the total once confirmed (rounded up).
 */
export function cancellationFee(state: BookingState, now: string): number {
  if (state.status !== 'confirmed') return 0;
  const msBefore = checkInInstant(state.checkIn!) - Date.parse(now);
  const firstNight = state.pricePerNight!;
  switch (state.cancellationPolicy) {
    case 'flexible':
      return msBefore >= DAY_MS ? 0 : firstNight;
    case 'moderate':
      return msBefore >= 5 * DAY_MS ? 0 : firstNight;
    case 'strict':
      return Math.ceil(state.totalAmount! / 2);
    default:
      return firstNight;
  }
}

/** Who may move a booking to a status (API.md). */
const TRANSITIONS = {
  ConfirmBooking: { to: 'confirmed', from: ['pending'], by: 'landlord' },
  RejectBooking: { to: 'rejected', from: ['pending'], by: 'landlord' },
  CancelBooking: { to: 'cancelled', from: ['pending', 'confirmed'], by: 'tenant' },
  ExpireBooking: { to: 'expired', from: ['pending'], by: 'system' },
  CheckInGuest: { to: 'checked_in', from: ['confirmed'], by: 'landlord' },
  MarkNoShow: { to: 'no_show', from: ['confirmed'], by: 'landlord' },
  CompleteBooking: { to: 'completed', from: ['checked_in'], by: 'system' },
} as const satisfies Record<
  Exclude<BookingCommand['type'], 'RequestBooking'>,
  { to: BookingStatus; from: BookingStatus[]; by: string }
>;

export type TransitionCommand = keyof typeof TRANSITIONS;
export const transitionTo = (command: TransitionCommand): BookingStatus => TRANSITIONS[command].to;

function assertActor(command: TransitionCommand, state: BookingState, context: CommandContext): void {
  const { by } = TRANSITIONS[command];
  const allowed =
    (by === 'landlord' && context.actorRole === 'landlord' && context.actorId === state.landlordId) ||
    (by === 'tenant' && context.actorRole === 'tenant' && context.actorId === state.tenantId) ||
    (by === 'system' && context.actorRole === 'system');
  if (!allowed) {
    throw new DomainError(
      'TRANSITION_NOT_ALLOWED',
      'forbidden',
      `only ${by === 'system' ? 'the system' : `the booking's ${by}`} may set a booking to ${TRANSITIONS[command].to}`,
    );
  }
}

function validateRequest(command: Extract<BookingCommand, { type: 'RequestBooking' }>): { nights: number } {
  const { room, checkIn, checkOut, guests, holdMinutes } = command.data;
  if (command.context.actorRole !== 'tenant')
    throw new DomainError('TENANTS_ONLY', 'forbidden', 'only tenants request bookings');
  if (room.status !== 'published')
    throw new DomainError('ROOM_NOT_BOOKABLE', 'illegal_state', 'this room is not open for booking');
  const from = dayNumber(checkIn);
  const to = dayNumber(checkOut);
  if (Number.isNaN(from) || Number.isNaN(to))
    throw new DomainError('INVALID_DATE', 'validation', 'checkIn and checkOut must be real dates');
  if (to <= from) throw new DomainError('INVALID_STAY', 'validation', 'checkOut must be after checkIn');
  if (from < todayOf(command.context))
    throw new DomainError('CHECK_IN_IN_PAST', 'validation', 'checkIn is in the past');
  const nights = to - from;
  if (nights > BOOKING_LIMITS.maxNights) {
    throw new DomainError('STAY_TOO_LONG', 'validation', `a booking covers at most ${BOOKING_LIMITS.maxNights} nights`);
  }
  if (!Number.isInteger(guests) || guests < 1 || guests > room.maxOccupants) {
    throw new DomainError('TOO_MANY_GUESTS', 'validation', `this room takes 1 to ${room.maxOccupants} guests`, {
      maxOccupants: room.maxOccupants,
    });
  }
  if (holdMinutes < BOOKING_LIMITS.minHoldMinutes || holdMinutes > BOOKING_LIMITS.maxHoldMinutes) {
    throw new RangeError(`holdMinutes must be ${BOOKING_LIMITS.minHoldMinutes} to ${BOOKING_LIMITS.maxHoldMinutes}`);
  }
  return { nights };
}

export function decide(command: BookingCommand, state: BookingState): BookingEvent[] {
  const { context } = command;
  if (command.type === 'RequestBooking') {
    if (state.status !== 'none') throw new DomainError('BOOKING_EXISTS', 'conflict', 'this booking already exists');
    const { nights } = validateRequest(command);
    const { room, bookingId, reference, checkIn, checkOut, guests, holdMinutes } = command.data;
    return [
      {
        type: 'BookingRequested',
        data: {
          bookingId,
          reference,
          roomId: room.roomId,
          tenantId: context.actorId,
          landlordId: room.landlordId,
          checkIn,
          checkOut,
          nights,
          guests,
          pricePerNight: room.pricePerNight,
          totalAmount: nights * room.pricePerNight,
          currency: room.currency,
          cancellationPolicy: room.cancellationPolicy,
          holdExpiresAt: new Date(Date.parse(context.now) + holdMinutes * 60_000).toISOString(),
          requestedAt: context.now,
        },
      },
    ];
  }

  if (state.status === 'none') throw new DomainError('BOOKING_NOT_FOUND', 'not_found', 'booking not found');
  const transition = TRANSITIONS[command.type];
  assertActor(command.type, state, context);
  if (state.status === transition.to) return []; // already there: a retry changes nothing
  if (!(transition.from as readonly string[]).includes(state.status)) {
    // Scheduled jobs sweep: a booking that moved on meanwhile is simply not theirs to change.
    if (transition.by === 'system') return [];
    throw new DomainError(
      'ILLEGAL_TRANSITION',
      'illegal_state',
      `a ${state.status} booking cannot become ${transition.to}`,
      {
        from: state.status,
        to: transition.to,
      },
    );
  }
  const bookingId = state.bookingId!;
  const nowMs = Date.parse(context.now);
  const today = todayOf(context);
  switch (command.type) {
    case 'ConfirmBooking':
      if (nowMs >= Date.parse(state.holdExpiresAt!)) {
        throw new DomainError(
          'HOLD_EXPIRED',
          'illegal_state',
          'the hold on these nights has expired; the tenant must request again',
        );
      }
      return [{ type: 'BookingConfirmed', data: { bookingId, by: context.actorId, confirmedAt: context.now } }];
    case 'RejectBooking':
      return [
        {
          type: 'BookingRejected',
          data: { bookingId, by: context.actorId, reason: command.data.reason ?? null, rejectedAt: context.now },
        },
      ];
    case 'CancelBooking':
      return [
        {
          type: 'BookingCancelled',
          data: {
            bookingId,
            by: context.actorId,
            reason: command.data.reason ?? null,
            feeDue: cancellationFee(state, context.now),
            currency: state.currency!,
            cancelledAt: context.now,
          },
        },
      ];
    case 'ExpireBooking':
      if (nowMs < Date.parse(state.holdExpiresAt!)) {
        throw new DomainError('HOLD_NOT_EXPIRED', 'illegal_state', 'the hold has not expired yet');
      }
      return [{ type: 'BookingExpired', data: { bookingId, expiredAt: context.now } }];
    case 'CheckInGuest':
      if (today < dayNumber(state.checkIn!) || today >= dayNumber(state.checkOut!)) {
        throw new DomainError(
          'NOT_DURING_STAY',
          'illegal_state',
          'check-in is recorded from the check-in date until check-out',
        );
      }
      return [{ type: 'GuestCheckedIn', data: { bookingId, by: context.actorId, checkedInAt: context.now } }];
    case 'MarkNoShow':
      if (today < dayNumber(state.checkIn!)) {
        throw new DomainError('BEFORE_CHECK_IN', 'illegal_state', 'a no-show is recorded from the check-in date on');
      }
      return [
        {
          type: 'BookingNoShow',
          data: { bookingId, by: context.actorId, reason: command.data.reason ?? null, recordedAt: context.now },
        },
      ];
    case 'CompleteBooking':
      if (today < dayNumber(state.checkOut!)) {
        throw new DomainError('BEFORE_CHECK_OUT', 'illegal_state', 'a stay completes after check-out');
      }
      return [{ type: 'BookingCompleted', data: { bookingId, completedAt: context.now } }];
    default: {
      const unhandled: never = command;
      throw new Error(`unknown command ${(unhandled as { type: string }).type}`);
    }
  }
}

export function evolve(state: BookingState, event: BookingEvent): BookingState {
  switch (event.type) {
    case 'BookingRequested': {
      const { requestedAt: _requestedAt, ...data } = event.data;
      return { ...state, ...data, status: 'pending' };
    }
    case 'BookingConfirmed':
      return { ...state, status: 'confirmed', confirmedAt: event.data.confirmedAt };
    case 'BookingRejected':
      return { ...state, status: 'rejected' };
    case 'BookingCancelled':
      return { ...state, status: 'cancelled' };
    case 'BookingExpired':
      return { ...state, status: 'expired' };
    case 'GuestCheckedIn':
      return { ...state, status: 'checked_in' };
    case 'BookingNoShow':
      return { ...state, status: 'no_show' };
    case 'BookingCompleted':
      return { ...state, status: 'completed' };
    default: {
      const unhandled: never = event;
      throw new Error(`unknown event ${(unhandled as { type: string }).type}`);
    }
  }
}

export const bookingDecider: Decider<BookingCommand, BookingEvent, BookingState> = {
  initialState: initialBookingState,
  decide,
  evolve,
  schemaVersions: bookingSchemaVersions,
};
