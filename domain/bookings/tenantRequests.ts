import type { CommandContext, Decider, DomainEvent } from '../shared/decider.js';
import { DomainError } from '../shared/errors.js';

/**
 * A tenant's booking requests as one stream (`TenantBookingRequests-<tenantId>`), the consistency
 * boundary of the pending-bookings cap: every request is admitted here with an expected revision before
 * it holds nights, so two concurrent requests of one tenant are decided one after the other, and the
 * second sees the first although its booking is not recorded (nor projected) yet.
 */
export type BookingRequestAdmitted = DomainEvent<'BookingRequestAdmitted', { bookingId: string; admittedAt: string }>;
/** The admitted request failed (nights taken, room gone) and made no booking. */
export type BookingRequestWithdrawn = DomainEvent<
  'BookingRequestWithdrawn',
  { bookingId: string; withdrawnAt: string }
>;
export type TenantRequestsEvent = BookingRequestAdmitted | BookingRequestWithdrawn;

export type TenantRequestsCommand =
  | {
      type: 'AdmitBookingRequest';
      data: {
        bookingId: string;
        /** Config MAX_PENDING_BOOKINGS_PER_TENANT. */
        max: number;
        /** The tenant's bookings pending now (hold not expired), as the write side found them. */
        pendingBookingIds: readonly string[];
        /** Admitted requests whose booking was found recorded, in whatever status. */
        recordedBookingIds: readonly string[];
      };
      context: CommandContext;
    }
  | { type: 'WithdrawBookingRequest'; data: { bookingId: string }; context: CommandContext };

export interface TenantRequestsState {
  admissions: ReadonlyMap<string, { admittedAt: string; withdrawn: boolean }>;
}

/** How long an admitted request may take to record its booking; a request older than this without one died. */
export const IN_FLIGHT_MS = 60_000;

export const tenantRequestsStreamId = (tenantId: string) => `TenantBookingRequests-${tenantId}`;

/** Requests admitted recently enough to be still on their way (or just recorded): their bookings may count. */
export function recentAdmissions(state: TenantRequestsState, now: string): string[] {
  const since = Date.parse(now) - IN_FLIGHT_MS;
  return [...state.admissions]
    .filter(([, admission]) => !admission.withdrawn && Date.parse(admission.admittedAt) > since)
    .map(([bookingId]) => bookingId);
}

export const tenantRequestsDecider: Decider<TenantRequestsCommand, TenantRequestsEvent, TenantRequestsState> = {
  initialState: { admissions: new Map() },
  schemaVersions: { BookingRequestAdmitted: 1, BookingRequestWithdrawn: 1 },

  decide(command, state) {
    const { context } = command;
    switch (command.type) {
      case 'AdmitBookingRequest': {
        const { bookingId, max, pendingBookingIds, recordedBookingIds } = command.data;
        const known = state.admissions.get(bookingId);
        if (known && !known.withdrawn) return [];
        const recorded = new Set(recordedBookingIds);
        const inFlight = recentAdmissions(state, context.now).filter((id) => !recorded.has(id));
        const pending = new Set([...pendingBookingIds, ...inFlight]);
        pending.delete(bookingId);
        if (pending.size >= max) {
          throw new DomainError(
            'TOO_MANY_PENDING_BOOKINGS',
            'illegal_state',
            `at most ${max} bookings may wait for an answer at once; cancel one or wait for the landlords`,
            { pending: pending.size, max },
          );
        }
        return [{ type: 'BookingRequestAdmitted', data: { bookingId, admittedAt: context.now } }];
      }
      case 'WithdrawBookingRequest': {
        const known = state.admissions.get(command.data.bookingId);
        if (!known || known.withdrawn) return [];
        return [
          { type: 'BookingRequestWithdrawn', data: { bookingId: command.data.bookingId, withdrawnAt: context.now } },
        ];
      }
      default: {
        const unhandled: never = command;
        throw new Error(`unknown command ${(unhandled as { type: string }).type}`);
      }
    }
  },

  evolve(state, event) {
    const admissions = new Map(state.admissions);
    switch (event.type) {
      case 'BookingRequestAdmitted':
        admissions.set(event.data.bookingId, { admittedAt: event.data.admittedAt, withdrawn: false });
        break;
      case 'BookingRequestWithdrawn': {
        const known = admissions.get(event.data.bookingId);
        if (known) admissions.set(event.data.bookingId, { ...known, withdrawn: true });
        break;
      }
      default: {
        const unhandled: never = event;
        throw new Error(`unknown event ${(unhandled as { type: string }).type}`);
      }
    }
    return { admissions };
  },
};
