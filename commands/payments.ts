import { checkInInstant } from '../domain/bookings/decider.js';
import type { PaymentCommand } from '../domain/payments/commands.js';
import { type PaymentState, paymentDecider } from '../domain/payments/decider.js';
import { type CashPaymentReceived, type PaymentEvent, paymentStreamId } from '../domain/payments/events.js';
import type { CommandContext } from '../domain/shared/decider.js';
import { DomainError } from '../domain/shared/errors.js';
import type { EventStore } from '../infra/eventStore/eventStore.js';
import { loadBooking } from './bookings.js';
import { type CommandEnvelope, type CommandResult, handleCommand } from './handleCommand.js';

export interface PaymentDeps {
  store: EventStore;
  maxRetries?: number;
}

export function handlePaymentCommand(
  deps: PaymentDeps,
  command: PaymentCommand,
  envelope: CommandEnvelope,
): Promise<CommandResult<PaymentState, PaymentEvent>> {
  return handleCommand(deps.store, paymentStreamId(command.data.bookingId), paymentDecider, command, envelope, {
    maxRetries: deps.maxRetries ?? 5,
  });
}

/**
 * Cash received by the landlord. The booking must exist (404 otherwise, as for reading it); the payment
 * decider checks that the caller is its landlord and that the amount fits the balance.
 */
export async function recordCashPayment(
  deps: PaymentDeps,
  /** `paymentId` names the receipt: derived from the Idempotency-Key, a retried POST names the same one. */
  input: { bookingId: string; paymentId: string; amount: number },
  context: CommandContext,
  envelope: CommandEnvelope,
): Promise<CommandResult<PaymentState, PaymentEvent> & { receipt: CashPaymentReceived['data'] }> {
  const booking = await loadBooking(deps.store, input.bookingId);
  if (booking.state.status === 'none') throw new DomainError('BOOKING_NOT_FOUND', 'not_found', 'booking not found');
  const result = await handlePaymentCommand(deps, { type: 'RecordCashPayment', data: input, context }, envelope);
  const isReceipt = (event: { type: string; data: unknown }): event is CashPaymentReceived =>
    event.type === 'CashPaymentReceived' && (event.data as { paymentId: string }).paymentId === input.paymentId;
  let receipt = result.events.find(isReceipt);
  // A retry of a payment already recorded appends nothing: answer with the receipt as first recorded.
  if (!receipt) {
    for await (const event of deps.store.readStream(paymentStreamId(input.bookingId))) {
      if (isReceipt(event)) receipt = event;
    }
  }
  if (!receipt) throw new Error(`payment ${input.paymentId} neither recorded nor found`);
  return { ...result, receipt: receipt.data };
}

/** What the process manager opens on confirmation: the full amount, due at check-in, in cash. */
export async function openPaymentRecord(
  deps: PaymentDeps,
  bookingId: string,
  envelope: CommandEnvelope,
): Promise<CommandResult<PaymentState, PaymentEvent> | null> {
  const { state: booking } = await loadBooking(deps.store, bookingId);
  if (booking.status === 'none') return null;
  return handlePaymentCommand(
    deps,
    {
      type: 'OpenPaymentRecord',
      data: {
        bookingId,
        landlordId: booking.landlordId!,
        tenantId: booking.tenantId!,
        amountDue: booking.totalAmount!,
        currency: booking.currency!,
        dueAt: new Date(checkInInstant(booking.checkIn!)).toISOString(),
      },
      context: { actorId: 'system', actorRole: 'system', now: envelope.now },
    },
    envelope,
  );
}
