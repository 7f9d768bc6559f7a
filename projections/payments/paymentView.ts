import { EntitySchema } from '@mikro-orm/core';
import type { PaymentStatus } from '../../domain/payments/decider.js';

export interface Receipt {
  id: string;
  amount: number;
  method: 'cash';
  paidAt: string;
  recordedBy: string;
}

/** One row per booking's payment record: shown with the booking, and read by the overdue sweep. */
export class PaymentView {
  bookingId!: string;
  landlordId!: string;
  tenantId!: string;
  status!: PaymentStatus;
  method!: 'cash';
  amountDue!: number;
  amountPaid!: number;
  balanceDue!: number;
  refundDue!: number;
  currency!: string;
  dueAt!: Date;
  overdueAt!: Date | null;
  receipts!: Receipt[];
  openedAt!: Date;
  updatedAt!: Date;
  revision!: bigint;
  lastPosition!: bigint;
}

export const PaymentViewSchema = new EntitySchema<PaymentView>({
  class: PaymentView,
  tableName: 'payments',
  properties: {
    bookingId: { type: 'uuid', primary: true, fieldName: 'booking_id' },
    landlordId: { type: 'uuid', fieldName: 'landlord_id' },
    tenantId: { type: 'uuid', fieldName: 'tenant_id' },
    status: { type: 'string' },
    method: { type: 'string' },
    amountDue: { type: 'integer', fieldName: 'amount_due' },
    amountPaid: { type: 'integer', fieldName: 'amount_paid' },
    balanceDue: { type: 'integer', fieldName: 'balance_due' },
    refundDue: { type: 'integer', fieldName: 'refund_due' },
    currency: { type: 'string' },
    dueAt: { type: 'Date', fieldName: 'due_at' },
    overdueAt: { type: 'Date', fieldName: 'overdue_at', nullable: true },
    receipts: { type: 'json' },
    openedAt: { type: 'Date', fieldName: 'opened_at' },
    updatedAt: { type: 'Date', fieldName: 'updated_at' },
    revision: { type: 'bigint' },
    lastPosition: { type: 'bigint', fieldName: 'last_position' },
  },
});
