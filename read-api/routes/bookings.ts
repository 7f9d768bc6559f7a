import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { EntityManager } from '@mikro-orm/postgresql';
import { Type } from '@sinclair/typebox';
import { type BookingDeps, changeBookingStatus, requestBooking } from '../../commands/bookings.js';
import { type PaymentDeps, recordCashPayment } from '../../commands/payments.js';
import type { BookingCommand } from '../../domain/bookings/commands.js';
import type { BookingState } from '../../domain/bookings/decider.js';
import { balanceDue } from '../../domain/payments/decider.js';
import { BookingView } from '../../projections/bookings/bookingView.js';
import { pendingBookingsQuery } from '../../projections/bookings/pendingBookings.js';
import { PaymentView } from '../../projections/payments/paymentView.js';
import { positionOf } from '../answers.js';
import { commandFrom, newAggregateId } from '../commandContext.js';
import { cursorCodec, decodeKeyset, encodeKeyset, invalidCursor } from '../cursor.js';
import type { AppDeps } from '../deps.js';
import { ApiError } from '../errors.js';
import { dateOnly, honourMinPosition } from '../readModels.js';
import { errors, IdempotencyHeaders, IdParams, IsoDate, MinPositionHeaders, Position, Uuid } from '../schemas.js';

const tags = ['bookings'];

const BookingAccepted = Type.Object({
  id: Uuid,
  bookingReference: Type.String(),
  status: Type.String(),
  totalAmount: Type.Integer({ description: 'minor units' }),
  currency: Type.String(),
  holdExpiresAt: Type.String({ format: 'date-time' }),
  position: Type.Union([Position, Type.Null()]),
});

const StatusChange = Type.Object({
  status: Type.String(),
  at: Type.String(),
  by: Type.Union([Type.String(), Type.Null()]),
  reason: Type.Optional(Type.Union([Type.String(), Type.Null()])),
});

const Receipt = Type.Object({
  id: Uuid,
  amount: Type.Integer({ description: 'minor units' }),
  method: Type.Literal('cash'),
  paidAt: Type.String({ format: 'date-time' }),
  recordedBy: Uuid,
});

const PaymentSummary = Type.Object({
  status: Type.Union([Type.Literal('due'), Type.Literal('overdue'), Type.Literal('paid'), Type.Literal('void')]),
  method: Type.Literal('cash'),
  amountDue: Type.Integer({ description: 'minor units: the total, or the cancellation fee after a cancellation' }),
  amountPaid: Type.Integer(),
  balanceDue: Type.Integer(),
  refundDue: Type.Integer({ description: 'cash received beyond what is owed (after a cancellation)' }),
  currency: Type.String(),
  dueAt: Type.String({ format: 'date-time', description: 'check-in (00:00 UTC of the check-in day)' }),
  overdueSince: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});

const PaymentRecorded = Type.Object({
  id: Uuid,
  amount: Type.Integer({ description: 'minor units' }),
  paidAt: Type.String({ format: 'date-time' }),
  balanceDue: Type.Integer(),
  position: Type.Union([Position, Type.Null()]),
});

const Booking = Type.Object({
  id: Uuid,
  bookingReference: Type.String(),
  roomId: Uuid,
  tenantId: Uuid,
  landlordId: Uuid,
  status: Type.String(),
  checkIn: IsoDate,
  checkOut: IsoDate,
  nights: Type.Integer(),
  guests: Type.Integer(),
  pricePerNight: Type.Integer(),
  totalAmount: Type.Integer(),
  currency: Type.String(),
  cancellationPolicy: Type.String(),
  cancellationFee: Type.Union([Type.Integer(), Type.Null()]),
  holdExpiresAt: Type.String({ format: 'date-time' }),
  statusHistory: Type.Array(StatusChange),
  payments: Type.Array(Receipt, { description: 'cash received, oldest first' }),
  payment: Type.Union([PaymentSummary, Type.Null()], {
    description: 'what is owed and paid; null until the landlord confirms',
  }),
  createdAt: Type.String({ format: 'date-time' }),
});

type StatusCommand = Exclude<BookingCommand, { type: 'RequestBooking' }>;
/** The status a caller asks for, as the booking command that moves there. */
const STATUS_COMMANDS = {
  confirmed: 'ConfirmBooking',
  rejected: 'RejectBooking',
  cancelled: 'CancelBooking',
  checked_in: 'CheckInGuest',
  no_show: 'MarkNoShow',
  expired: 'ExpireBooking',
  completed: 'CompleteBooking',
} as const satisfies Record<string, StatusCommand['type']>;

function accepted(id: string, result: { state: BookingState; position: bigint | null }) {
  const { state } = result;
  return {
    id,
    bookingReference: state.reference!,
    status: state.status,
    totalAmount: state.totalAmount!,
    currency: state.currency!,
    holdExpiresAt: state.holdExpiresAt!,
    position: positionOf(result),
  };
}

function toBooking(view: BookingView, payment: PaymentView | undefined) {
  return {
    ...view,
    bookingReference: view.reference,
    checkIn: dateOnly(view.checkIn),
    checkOut: dateOnly(view.checkOut),
    holdExpiresAt: view.holdExpiresAt.toISOString(),
    createdAt: view.createdAt.toISOString(),
    payments: payment?.receipts ?? [],
    payment: payment
      ? {
          status: payment.status,
          method: payment.method,
          amountDue: payment.amountDue,
          amountPaid: payment.amountPaid,
          balanceDue: payment.balanceDue,
          refundDue: payment.refundDue,
          currency: payment.currency,
          dueAt: payment.dueAt.toISOString(),
          overdueSince: payment.overdueAt?.toISOString() ?? null,
        }
      : null,
  };
}

async function paymentsOf(em: EntityManager, bookingIds: string[]): Promise<Map<string, PaymentView>> {
  if (bookingIds.length === 0) return new Map();
  const rows = await em.find(PaymentView, { bookingId: { $in: bookingIds } });
  return new Map(rows.map((row) => [row.bookingId, row]));
}

/** The booking and cash payment routes. */
export const bookingRoutes: FastifyPluginAsyncTypebox<AppDeps> = async (app, deps) => {
  const payments: PaymentDeps = { store: deps.eventStore, maxRetries: Math.max(deps.config.COMMAND_MAX_RETRIES, 20) };
  const bookings: BookingDeps = {
    store: deps.eventStore,
    snapshots: deps.snapshots,
    maxRetries: Math.max(deps.config.COMMAND_MAX_RETRIES, 20),
    pendingCap: {
      max: deps.config.MAX_PENDING_BOOKINGS_PER_TENANT,
      pendingBookingsOf: pendingBookingsQuery(deps.pool),
    },
  };

  app.post(
    '/api/bookings',
    {
      config: { access: ['tenant'] },
      schema: {
        tags,
        summary: 'Request a stay: every night is held for the landlord to confirm, or none (409 ROOM_UNAVAILABLE)',
        headers: IdempotencyHeaders,
        body: Type.Object(
          { roomId: Uuid, checkIn: IsoDate, checkOut: IsoDate, guests: Type.Integer({ minimum: 1, maximum: 20 }) },
          { additionalProperties: false },
        ),
        response: { 201: BookingAccepted, ...errors(400, 401, 403, 404, 409, 422, 429) },
      },
    },
    async (request, reply) => {
      const { body } = request;
      const { context, envelope } = commandFrom(request, deps.clock);
      const bookingId = newAggregateId(request, 'booking');
      const result = await requestBooking(
        bookings,
        { ...body, bookingId, holdMinutes: deps.config.BOOKING_HOLD_MINUTES },
        context,
        envelope,
      );
      return reply.code(201).header('location', `/api/bookings/${bookingId}`).send(accepted(bookingId, result));
    },
  );

  app.put(
    '/api/bookings/:id/status',
    {
      config: { access: ['tenant', 'landlord'] },
      schema: {
        tags,
        summary:
          'Move a booking: the landlord confirms, rejects, records check-in or no-show; the tenant cancels (the fee due is recorded). Expiry and completion are the system’s.',
        params: IdParams,
        headers: IdempotencyHeaders,
        body: Type.Object(
          {
            status: Type.Union([
              Type.Literal('confirmed'),
              Type.Literal('rejected'),
              Type.Literal('cancelled'),
              Type.Literal('checked_in'),
              Type.Literal('no_show'),
              Type.Literal('expired'),
              Type.Literal('completed'),
            ]),
            reason: Type.Optional(Type.String({ maxLength: 500 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: BookingAccepted, ...errors(400, 401, 403, 404, 409, 422) },
      },
    },
    async (request) => {
      const { id } = request.params;
      const { status, reason } = request.body;
      const { context, envelope } = commandFrom(request, deps.clock);
      // Each transition takes the booking id and an optional reason; TypeScript cannot pair a union of types
      // with the union of their commands, hence the one assertion.
      const command = {
        type: STATUS_COMMANDS[status],
        data: { bookingId: id, reason: reason ?? null },
        context,
      } as StatusCommand;
      const result = await changeBookingStatus(bookings, command, envelope);
      return accepted(id, result);
    },
  );

  app.post(
    '/api/bookings/:id/payments',
    {
      config: { access: ['landlord'] },
      schema: {
        tags,
        summary:
          'The room’s landlord records cash received: partial payments are allowed, never more than the balance due',
        params: IdParams,
        headers: IdempotencyHeaders,
        body: Type.Object(
          {
            amount: Type.Integer({ minimum: 1, maximum: 100_000_000, description: 'minor units' }),
            method: Type.Literal('cash'),
          },
          { additionalProperties: false },
        ),
        response: { 201: PaymentRecorded, ...errors(400, 401, 403, 404, 409, 422) },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const { amount } = request.body;
      const { context, envelope } = commandFrom(request, deps.clock);
      const paymentId = newAggregateId(request, 'payment');
      const result = await recordCashPayment(payments, { bookingId: id, paymentId, amount }, context, envelope);
      return reply
        .code(201)
        .header('location', `/api/bookings/${id}`)
        .send({
          id: paymentId,
          amount: result.receipt.amount,
          paidAt: result.receipt.paidAt,
          balanceDue: balanceDue(result.state),
          position: positionOf(result),
        });
    },
  );

  app.get(
    '/api/bookings/:id',
    {
      config: { access: ['tenant', 'landlord', 'admin', 'auditor'] },
      schema: {
        tags,
        summary: 'A booking with its status history: its tenant, the room’s landlord, admins and auditors',
        params: IdParams,
        headers: MinPositionHeaders,
        response: { 200: Booking, ...errors(400, 401, 403, 404, 503) },
      },
    },
    async (request) => {
      const { id } = request.params;
      await honourMinPosition(deps, request, ['bookings', 'payments']);
      const em = deps.orm.em.fork();
      const view = await em.findOne(BookingView, { id });
      const user = request.user!;
      const mayRead =
        view &&
        (user.role === 'admin' ||
          user.role === 'auditor' ||
          (user.role === 'tenant' && view.tenantId === user.sub) ||
          (user.role === 'landlord' && view.landlordId === user.sub));
      // Someone else's booking answers as if it did not exist: ids do not leak.
      if (!view || !mayRead) throw new ApiError(404, 'BOOKING_NOT_FOUND', 'booking not found');
      return toBooking(view, (await paymentsOf(em, [id])).get(id));
    },
  );

  app.get(
    '/api/user/bookings',
    {
      config: { access: ['tenant', 'landlord'] },
      schema: {
        tags,
        summary: 'Your bookings: as a tenant your stays, as a landlord the bookings of your rooms; newest first',
        headers: MinPositionHeaders,
        querystring: Type.Object(
          {
            status: Type.Optional(Type.String({ pattern: '^[a-z_]+$' })),
            limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
            cursor: Type.Optional(Type.String({ maxLength: 200 })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ items: Type.Array(Booking), nextCursor: Type.Union([Type.String(), Type.Null()]) }),
          ...errors(400, 401, 403, 503),
        },
      },
    },
    async (request) => {
      await honourMinPosition(deps, request, ['bookings', 'payments']);
      const { status, limit, cursor } = request.query;
      const user = request.user!;
      const where: Record<string, unknown> = user.role === 'tenant' ? { tenantId: user.sub } : { landlordId: user.sub };
      if (status) where.status = status;
      const after = decodeKeyset(cursorCodec(deps.config), 'user-bookings', cursor);
      if (after) {
        const [createdAt, id] = after;
        if (Number.isNaN(Date.parse(createdAt))) throw invalidCursor();
        where.$or = [{ createdAt: { $lt: new Date(createdAt) } }, { createdAt: new Date(createdAt), id: { $lt: id } }];
      }
      const em = deps.orm.em.fork();
      const rows = await em.find(BookingView, where, { orderBy: { createdAt: 'desc', id: 'desc' }, limit: limit + 1 });
      const page = rows.slice(0, limit);
      const last = page[page.length - 1];
      const payments = await paymentsOf(
        em,
        page.map((b) => b.id),
      );
      return {
        items: page.map((booking) => toBooking(booking, payments.get(booking.id))),
        nextCursor:
          rows.length > limit && last
            ? encodeKeyset(cursorCodec(deps.config), 'user-bookings', last.createdAt.toISOString(), last.id)
            : null,
      };
    },
  );
};
