import type { CommandContext, Decider, DomainEvent } from '../shared/decider.js';
import { DomainError } from '../shared/errors.js';
import { type DateRange, dateOfDay, dayNumber } from '../shared/values.js';

/**
 * A room's nights as one stream (`RoomCalendar-<roomId>`): every hold and release of the room goes
 * through it with an expected revision, so two bookings can never hold one night, however many API
 * processes race. Blocked dates are checked from the room's availability given with the command.
 */
export type NightsHeld = DomainEvent<'NightsHeld', { bookingId: string; nights: string[]; heldAt: string }>;
export type NightsReleased = DomainEvent<'NightsReleased', { bookingId: string; nights: string[]; releasedAt: string }>;
export type CalendarEvent = NightsHeld | NightsReleased;

export type CalendarCommand =
  | {
      type: 'HoldNights';
      data: { bookingId: string; checkIn: string; checkOut: string; blocked: readonly DateRange[] };
      context: CommandContext;
    }
  | { type: 'ReleaseNights'; data: { bookingId: string }; context: CommandContext };

export interface CalendarState {
  /** Night (YYYY-MM-DD) to the booking holding it. */
  held: ReadonlyMap<string, string>;
}

export const calendarStreamId = (roomId: string) => `RoomCalendar-${roomId}`;

/** The nights of a stay: `[checkIn, checkOut)`. */
export function nightsOf(checkIn: string, checkOut: string): string[] {
  const from = dayNumber(checkIn);
  const to = dayNumber(checkOut);
  if (Number.isNaN(from) || Number.isNaN(to) || to <= from) {
    throw new DomainError('INVALID_STAY', 'validation', 'checkOut must be a real date after checkIn');
  }
  return Array.from({ length: to - from }, (_, i) => dateOfDay(from + i));
}

/** Whether a night falls in one of the blocked ranges (`to` exclusive). */
export function isBlocked(night: string, blocked: readonly DateRange[]): boolean {
  const day = dayNumber(night);
  return blocked.some((range) => day >= dayNumber(range.from) && day < dayNumber(range.to));
}

export const calendarDecider: Decider<CalendarCommand, CalendarEvent, CalendarState> = {
  initialState: { held: new Map() },
  schemaVersions: { NightsHeld: 1, NightsReleased: 1 },

  decide(command, state) {
    switch (command.type) {
      case 'HoldNights': {
        const { bookingId, checkIn, checkOut, blocked } = command.data;
        const nights = nightsOf(checkIn, checkOut);
        if (nights.every((night) => state.held.get(night) === bookingId)) return [];
        const taken = nights.filter((night) => {
          const holder = state.held.get(night);
          return (holder !== undefined && holder !== bookingId) || isBlocked(night, blocked);
        });
        if (taken.length > 0) {
          throw new DomainError('ROOM_UNAVAILABLE', 'conflict', `the room is not free on ${taken.join(', ')}`, {
            nights: taken,
          });
        }
        return [{ type: 'NightsHeld', data: { bookingId, nights, heldAt: command.context.now } }];
      }
      case 'ReleaseNights': {
        const nights = [...state.held]
          .filter(([, holder]) => holder === command.data.bookingId)
          .map(([night]) => night);
        if (nights.length === 0) return [];
        return [
          {
            type: 'NightsReleased',
            data: { bookingId: command.data.bookingId, nights, releasedAt: command.context.now },
          },
        ];
      }
      default: {
        const unhandled: never = command;
        throw new Error(`unknown command ${(unhandled as { type: string }).type}`);
      }
    }
  },

  evolve(state, event) {
    const held = new Map(state.held);
    switch (event.type) {
      case 'NightsHeld':
        for (const night of event.data.nights) held.set(night, event.data.bookingId);
        break;
      case 'NightsReleased':
        for (const night of event.data.nights) if (held.get(night) === event.data.bookingId) held.delete(night);
        break;
      default: {
        const unhandled: never = event;
        throw new Error(`unknown event ${(unhandled as { type: string }).type}`);
      }
    }
    return { held };
  },
};
