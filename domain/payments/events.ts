import type { DomainEvent } from '../shared/decider.js';

/**
 * A booking's cash payment record, one stream per booking (`Payment-<bookingId>`). It opens when the
 * landlord confirms (the full amount, due at check-in, in cash); the landlord records the cash received,
 * possibly in parts; one day past due with a balance left it is marked overdue; a cancellation sets what
 * is still owed to the cancellation fee.
 */
export type PaymentRecordOpened = DomainEvent<
  'PaymentRecordOpened',
  {
    bookingId: string;
    landlordId: string;
    tenantId: string;
    amountDue: number;
    currency: string;
    method: 'cash';
    /** The check-in instant (00:00 UTC of the check-in day). */
    dueAt: string;
    openedAt: string;
  }
>;
export type CashPaymentReceived = DomainEvent<
  'CashPaymentReceived',
  {
    bookingId: string;
    /** The id of this receipt (`POST /api/bookings/{id}/payments` answers with it). */
    paymentId: string;
    amount: number;
    method: 'cash';
    recordedBy: string;
    paidAt: string;
    /** What is still owed after this payment. */
    balanceDue: number;
  }
>;
export type PaymentOverdue = DomainEvent<
  'PaymentOverdue',
  { bookingId: string; balanceDue: number; dueAt: string; detectedAt: string }
>;
export type PaymentAmountAdjusted = DomainEvent<
  'PaymentAmountAdjusted',
  {
    bookingId: string;
    amountDue: number;
    reason: 'booking_cancelled';
    balanceDue: number;
    /** Cash received beyond the new amount: the landlord owes it back. */
    refundDue: number;
    adjustedAt: string;
  }
>;

export type PaymentEvent = PaymentRecordOpened | CashPaymentReceived | PaymentOverdue | PaymentAmountAdjusted;

export const PaymentEventTypes = [
  'PaymentRecordOpened',
  'CashPaymentReceived',
  'PaymentOverdue',
  'PaymentAmountAdjusted',
] as const satisfies readonly PaymentEvent['type'][];

export const paymentSchemaVersions = {
  PaymentRecordOpened: 1,
  CashPaymentReceived: 1,
  PaymentOverdue: 1,
  PaymentAmountAdjusted: 1,
} as const satisfies Record<PaymentEvent['type'], number>;

export const paymentStreamId = (bookingId: string) => `Payment-${bookingId}`;

/** One day past the due instant, an unpaid balance is overdue. */
export const OVERDUE_AFTER_MS = 24 * 60 * 60 * 1000;
