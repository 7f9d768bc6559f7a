import type { CancellationPolicy } from '../rooms/events.js';
import type { CommandContext } from '../shared/decider.js';

/** What the booking needs to know of the room at request time (read from the room's stream). */
export interface RoomSnapshot {
  roomId: string;
  status: 'none' | 'draft' | 'published' | 'unpublished';
  landlordId: string;
  pricePerNight: number;
  currency: string;
  maxOccupants: number;
  cancellationPolicy: CancellationPolicy;
}

export type RequestBooking = {
  type: 'RequestBooking';
  data: {
    bookingId: string;
    reference: string;
    room: RoomSnapshot;
    checkIn: string;
    checkOut: string;
    guests: number;
    /** How long the landlord has to answer. */
    holdMinutes: number;
  };
  context: CommandContext;
};

type Transition<T extends string, Extra = object> = {
  type: T;
  data: { bookingId: string } & Extra;
  context: CommandContext;
};

export type ConfirmBooking = Transition<'ConfirmBooking'>;
export type RejectBooking = Transition<'RejectBooking', { reason?: string | null }>;
export type CancelBooking = Transition<'CancelBooking', { reason?: string | null }>;
export type ExpireBooking = Transition<'ExpireBooking'>;
export type CheckInGuest = Transition<'CheckInGuest'>;
export type MarkNoShow = Transition<'MarkNoShow', { reason?: string | null }>;
export type CompleteBooking = Transition<'CompleteBooking'>;

export type BookingCommand =
  | RequestBooking
  | ConfirmBooking
  | RejectBooking
  | CancelBooking
  | ExpireBooking
  | CheckInGuest
  | MarkNoShow
  | CompleteBooking;
