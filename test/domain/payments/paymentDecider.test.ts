import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { PaymentCommand } from '../../../domain/payments/commands.js';
import { balanceDue, paymentDecider } from '../../../domain/payments/decider.js';
import type { PaymentEvent } from '../../../domain/payments/events.js';
import { type CommandContext, fold } from '../../../domain/shared/decider.js';
import { deciderSpec } from '../../support/deciderSpec.js';

const spec = deciderSpec(paymentDecider);
const bookingId = randomUUID();
const landlordId = randomUUID();
const tenantId = randomUUID();
const system = (now = '2027-01-05T00:00:00.000Z') => ({ actorId: 'system', actorRole: 'system' as const, now });
const landlord = (now = '2027-02-10T18:00:00.000Z') => ({ actorId: landlordId, actorRole: 'landlord' as const, now });

const opened: PaymentEvent = {
  type: 'PaymentRecordOpened',
  data: {
    bookingId,
    landlordId,
    tenantId,
    amountDue: 13_500,
    currency: 'EUR',
    method: 'cash',
    dueAt: '2027-02-10T00:00:00.000Z',
    openedAt: '2027-01-05T00:00:00.000Z',
  },
};
const received = (paymentId: string, amount: number, balance: number): PaymentEvent => ({
  type: 'CashPaymentReceived',
  data: {
    bookingId,
    paymentId,
    amount,
    method: 'cash',
    recordedBy: landlordId,
    paidAt: '2027-02-10T18:00:00.000Z',
    balanceDue: balance,
  },
});
const pay = (amount: number, paymentId = randomUUID(), context: CommandContext = landlord()): PaymentCommand => ({
  type: 'RecordCashPayment',
  data: { bookingId, paymentId, amount },
  context,
});

describe('OpenPaymentRecord', () => {
  const open: PaymentCommand = {
    type: 'OpenPaymentRecord',
    data: { bookingId, landlordId, tenantId, amountDue: 13_500, currency: 'EUR', dueAt: '2027-02-10T00:00:00.000Z' },
    context: system(),
  };
  it('opens the full amount, due at check-in, in cash', () => {
    spec.given([]).when(open).then([opened]);
  });
  it('opens nothing new when the confirmation is replayed', () => {
    spec.given([opened]).when(open).thenNothing();
  });
  it('is the system’s alone', () => {
    spec
      .given([])
      .when({ ...open, context: landlord() })
      .thenThrows('SYSTEM_ONLY', 'forbidden');
  });
});

describe('RecordCashPayment', () => {
  it('takes partial payments and shows the balance left', () => {
    const first = randomUUID();
    spec
      .given([opened])
      .when(pay(5_000, first))
      .then([received(first, 5_000, 8_500)]);
    const second = randomUUID();
    spec
      .given([opened, received(first, 5_000, 8_500)])
      .when(pay(8_500, second))
      .then([received(second, 8_500, 0)]);
    const state = fold(paymentDecider, [opened, received(first, 5_000, 8_500), received(second, 8_500, 0)]);
    expect(state.status).toBe('paid');
    expect(balanceDue(state)).toBe(0);
  });

  it('never takes more than the balance', () => {
    const first = randomUUID();
    spec.given([opened]).when(pay(13_501)).thenThrows('AMOUNT_EXCEEDS_BALANCE', 'validation');
    spec
      .given([opened, received(first, 13_500, 0)])
      .when(pay(1))
      .thenThrows('AMOUNT_EXCEEDS_BALANCE', 'validation');
  });

  it.each([0, -5, 12.5])('refuses an amount of %d', (amount) => {
    spec.given([opened]).when(pay(amount)).thenThrows('INVALID_AMOUNT', 'validation');
  });

  it('records a retried receipt once', () => {
    const id = randomUUID();
    spec
      .given([opened, received(id, 5_000, 8_500)])
      .when(pay(5_000, id))
      .thenNothing();
  });

  it('is the room’s landlord’s alone', () => {
    spec
      .given([opened])
      .when(pay(100, randomUUID(), { actorId: randomUUID(), actorRole: 'landlord', now: landlord().now }))
      .thenThrows('PAYMENT_NOT_ALLOWED', 'forbidden');
    spec
      .given([opened])
      .when(pay(100, randomUUID(), { actorId: tenantId, actorRole: 'tenant', now: landlord().now }))
      .thenThrows('PAYMENT_NOT_ALLOWED', 'forbidden');
  });

  it('has nothing to take before the booking is confirmed', () => {
    spec.given([]).when(pay(100)).thenThrows('NO_PAYMENT_DUE', 'illegal_state');
  });
});

describe('MarkPaymentOverdue', () => {
  const overdue = (now: string): PaymentCommand => ({
    type: 'MarkPaymentOverdue',
    data: { bookingId },
    context: system(now),
  });
  it('marks an unpaid balance one day past due', () => {
    spec
      .given([opened])
      .when(overdue('2027-02-11T00:00:00.000Z'))
      .then([
        {
          type: 'PaymentOverdue',
          data: {
            bookingId,
            balanceDue: 13_500,
            dueAt: '2027-02-10T00:00:00.000Z',
            detectedAt: '2027-02-11T00:00:00.000Z',
          },
        },
      ]);
  });
  it('waits for the full day', () => {
    spec.given([opened]).when(overdue('2027-02-10T23:59:59.999Z')).thenThrows('NOT_OVERDUE', 'illegal_state');
  });
  it('leaves a paid record, an already overdue one and a booking never confirmed alone', () => {
    const id = randomUUID();
    spec
      .given([opened, received(id, 13_500, 0)])
      .when(overdue('2027-03-01T00:00:00.000Z'))
      .thenNothing();
    const marked = paymentDecider.decide(overdue('2027-02-12T00:00:00.000Z'), fold(paymentDecider, [opened]));
    spec
      .given([opened, ...marked])
      .when(overdue('2027-02-13T00:00:00.000Z'))
      .thenNothing();
    expect(fold(paymentDecider, [opened, ...marked]).status).toBe('overdue');
    spec.given([]).when(overdue('2027-03-01T00:00:00.000Z')).thenNothing();
  });
});

describe('AdjustForCancellation', () => {
  const adjust = (feeDue: number): PaymentCommand => ({
    type: 'AdjustForCancellation',
    data: { bookingId, feeDue },
    context: system('2027-02-08T00:00:00.000Z'),
  });
  it('owes the fee instead of the total, and shows cash to give back', () => {
    const id = randomUUID();
    spec
      .given([opened, received(id, 10_000, 3_500)])
      .when(adjust(4_500))
      .then([
        {
          type: 'PaymentAmountAdjusted',
          data: {
            bookingId,
            amountDue: 4_500,
            reason: 'booking_cancelled',
            balanceDue: 0,
            refundDue: 5_500,
            adjustedAt: '2027-02-08T00:00:00.000Z',
          },
        },
      ]);
  });
  it('voids a record with no fee and nothing paid', () => {
    const events = paymentDecider.decide(adjust(0), fold(paymentDecider, [opened]));
    expect(fold(paymentDecider, [opened, ...events]).status).toBe('void');
  });
  it('does nothing for a booking never confirmed', () => {
    spec.given([]).when(adjust(0)).thenNothing();
  });
});
