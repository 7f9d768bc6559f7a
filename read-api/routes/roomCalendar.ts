import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import icalGenerator from 'ical-generator';
import { BookingView } from '../../projections/bookings/bookingView.js';
import { RoomView } from '../../projections/rooms/roomView.js';
import type { AppDeps } from '../deps.js';
import { ApiError } from '../errors.js';
import { errors, IdParams } from '../schemas.js';

/** The secret of a room's calendar link: whoever has the link can read the calendar, nobody else. */
export function calendarToken(key: Buffer, roomId: string): string {
  return createHmac('sha256', key).update(`calendar:${roomId}`).digest('base64url');
}

export const calendarPath = (key: Buffer, roomId: string) =>
  `/api/rooms/${roomId}/calendar.ics?token=${calendarToken(key, roomId)}`;

const HOLDING = ['pending', 'confirmed', 'checked_in'];

export const roomCalendarRoutes: FastifyPluginAsyncTypebox<AppDeps> = async (app, deps) => {
  app.get(
    '/api/rooms/:id/calendar.ics',
    {
      config: { access: 'public' },
      schema: {
        tags: ['rooms'],
        summary: 'RFC 5545 calendar of booked and blocked nights, for anyone with the room’s secret link',
        params: IdParams,
        querystring: Type.Object(
          { token: Type.String({ minLength: 10, maxLength: 100 }) },
          { additionalProperties: false },
        ),
        response: {
          200: { description: 'RFC 5545 calendar', content: { 'text/calendar': { schema: Type.String() } } },
          ...errors(400, 404),
        },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const { token } = request.query;
      const expected = Buffer.from(calendarToken(deps.calendarLinkKey, id));
      const given = Buffer.from(token);
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        throw new ApiError(404, 'CALENDAR_NOT_FOUND', 'no calendar at this link');
      }
      const em = deps.orm.em.fork();
      const room = await em.findOne(RoomView, { id });
      if (!room) throw new ApiError(404, 'CALENDAR_NOT_FOUND', 'no calendar at this link');
      const bookings = await em.find(
        BookingView,
        { roomId: id, status: { $in: HOLDING } },
        { orderBy: { checkIn: 'asc' } },
      );
      const calendar = icalGenerator({
        name: `Roomline: ${room.title}`,
        prodId: { company: 'Roomline', product: 'room-calendar' },
      });
      const stamp = room.updatedAt;
      for (const booking of bookings) {
        calendar.createEvent({
          id: `booking-${booking.id}@roomline`,
          start: new Date(`${String(booking.checkIn).slice(0, 10)}T00:00:00Z`),
          end: new Date(`${String(booking.checkOut).slice(0, 10)}T00:00:00Z`),
          allDay: true,
          stamp: booking.updatedAt,
          summary: `${booking.status === 'pending' ? 'Held' : 'Booked'}: ${booking.reference}`,
        });
      }
      for (const range of room.blocked) {
        calendar.createEvent({
          id: `blocked-${id}-${range.from}@roomline`,
          start: new Date(`${range.from}T00:00:00Z`),
          end: new Date(`${range.to}T00:00:00Z`),
          allDay: true,
          stamp,
          summary: 'Not available',
        });
      }
      return reply
        .type('text/calendar; charset=utf-8')
        .header('cache-control', 'private, max-age=60')
        .send(calendar.toString());
    },
  );
};
