import type { CommandContext } from '../shared/decider.js';

type PaymentCommandOf<T extends string, Data> = {
  type: T;
  data: { bookingId: string } & Data;
  context: CommandContext;
};

/** Opened by the booking process manager when the booking is confirmed (system only). */
export type OpenPaymentRecord = PaymentCommandOf<
  'OpenPaymentRecord',
  { landlordId: string; tenantId: string; amountDue: number; currency: string; dueAt: string }
>;
/** The landlord records cash received; `paymentId` names the receipt (stable across retries). */
export type RecordCashPayment = PaymentCommandOf<'RecordCashPayment', { paymentId: string; amount: number }>;
/** Scheduled one day after the due instant, and swept (system only). */
export type MarkPaymentOverdue = PaymentCommandOf<'MarkPaymentOverdue', object>;
/** The booking was cancelled: what is owed becomes the cancellation fee (system only). */
export type AdjustForCancellation = PaymentCommandOf<'AdjustForCancellation', { feeDue: number }>;

export type PaymentCommand = OpenPaymentRecord | RecordCashPayment | MarkPaymentOverdue | AdjustForCancellation;
