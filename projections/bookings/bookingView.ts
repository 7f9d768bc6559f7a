import { EntitySchema } from '@mikro-orm/core';

export interface StatusChange {
  status: string;
  at: string;
  by: string | null;
  reason?: string | null;
}

/** One row per booking, with its status history: GET /api/bookings/{id} and /api/user/bookings. */
export class BookingView {
  id!: string;
  reference!: string;
  roomId!: string;
  tenantId!: string;
  landlordId!: string;
  status!: string;
  checkIn!: string;
  checkOut!: string;
  nights!: number;
  guests!: number;
  pricePerNight!: number;
  totalAmount!: number;
  currency!: string;
  cancellationPolicy!: string;
  cancellationFee!: number | null;
  holdExpiresAt!: Date;
  statusHistory!: StatusChange[];
  createdAt!: Date;
  updatedAt!: Date;
  revision!: bigint;
  lastPosition!: bigint;
}

export const BookingViewSchema = new EntitySchema<BookingView>({
  class: BookingView,
  tableName: 'bookings',
  properties: {
    id: { type: 'uuid', primary: true },
    reference: { type: 'string' },
    roomId: { type: 'uuid', fieldName: 'room_id' },
    tenantId: { type: 'uuid', fieldName: 'tenant_id' },
    landlordId: { type: 'uuid', fieldName: 'landlord_id' },
    status: { type: 'string' },
    checkIn: { type: 'string', fieldName: 'check_in', columnType: 'date' },
    checkOut: { type: 'string', fieldName: 'check_out', columnType: 'date' },
    nights: { type: 'integer' },
    guests: { type: 'integer' },
    pricePerNight: { type: 'integer', fieldName: 'price_per_night' },
    totalAmount: { type: 'integer', fieldName: 'total_amount' },
    currency: { type: 'string' },
    cancellationPolicy: { type: 'string', fieldName: 'cancellation_policy' },
    cancellationFee: { type: 'integer', fieldName: 'cancellation_fee', nullable: true },
    holdExpiresAt: { type: 'Date', fieldName: 'hold_expires_at' },
    statusHistory: { type: 'json', fieldName: 'status_history' },
    createdAt: { type: 'Date', fieldName: 'created_at' },
    updatedAt: { type: 'Date', fieldName: 'updated_at' },
    revision: { type: 'bigint' },
    lastPosition: { type: 'bigint', fieldName: 'last_position' },
  },
});
