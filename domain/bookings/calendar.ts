import { DEFAULT_AVAILABILITY_HORIZON_DAYS, nextBlockedDates } from '../rooms/availability.js';
import type { CommandContext, Decider, DomainEvent } from '../shared/decider.js';
import { DomainError } from '../shared/errors.js';
import { type DateRange, dateOfDay, dayNumber } from '../shared/values.js';

/**
 * A room's availability as one stream (`RoomCalendar-<roomId>`): the landlord's blocked dates and every hold
 * and release of the room's nights go through it with one expected revision, so two bookings can never hold
 * one night and no block slips in between the check and the hold, however many API processes race.
 *
 * A hold carries its own expiry: a hold whose booking was never recorded (a crash between the hold and the
 * booking) is free again once it expires, decided here from the command's time, with no process involved.
 * `HoldConfirmed` (the landlord accepted the booking) makes a hold last until it is released.
 *
 * Blocks written before they lived here are `RoomBlockedDatesSet` events of the `Room-` stream. They are never
 * written there again, so they are frozen: until the calendar has its own `BlockedDatesSet`, commands pass the
 * room's last blocks as `roomBlocked` and the decider takes them as the calendar's (see `blockedOf`). The room
 * is read for every booking request anyway, so this costs no read and no migration run.
 */
export type NightsHeld = DomainEvent<
  'NightsHeld',
  {
    bookingId: string;
    nights: string[];
    heldAt: string;
    /** Version 2: when the hold frees itself unless confirmed; null (version 1 holds) lasts until released. */
    expiresAt: string | null;
  }
>;
export type HoldConfirmed = DomainEvent<'HoldConfirmed', { bookingId: string; nights: string[]; confirmedAt: string }>;
export type NightsReleased = DomainEvent<'NightsReleased', { bookingId: string; nights: string[]; releasedAt: string }>;
export type BlockedDatesSet = DomainEvent<'BlockedDatesSet', { roomId: string; blocked: DateRange[]; setAt: string }>;
export type CalendarEvent = NightsHeld | HoldConfirmed | NightsReleased | BlockedDatesSet;

export const CalendarEventTypes = [
  'NightsHeld',
  'HoldConfirmed',
  'NightsReleased',
  'BlockedDatesSet',
] as const satisfies readonly CalendarEvent['type'][];

/** The room as the landlord's commands need it (read from the `Room-` stream). */
export interface CalendarRoom {
  exists: boolean;
  landlordId: string | null;
  /** The room stream's last `RoomBlockedDatesSet` (legacy blocks), [] when none. */
  blocked: readonly DateRange[];
}

export type CalendarCommand =
  | {
      type: 'HoldNights';
      data: {
        bookingId: string;
        checkIn: string;
        checkOut: string;
        /** When the hold frees itself (the booking's answer deadline). */
        expiresAt: string;
        /** The room stream's legacy blocks, used while the calendar has none of its own. */
        roomBlocked: readonly DateRange[];
      };
      context: CommandContext;
    }
  | { type: 'ConfirmHold'; data: { bookingId: string }; context: CommandContext }
  | { type: 'ReleaseNights'; data: { bookingId: string }; context: CommandContext }
  | { type: 'ReleaseExpiredHolds'; data: Record<string, never>; context: CommandContext }
  | {
      type: 'SetBlockedDates';
      data: {
        roomId: string;
        room: CalendarRoom;
        blocked: DateRange[];
        /** How many days ahead a block may reach (config AVAILABILITY_HORIZON_DAYS); 730 when absent. */
        horizonDays?: number;
      };
      context: CommandContext;
    };

export interface Hold {
  bookingId: string;
  /** ISO instant; null: held until released. */
  expiresAt: string | null;
}

export interface CalendarState {
  /** Night (YYYY-MM-DD) to its hold (an expired hold stays until released or taken: see `isLive`). */
  held: ReadonlyMap<string, Hold>;
  /** The calendar's blocked dates; null until the calendar has a `BlockedDatesSet` (legacy blocks apply). */
  blocked: readonly DateRange[] | null;
}

export const BLOCKED_RANGES_LIMIT = 200;

const sameValue = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

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

/** Whether a hold still takes its night at `now`: confirmed, or not expired yet. */
export function isLive(hold: Hold | undefined, now: string): boolean {
  return hold !== undefined && (hold.expiresAt === null || Date.parse(hold.expiresAt) > Date.parse(now));
}

/** The state as plain JSON (a projection keeps it between batches), and back. */
export type StoredCalendarState = { held: Record<string, Hold>; blocked: DateRange[] | null };
export const storedCalendarState = (state: CalendarState): StoredCalendarState => ({
  held: Object.fromEntries(state.held),
  blocked: state.blocked === null ? null : [...state.blocked],
});
export const restoredCalendarState = (stored: StoredCalendarState): CalendarState => ({
  held: new Map(Object.entries(stored.held)),
  blocked: stored.blocked,
});

/** The calendar's blocks, or the room's legacy ones while the calendar has none. */
export const blockedOf = (state: CalendarState, roomBlocked: readonly DateRange[]): readonly DateRange[] =>
  state.blocked ?? roomBlocked;

/** The nights held by one booking (expired or not). */
const nightsHeldBy = (state: CalendarState, bookingId: string) =>
  [...state.held]
    .filter(([, hold]) => hold.bookingId === bookingId)
    .map(([night]) => night)
    .sort();

function assertLandlord(room: CalendarRoom, context: CommandContext): void {
  if (!room.exists) throw new DomainError('ROOM_NOT_FOUND', 'not_found', 'room not found');
  if (context.actorRole === 'admin') return;
  if (context.actorRole !== 'landlord' || room.landlordId !== context.actorId) {
    throw new DomainError('NOT_ROOM_OWNER', 'forbidden', 'only the landlord of this room may change it');
  }
}

export const calendarDecider: Decider<CalendarCommand, CalendarEvent, CalendarState> = {
  initialState: { held: new Map(), blocked: null },
  schemaVersions: { NightsHeld: 2, HoldConfirmed: 1, NightsReleased: 1, BlockedDatesSet: 1 },
  // A room's calendar grows with every hold, confirmation and release of every booking: the one long stream.
  snapshot: {
    version: 1,
    encode: storedCalendarState,
    decode: (json) => restoredCalendarState(json as StoredCalendarState),
  },

  decide(command, state) {
    const { now } = command.context;
    switch (command.type) {
      case 'HoldNights': {
        const { bookingId, checkIn, checkOut, expiresAt, roomBlocked } = command.data;
        const nights = nightsOf(checkIn, checkOut);
        if (
          nights.every((night) => state.held.get(night)?.bookingId === bookingId && isLive(state.held.get(night), now))
        ) {
          return [];
        }
        const blocked = blockedOf(state, roomBlocked);
        const taken = nights.filter((night) => {
          const hold = state.held.get(night);
          return (isLive(hold, now) && hold!.bookingId !== bookingId) || isBlocked(night, blocked);
        });
        if (taken.length > 0) {
          throw new DomainError('ROOM_UNAVAILABLE', 'conflict', `the room is not free on ${taken.join(', ')}`, {
            nights: taken,
          });
        }
        return [{ type: 'NightsHeld', data: { bookingId, nights, heldAt: now, expiresAt } }];
      }
      case 'ConfirmHold': {
        const { bookingId } = command.data;
        const nights = nightsHeldBy(state, bookingId);
        if (nights.length > 0 && nights.every((night) => state.held.get(night)!.expiresAt === null)) return [];
        if (nights.length === 0 || !nights.every((night) => isLive(state.held.get(night), now))) {
          throw new DomainError(
            'HOLD_EXPIRED',
            'illegal_state',
            'the hold on these nights has expired; the tenant must request again',
          );
        }
        return [{ type: 'HoldConfirmed', data: { bookingId, nights, confirmedAt: now } }];
      }
      case 'ReleaseNights': {
        const nights = nightsHeldBy(state, command.data.bookingId);
        if (nights.length === 0) return [];
        return [{ type: 'NightsReleased', data: { bookingId: command.data.bookingId, nights, releasedAt: now } }];
      }
      case 'ReleaseExpiredHolds': {
        const expired = new Map<string, string[]>();
        for (const [night, hold] of state.held) {
          if (isLive(hold, now)) continue;
          expired.set(hold.bookingId, [...(expired.get(hold.bookingId) ?? []), night]);
        }
        return [...expired].map(([bookingId, nights]) => ({
          type: 'NightsReleased' as const,
          data: { bookingId, nights: nights.sort(), releasedAt: now },
        }));
      }
      case 'SetBlockedDates': {
        const { roomId, room, horizonDays } = command.data;
        assertLandlord(room, command.context);
        if (command.data.blocked.length > BLOCKED_RANGES_LIMIT) {
          throw new DomainError('TOO_MANY_RANGES', 'validation', `at most ${BLOCKED_RANGES_LIMIT} blocked ranges`);
        }
        const current = blockedOf(state, room.blocked);
        const blocked = nextBlockedDates(
          current,
          command.data.blocked,
          now,
          horizonDays ?? DEFAULT_AVAILABILITY_HORIZON_DAYS,
        );
        // The first calendar block is written even when equal to the legacy ones: from then on the calendar decides.
        if (state.blocked !== null && sameValue(blocked, state.blocked)) return [];
        if (state.blocked === null && blocked.length === 0 && current.length === 0) return [];
        return [{ type: 'BlockedDatesSet', data: { roomId, blocked, setAt: now } }];
      }
      default: {
        const unhandled: never = command;
        throw new Error(`unknown command ${(unhandled as { type: string }).type}`);
      }
    }
  },

  evolve(state, event) {
    switch (event.type) {
      case 'NightsHeld': {
        const held = new Map(state.held);
        const hold = { bookingId: event.data.bookingId, expiresAt: event.data.expiresAt ?? null };
        for (const night of event.data.nights) held.set(night, hold);
        return { ...state, held };
      }
      case 'HoldConfirmed': {
        const held = new Map(state.held);
        const confirmed = { bookingId: event.data.bookingId, expiresAt: null };
        for (const night of event.data.nights) {
          if (held.get(night)?.bookingId === event.data.bookingId) held.set(night, confirmed);
        }
        return { ...state, held };
      }
      case 'NightsReleased': {
        const held = new Map(state.held);
        for (const night of event.data.nights)
          if (held.get(night)?.bookingId === event.data.bookingId) held.delete(night);
        return { ...state, held };
      }
      case 'BlockedDatesSet':
        return { ...state, blocked: event.data.blocked };
      default: {
        const unhandled: never = event;
        throw new Error(`unknown event ${(unhandled as { type: string }).type}`);
      }
    }
  },
};
