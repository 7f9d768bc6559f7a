import type { CancellationPolicy } from '../rooms/events.js';
import type { DomainEvent } from '../shared/decider.js';

export const BookingStatuses = [
  'pending',
  'confirmed',
  'rejected',
  'cancelled',
  'expired',
  'checked_in',
  'no_show',
  'completed',
] as const;
export type BookingStatus = (typeof BookingStatuses)[number];

export interface StayTerms {
  roomId: string;
  tenantId: string;
  landlordId: string;
  checkIn: string;
  checkOut: string;
  nights: number;
  guests: number;
  pricePerNight: number;
  totalAmount: number;
  currency: string;
  cancellationPolicy: CancellationPolicy;
}

export type BookingRequested = DomainEvent<
  'BookingRequested',
  StayTerms & { bookingId: string; reference: string; holdExpiresAt: string; requestedAt: string }
>;
export type BookingConfirmed = DomainEvent<'BookingConfirmed', { bookingId: string; by: string; confirmedAt: string }>;
export type BookingRejected = DomainEvent<
  'BookingRejected',
  { bookingId: string; by: string; reason: string | null; rejectedAt: string }
>;
export type BookingCancelled = DomainEvent<
  'BookingCancelled',
  { bookingId: string; by: string; reason: string | null; feeDue: number; currency: string; cancelledAt: string }
>;
export type BookingExpired = DomainEvent<'BookingExpired', { bookingId: string; expiredAt: string }>;
export type GuestCheckedIn = DomainEvent<'GuestCheckedIn', { bookingId: string; by: string; checkedInAt: string }>;
/**
 * Version 2 added `reason`; version 1 events read with `reason: null` through `bookingUpcasters`, and
 * it stays optional for code that builds version 1 events.
 */
export type BookingNoShow = DomainEvent<
  'BookingNoShow',
  { bookingId: string; by: string; reason?: string | null; recordedAt: string }
>;
export type BookingCompleted = DomainEvent<'BookingCompleted', { bookingId: string; completedAt: string }>;

export type BookingEvent =
  | BookingRequested
  | BookingConfirmed
  | BookingRejected
  | BookingCancelled
  | BookingExpired
  | GuestCheckedIn
  | BookingNoShow
  | BookingCompleted;

/** The status a booking has after each event that changes it (BookingRequested opens it pending). */
export const BookingStatusAfter = {
  BookingRequested: 'pending',
  BookingConfirmed: 'confirmed',
  BookingRejected: 'rejected',
  BookingCancelled: 'cancelled',
  BookingExpired: 'expired',
  GuestCheckedIn: 'checked_in',
  BookingNoShow: 'no_show',
  BookingCompleted: 'completed',
} as const satisfies Record<BookingEvent['type'], string>;

export const BookingEventTypes = [
  'BookingRequested',
  'BookingConfirmed',
  'BookingRejected',
  'BookingCancelled',
  'BookingExpired',
  'GuestCheckedIn',
  'BookingNoShow',
  'BookingCompleted',
] as const satisfies readonly BookingEvent['type'][];

/**
 * Version 2 of BookingRejected and BookingCancelled seals `reason` (version 1 holds it in plaintext);
 * version 2 of BookingNoShow brought the reason (sealed from the start).
 */
export const bookingSchemaVersions = {
  BookingRequested: 1,
  BookingConfirmed: 1,
  BookingRejected: 2,
  BookingCancelled: 2,
  BookingExpired: 1,
  GuestCheckedIn: 1,
  BookingNoShow: 2,
  BookingCompleted: 1,
} as const satisfies Record<BookingEvent['type'], number>;

/**
 * A reason is free text, personal data of whoever wrote it: sealed with the key of the acting person
 * (`by`), so erasing them erases what they wrote on every booking (see infra/crypto).
 */
export const bookingPersonalDataPolicy = {
  BookingRejected: {
    subject: (data: { by: string }) => data.by,
    fields: ['reason'],
    sealedFrom: { reason: 2 },
  },
  BookingCancelled: {
    subject: (data: { by: string }) => data.by,
    fields: ['reason'],
    sealedFrom: { reason: 2 },
  },
  BookingNoShow: { subject: (data: { by: string }) => data.by, fields: ['reason'] },
} as const;

export const bookingStreamId = (bookingId: string) => `Booking-${bookingId}`;
