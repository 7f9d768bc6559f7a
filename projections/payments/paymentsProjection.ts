import type { EntityManager } from '@mikro-orm/postgresql';
import { balanceDue, type PaymentStatus } from '../../domain/payments/decider.js';
import { type PaymentEvent, PaymentEventTypes } from '../../domain/payments/events.js';
import type { RecordedEvent } from '../../infra/eventStore/eventStore.js';
import type { PgProjection } from '../projection.js';
import { PaymentView } from './paymentView.js';

function statusOf(view: PaymentView): PaymentStatus {
  if (view.amountDue === 0 && view.amountPaid === 0) return 'void';
  if (view.balanceDue === 0) return 'paid';
  return view.overdueAt ? 'overdue' : 'due';
}

/** Builds `payments` (one row per booking, with its cash receipts) from the Payment streams. */
export const paymentsProjection: PgProjection = {
  name: 'payments',
  version: 1,
  filter: { eventTypes: PaymentEventTypes, streamPrefixes: ['Payment-'] },

  async apply(em: EntityManager, events: readonly RecordedEvent[]): Promise<void> {
    for (const recorded of events) {
      const event = { type: recorded.type, data: recorded.data } as PaymentEvent;
      const bookingId = recorded.streamId.slice('Payment-'.length);
      const at = new Date(recorded.metadata.occurredAt);
      if (event.type === 'PaymentRecordOpened') {
        if (await em.findOne(PaymentView, { bookingId })) continue;
        const { landlordId, tenantId, amountDue, currency, method, dueAt } = event.data;
        em.create(PaymentView, {
          bookingId,
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
          revision: recorded.revision,
          lastPosition: recorded.position,
        });
        continue;
      }
      const view = await em.findOne(PaymentView, { bookingId });
      if (!view || view.revision >= recorded.revision) continue;
      switch (event.type) {
        case 'CashPaymentReceived': {
          const { paymentId, amount, method, paidAt, recordedBy } = event.data;
          view.receipts = [...view.receipts, { id: paymentId, amount, method, paidAt, recordedBy }];
          view.amountPaid += amount;
          break;
        }
        case 'PaymentOverdue':
          view.overdueAt = new Date(event.data.detectedAt);
          break;
        case 'PaymentAmountAdjusted':
          view.amountDue = event.data.amountDue;
          break;
      }
      view.balanceDue = balanceDue(view);
      view.refundDue = Math.max(0, view.amountPaid - view.amountDue);
      view.status = statusOf(view);
      view.updatedAt = at;
      view.revision = recorded.revision;
      view.lastPosition = recorded.position;
    }
  },

  async reset(em: EntityManager): Promise<void> {
    await em.execute('DELETE FROM payments');
  },
};
