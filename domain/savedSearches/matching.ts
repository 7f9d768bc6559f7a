import { blockedOf, type CalendarState, isBlocked, isLive, nightsOf } from '../bookings/calendar.js';
import type { RoomState } from '../rooms/decider.js';
import { distanceMeters } from '../shared/geo.js';
import { dayNumber } from '../shared/values.js';
import type { SavedSearchCriteria } from './events.js';

const DAY_MS = 86_400_000;

/** The room as matching needs it: its stream's state (`Room-`), legacy blocks included. */
export type MatchableRoom = Pick<
  RoomState,
  'status' | 'location' | 'pricePerNight' | 'maxOccupants' | 'amenities' | 'blocked'
>;

/** The nights the search asks for, [] when it has no dates. */
export function nightsWanted(criteria: SavedSearchCriteria): string[] {
  return criteria.checkIn && criteria.checkOut ? nightsOf(criteria.checkIn, criteria.checkOut) : [];
}

/**
 * Whether the stay has begun at `now`: its check-in day is before today (UTC). Check-in today can still be
 * booked (the booking rule CHECK_IN_IN_PAST), so it has not. A search without dates never begins.
 */
export function stayHasStarted(criteria: SavedSearchCriteria, now: string): boolean {
  return criteria.checkIn !== null && dayNumber(criteria.checkIn) < Math.floor(Date.parse(now) / DAY_MS);
}

/** Whether the search has dates and one of `nights` is among them (a freed night concerns only such searches). */
export function wantsAnyOf(criteria: SavedSearchCriteria, nights: readonly string[]): boolean {
  if (!criteria.checkIn || !criteria.checkOut) return false;
  const from = dayNumber(criteria.checkIn);
  const to = dayNumber(criteria.checkOut);
  return nights.some((night) => {
    const day = dayNumber(night);
    return day >= from && day < to;
  });
}

/**
 * Whether a room matches a saved search at `now`: published, inside the circle (the search index's distance), within
 * the price range, with every amenity asked for and room for the guests, and, with dates, every night of the stay
 * free on its calendar: not blocked (the calendar's blocks, else the room's legacy ones) and not held by a live hold.
 * A stay that has already started never matches.
 */
export function roomMatches(
  criteria: SavedSearchCriteria,
  room: MatchableRoom,
  calendar: CalendarState,
  now: string,
): boolean {
  if (room.status !== 'published' || !room.location || room.pricePerNight === undefined) return false;
  if (distanceMeters(criteria.location, room.location) > criteria.radiusKm * 1000) return false;
  if (criteria.minPrice !== null && room.pricePerNight < criteria.minPrice) return false;
  if (criteria.maxPrice !== null && room.pricePerNight > criteria.maxPrice) return false;
  if (criteria.guests !== null && (room.maxOccupants ?? 0) < criteria.guests) return false;
  const amenities = new Set<string>(room.amenities ?? []);
  if (!criteria.amenities.every((amenity) => amenities.has(amenity))) return false;
  if (stayHasStarted(criteria, now)) return false;
  const blocked = blockedOf(calendar, room.blocked);
  return nightsWanted(criteria).every((night) => !isBlocked(night, blocked) && !isLive(calendar.held.get(night), now));
}
