import { balanceDue, type PaymentStatus } from '../../domain/payments/decider.js';
import { type PaymentEvent, PaymentEventTypes } from '../../domain/payments/events.js';
import { singleStreamRows } from '../singleStreamRows.js';
import { PaymentView } from './paymentView.js';

function statusOf(view: PaymentView): PaymentStatus {
  if (view.amountDue === 0 && view.amountPaid === 0) return 'void';
  if (view.balanceDue === 0) return 'paid';
  return view.overdueAt ? 'overdue' : 'due';
}

/** Builds `payments` (one row per booking, with its cash receipts) from the Payment streams. */
export const paymentsProjection = singleStreamRows<PaymentEvent, PaymentView>({
  name: 'payments',
  version: 1,
  streamPrefix: 'Payment-',
  eventTypes: PaymentEventTypes,
  entity: PaymentView,
  key: 'bookingId',
  table: 'payments',
  evolve: (view, event, { id, at }) => {
    if (event.type === 'PaymentRecordOpened') {
      if (view) return null;
      const { landlordId, tenantId, amountDue, currency, method, dueAt } = event.data;
      return {
        bookingId: id,
        landlordId,
        tenantId,
        status: 'due',
        method,
        amountDue,
        amountPaid: 0,
        balanceDue: amountDue,
        refundDue: 0,
        currency,
        dueAt: new Date(dueAt),
        overdueAt: null,
        receipts: [],
        openedAt: at,
        updatedAt: at,
      };
    }
    if (!view) return null;
    const next = { ...view, updatedAt: at };
    switch (event.type) {
      case 'CashPaymentReceived': {
        const { paymentId, amount, method, paidAt, recordedBy } = event.data;
        next.receipts = [...view.receipts, { id: paymentId, amount, method, paidAt, recordedBy }];
        next.amountPaid += amount;
        break;
      }
      case 'PaymentOverdue':
        next.overdueAt = new Date(event.data.detectedAt);
        break;
      case 'PaymentAmountAdjusted':
        next.amountDue = event.data.amountDue;
        break;
    }
    next.balanceDue = balanceDue(next);
    next.refundDue = Math.max(0, next.amountPaid - next.amountDue);
    next.status = statusOf(next);
    return next;
  },
});
