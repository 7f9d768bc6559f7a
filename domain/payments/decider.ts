import type { Decider } from '../shared/decider.js';
import { DomainError } from '../shared/errors.js';
import type { PaymentCommand } from './commands.js';
import { OVERDUE_AFTER_MS, type PaymentEvent, paymentSchemaVersions } from './events.js';

export type PaymentStatus = 'due' | 'overdue' | 'paid' | 'void';

export interface PaymentState {
  status: PaymentStatus | 'none';
  bookingId?: string;
  landlordId?: string;
  tenantId?: string;
  amountDue: number;
  amountPaid: number;
  currency?: string;
  dueAt?: string;
  overdue: boolean;
  /** Receipt ids already recorded: a retried POST with the same id records nothing new. */
  receipts: ReadonlySet<string>;
}

export const initialPaymentState: PaymentState = {
  status: 'none',
  amountDue: 0,
  amountPaid: 0,
  overdue: false,
  receipts: new Set(),
};

export const balanceDue = (state: Pick<PaymentState, 'amountDue' | 'amountPaid'>) =>
  Math.max(0, state.amountDue - state.amountPaid);

function statusOf(state: PaymentState): PaymentStatus {
  if (state.amountDue === 0 && state.amountPaid === 0) return 'void';
  if (balanceDue(state) === 0) return 'paid';
  return state.overdue ? 'overdue' : 'due';
}

function requireSystem(command: PaymentCommand): void {
  if (command.context.actorRole !== 'system') {
    throw new DomainError('SYSTEM_ONLY', 'forbidden', `${command.type} is done by the system only`);
  }
}

export function decide(command: PaymentCommand, state: PaymentState): PaymentEvent[] {
  const { context } = command;
  const bookingId = command.data.bookingId;
  if (command.type === 'OpenPaymentRecord') {
    requireSystem(command);
    if (state.status !== 'none') return []; // a replayed confirmation opens nothing new
    const { landlordId, tenantId, amountDue, currency, dueAt } = command.data;
    if (!Number.isInteger(amountDue) || amountDue <= 0) throw new RangeError('amountDue must be a positive integer');
    return [
      {
        type: 'PaymentRecordOpened',
        data: { bookingId, landlordId, tenantId, amountDue, currency, method: 'cash', dueAt, openedAt: context.now },
      },
    ];
  }
  if (state.status === 'none') {
    if (command.type === 'RecordCashPayment') {
      throw new DomainError(
        'NO_PAYMENT_DUE',
        'illegal_state',
        'nothing is owed on this booking yet: a payment record opens when the landlord confirms',
      );
    }
    return []; // system commands on a booking never confirmed: nothing to do
  }
  switch (command.type) {
    case 'RecordCashPayment': {
      if (context.actorRole !== 'landlord' || context.actorId !== state.landlordId) {
        throw new DomainError('PAYMENT_NOT_ALLOWED', 'forbidden', "only the room's landlord records cash received");
      }
      const { paymentId, amount } = command.data;
      if (state.receipts.has(paymentId)) return [];
      const balance = balanceDue(state);
      if (!Number.isInteger(amount) || amount <= 0) {
        throw new DomainError('INVALID_AMOUNT', 'validation', 'amount must be a positive whole number of minor units');
      }
      if (amount > balance) {
        throw new DomainError(
          'AMOUNT_EXCEEDS_BALANCE',
          'validation',
          balance === 0 ? 'nothing is left to pay on this booking' : `amount exceeds the balance due (${balance})`,
          { balanceDue: balance, currency: state.currency },
        );
      }
      return [
        {
          type: 'CashPaymentReceived',
          data: {
            bookingId,
            paymentId,
            amount,
            method: 'cash',
            recordedBy: context.actorId,
            paidAt: context.now,
            balanceDue: balance - amount,
          },
        },
      ];
    }
    case 'MarkPaymentOverdue': {
      requireSystem(command);
      const balance = balanceDue(state);
      if (state.overdue || balance === 0) return [];
      if (Date.parse(context.now) < Date.parse(state.dueAt!) + OVERDUE_AFTER_MS) {
        throw new DomainError('NOT_OVERDUE', 'illegal_state', 'the payment is not a day past due yet');
      }
      return [
        {
          type: 'PaymentOverdue',
          data: { bookingId, balanceDue: balance, dueAt: state.dueAt!, detectedAt: context.now },
        },
      ];
    }
    case 'AdjustForCancellation': {
      requireSystem(command);
      const { feeDue } = command.data;
      if (!Number.isInteger(feeDue) || feeDue < 0) throw new RangeError('feeDue must be a non-negative integer');
      if (state.amountDue === feeDue) return [];
      return [
        {
          type: 'PaymentAmountAdjusted',
          data: {
            bookingId,
            amountDue: feeDue,
            reason: 'booking_cancelled',
            balanceDue: Math.max(0, feeDue - state.amountPaid),
            refundDue: Math.max(0, state.amountPaid - feeDue),
            adjustedAt: context.now,
          },
        },
      ];
    }
    default: {
      const unhandled: never = command;
      throw new Error(`unknown command ${(unhandled as { type: string }).type}`);
    }
  }
}

export function evolve(state: PaymentState, event: PaymentEvent): PaymentState {
  let next: PaymentState;
  switch (event.type) {
    case 'PaymentRecordOpened': {
      const { bookingId, landlordId, tenantId, amountDue, currency, dueAt } = event.data;
      next = { ...state, bookingId, landlordId, tenantId, amountDue, currency, dueAt };
      break;
    }
    case 'CashPaymentReceived':
      next = {
        ...state,
        amountPaid: state.amountPaid + event.data.amount,
        receipts: new Set([...state.receipts, event.data.paymentId]),
      };
      break;
    case 'PaymentOverdue':
      next = { ...state, overdue: true };
      break;
    case 'PaymentAmountAdjusted':
      next = { ...state, amountDue: event.data.amountDue };
      break;
    default: {
      const unhandled: never = event;
      throw new Error(`unknown event ${(unhandled as { type: string }).type}`);
    }
  }
  return { ...next, status: statusOf(next) };
}

export const paymentDecider: Decider<PaymentCommand, PaymentEvent, PaymentState> = {
  initialState: initialPaymentState,
  decide,
  evolve,
  schemaVersions: paymentSchemaVersions,
};
