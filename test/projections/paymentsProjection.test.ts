import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { PaymentEvent } from '../../domain/payments/events.js';
import { paymentsProjection } from '../../projections/payments/paymentsProjection.js';
import { PaymentView } from '../../projections/payments/paymentView.js';
import { projectionSpec, recordedEvent } from '../support/projectionSpec.js';

/** The payments projection: given a booking's payment events, then its row (against the real PostgreSQL). */
const spec = projectionSpec(paymentsProjection);
const recorded = (bookingId: string, revision: number, event: PaymentEvent) =>
  recordedEvent(`Payment-${bookingId}`, revision, event);
const apply = spec.apply;
const row = (bookingId: string) => spec.orm.em.fork().findOne(PaymentView, { bookingId });

describe('payments projection', () => {
  const bookingId = randomUUID();
  const landlordId = randomUUID();
  const opened = recorded(bookingId, 0, {
    type: 'PaymentRecordOpened',
    data: {
      bookingId,
      landlordId,
      tenantId: randomUUID(),
      amountDue: 13_500,
      currency: 'EUR',
      method: 'cash',
      dueAt: '2027-03-01T00:00:00.000Z',
      openedAt: '2027-02-01T10:00:00.000Z',
    },
  });
  const receipt = (revision: number, amount: number, balanceDue: number) =>
    recorded(bookingId, revision, {
      type: 'CashPaymentReceived',
      data: {
        bookingId,
        paymentId: randomUUID(),
        amount,
        method: 'cash',
        recordedBy: landlordId,
        paidAt: '2027-03-01T18:00:00.000Z',
        balanceDue,
      },
    });

  it('opens a record due in full, adds receipts, marks it overdue, and settles it; replays change nothing', async () => {
    const first = receipt(1, 5_000, 8_500);
    const overdue = recorded(bookingId, 2, {
      type: 'PaymentOverdue',
      data: { bookingId, balanceDue: 8_500, dueAt: '2027-03-01T00:00:00.000Z', detectedAt: '2027-03-02T00:05:00.000Z' },
    });
    await apply([opened, first]);
    expect(await row(bookingId)).toMatchObject({ status: 'due', amountPaid: 5_000, balanceDue: 8_500 });
    await apply([opened, first, overdue]);
    const late = await row(bookingId);
    expect(late).toMatchObject({ status: 'overdue', amountPaid: 5_000, balanceDue: 8_500 });
    expect(late!.overdueAt?.toISOString()).toBe('2027-03-02T00:05:00.000Z');
    expect(late!.receipts).toHaveLength(1);
    await apply([receipt(3, 8_500, 0)]);
    expect(await row(bookingId)).toMatchObject({ status: 'paid', amountPaid: 13_500, balanceDue: 0, refundDue: 0 });
  });

  it('owes the fee after a cancellation, voids a record with nothing owed or paid, and empties on reset', async () => {
    const cancelledId = randomUUID();
    const open = {
      ...opened,
      streamId: `Payment-${cancelledId}`,
      data: { ...(opened.data as object), bookingId: cancelledId },
    };
    await apply([
      open,
      recorded(cancelledId, 1, {
        type: 'PaymentAmountAdjusted',
        data: {
          bookingId: cancelledId,
          amountDue: 0,
          reason: 'booking_cancelled',
          balanceDue: 0,
          refundDue: 0,
          adjustedAt: '2027-02-10T00:00:00.000Z',
        },
      }),
    ]);
    expect(await row(cancelledId)).toMatchObject({ status: 'void', amountDue: 0, balanceDue: 0 });
    await spec.reset();
    expect(await row(cancelledId)).toBeNull();
  });
});
