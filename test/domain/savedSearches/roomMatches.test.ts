import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  type CalendarEvent,
  type CalendarState,
  calendarDecider,
  nightsOf,
} from '../../../domain/bookings/calendar.js';
import type { SavedSearchCriteria } from '../../../domain/savedSearches/events.js';
import { type MatchableRoom, roomMatches, stayHasStarted, wantsAnyOf } from '../../../domain/savedSearches/matching.js';
import { fold } from '../../../domain/shared/decider.js';
import { METERS_PER_DEGREE } from '../../../domain/shared/geo.js';
import { dateOfDay, dayNumber } from '../../../domain/shared/values.js';

const now = new Date().toISOString();
const today = dayNumber(now.slice(0, 10));
const day = (offset: number) => dateOfDay(today + offset);
const inMinutes = (minutes: number) => new Date(Date.parse(now) + minutes * 60_000).toISOString();
const centre = { lat: 44.4949, lng: 11.3426 };
/** A point `km` north of the centre. */
const north = (km: number) => ({ lat: centre.lat + (km * 1000) / METERS_PER_DEGREE, lng: centre.lng });

const criteria = (overrides: Partial<SavedSearchCriteria> = {}): SavedSearchCriteria => ({
  location: centre,
  radiusKm: 5,
  examLocationId: null,
  checkIn: null,
  checkOut: null,
  guests: null,
  minPrice: null,
  maxPrice: null,
  amenities: [],
  ...overrides,
});
const room = (overrides: Partial<MatchableRoom> = {}): MatchableRoom => ({
  status: 'published',
  location: north(1),
  pricePerNight: 4500,
  maxOccupants: 2,
  amenities: ['desk', 'wifi'],
  blocked: [],
  ...overrides,
});
const calendar = (...events: CalendarEvent[]): CalendarState => fold(calendarDecider, events);
const held = (from: number, to: number, expiresAt: string | null): CalendarEvent => ({
  type: 'NightsHeld',
  data: { bookingId: randomUUID(), nights: nightsOf(day(from), day(to)), heldAt: now, expiresAt },
});
const blocks = (from: number, to: number): CalendarEvent => ({
  type: 'BlockedDatesSet',
  data: { roomId: randomUUID(), blocked: [{ from: day(from), to: day(to) }], setAt: now },
});
const dated = { checkIn: day(10), checkOut: day(13) };

describe('roomMatches', () => {
  it.each<[string, Partial<SavedSearchCriteria>, Partial<MatchableRoom>, CalendarState, boolean]>([
    ['a published room inside the circle', {}, {}, calendar(), true],
    ['a draft room', {}, { status: 'draft' }, calendar(), false],
    ['an unpublished room', {}, { status: 'unpublished' }, calendar(), false],
    ['a room just inside the radius', {}, { location: north(4.99) }, calendar(), true],
    ['a room just outside the radius', {}, { location: north(5.01) }, calendar(), false],
    ['a room 40 km away in a 50 km circle', { radiusKm: 50 }, { location: north(40) }, calendar(), true],
    ['the price at the upper bound', { maxPrice: 4500 }, {}, calendar(), true],
    ['a price over the range', { maxPrice: 4499 }, {}, calendar(), false],
    ['a price under the range', { minPrice: 4501 }, {}, calendar(), false],
    ['every amenity present', { amenities: ['desk', 'wifi'] }, {}, calendar(), true],
    ['an amenity missing', { amenities: ['desk', 'parking'] }, {}, calendar(), false],
    ['guests up to the room’s occupants', { guests: 2 }, {}, calendar(), true],
    ['more guests than the room takes', { guests: 3 }, {}, calendar(), false],
    ['every night free', dated, {}, calendar(), true],
    ['a night blocked on the calendar', dated, {}, calendar(blocks(12, 14)), false],
    ['blocks beside the stay', dated, {}, calendar(blocks(13, 15), blocks(5, 10)), true],
    ['a legacy block of the room', dated, { blocked: [{ from: day(11), to: day(12) }] }, calendar(), false],
    [
      'calendar blocks replacing the legacy ones',
      dated,
      { blocked: [{ from: day(11), to: day(12) }] },
      calendar(blocks(20, 21)),
      true,
    ],
    ['a night under a live hold', dated, {}, calendar(held(12, 13, inMinutes(30))), false],
    ['a night under a confirmed hold', dated, {}, calendar(held(9, 11, null)), false],
    ['a night under an expired hold', dated, {}, calendar(held(10, 13, inMinutes(-1))), true],
    ['a hold on other nights', dated, {}, calendar(held(13, 16, inMinutes(30))), true],
    ['a stay from today', { checkIn: day(0), checkOut: day(2) }, {}, calendar(), true],
    ['a stay that started yesterday', { checkIn: day(-1), checkOut: day(2) }, {}, calendar(), false],
  ])('%s', (_case, search, roomOverrides, state, expected) => {
    expect(roomMatches(criteria(search), room(roomOverrides), state, now)).toBe(expected);
  });
});

describe('helpers of the matcher', () => {
  it('knows which searches a freed night concerns', () => {
    expect(wantsAnyOf(criteria(dated), [day(12)])).toBe(true);
    expect(wantsAnyOf(criteria(dated), [day(13), day(9)])).toBe(false);
    expect(wantsAnyOf(criteria(), [day(12)])).toBe(false);
  });

  it('knows when a stay has started', () => {
    expect(stayHasStarted(criteria({ checkIn: day(0), checkOut: day(1) }), now)).toBe(false);
    expect(stayHasStarted(criteria({ checkIn: day(-1), checkOut: day(1) }), now)).toBe(true);
    expect(stayHasStarted(criteria(), now)).toBe(false);
  });
});
