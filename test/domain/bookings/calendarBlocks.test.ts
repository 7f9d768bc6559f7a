import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type CalendarEvent, calendarDecider } from '../../../domain/bookings/calendar.js';
import { dateOfDay, dayNumber } from '../../../domain/shared/values.js';
import { deciderSpec } from '../../support/deciderSpec.js';

/** Blocked dates on the room's calendar stream (moved from the room's stream): the past and horizon rules. */
const spec = deciderSpec(calendarDecider);
// Dates relative to the command's time, taken from the clock: the domain knows no other.
const NOW = new Date().toISOString();
const today = dayNumber(NOW.slice(0, 10));
const day = (offset: number) => dateOfDay(today + offset);
const range = (from: number, to: number) => ({ from: day(from), to: day(to) });
const roomId = randomUUID();
const landlordId = randomUUID();
const owner = { actorId: landlordId, actorRole: 'landlord' as const, now: NOW };
const stranger = { actorId: randomUUID(), actorRole: 'landlord' as const, now: NOW };
const room = { exists: true, landlordId, blocked: [] };
const blockedSet = (blocked: Array<{ from: string; to: string }>): CalendarEvent => ({
  type: 'BlockedDatesSet',
  data: { roomId, blocked, setAt: NOW },
});
const withHorizon = (blocked: Array<{ from: string; to: string }>, horizonDays?: number, context = owner) =>
  ({ type: 'SetBlockedDates', data: { roomId, room, blocked, horizonDays }, context }) as const;
const block = (blocked: Array<{ from: string; to: string }>, context = owner) =>
  withHorizon(blocked, undefined, context);
const refusal = (command: Parameters<typeof calendarDecider.decide>[0], given: CalendarEvent[] = []) => {
  try {
    calendarDecider.decide(command, given.reduce(calendarDecider.evolve, calendarDecider.initialState));
  } catch (error) {
    return error as { code: string; details: unknown };
  }
  throw new Error('expected a refusal');
};

describe('SetBlockedDates on the calendar', () => {
  it.each([
    [[{ from: day(5), to: day(5) }], 'INVALID_DATE_RANGE'],
    [[{ from: `${day(400).slice(0, 4)}-02-30`, to: day(500) }], 'INVALID_DATE'],
    [[{ from: 'tomorrow', to: day(5) }], 'INVALID_DATE'],
  ])('rejects bad ranges %j', (blocked, code) => {
    spec.given([]).when(block(blocked)).thenThrows(code, 'validation');
  });

  it('refuses another landlord, and more than 200 ranges', () => {
    spec.given([]).when(block([], stranger)).thenThrows('NOT_ROOM_OWNER', 'forbidden');
    const many = Array.from({ length: 201 }, (_, i) => range(2 * i + 1, 2 * i + 2));
    spec.given([]).when(block(many)).thenThrows('TOO_MANY_RANGES', 'validation');
  });

  describe('limits: not in the past, not beyond the horizon', () => {
    it('accepts a block from today to exactly the horizon (730 days by default)', () => {
      spec
        .given([])
        .when(block([range(0, 730)]))
        .then([blockedSet([range(0, 730)])]);
    });

    it('refuses a new block that starts before today, naming the nights in the past', () => {
      spec
        .given([])
        .when(block([range(-1, 3)]))
        .thenThrows('BLOCK_IN_PAST', 'validation');
      expect(refusal(block([range(5, 7), range(-10, -8)])).details).toEqual({
        today: day(0),
        ranges: [range(-10, -8)],
      });
      expect(refusal(block([{ from: '0100-01-01', to: '9999-12-31' }])).code).toBe('BLOCK_IN_PAST');
    });

    it('refuses a block reaching past the horizon, naming the latest allowed end', () => {
      spec
        .given([])
        .when(block([range(700, 731)]))
        .thenThrows('BLOCK_BEYOND_HORIZON', 'validation');
      expect(refusal(block([range(700, 740)])).details).toEqual({
        horizonDays: 730,
        latestTo: day(730),
        ranges: [range(730, 740)],
      });
    });

    it('takes the horizon from the command (the configuration)', () => {
      spec
        .given([])
        .when(withHorizon([range(10, 31)], 30))
        .thenThrows('BLOCK_BEYOND_HORIZON', 'validation');
      spec
        .given([])
        .when(withHorizon([range(10, 30)], 30))
        .then([blockedSet([range(10, 30)])]);
    });

    it('does nothing when a list with a block already in the past is sent again', () => {
      const blocked = [range(-5, -2), range(3, 6)];
      spec
        .given([blockedSet(blocked)])
        .when(block(blocked))
        .thenNothing();
    });

    it('keeps past blocks as they were: changing the future keeps them, leaving them out does not erase them', () => {
      const given = [blockedSet([range(-5, 2), range(3, 6)])];
      spec
        .given(given)
        .when(block([range(-5, 2), range(10, 12)]))
        .then([blockedSet([range(-5, 2), range(10, 12)])]);
      spec
        .given(given)
        .when(block([range(0, 2)]))
        .then([blockedSet([range(-5, 2)])]);
      spec
        .given(given)
        .when(block([]))
        .then([blockedSet([range(-5, 0)])]);
    });

    it('refuses only past nights that were not blocked before', () => {
      const given = [blockedSet([range(-5, -2)])];
      expect(refusal(block([range(-6, -2)]), given).details).toEqual({ today: day(0), ranges: [range(-6, -5)] });
    });

    it('lets a block beyond the horizon that is already there be sent again (made before the limit existed)', () => {
      const far = { from: day(100), to: '9999-12-31' };
      spec
        .given([blockedSet([far])])
        .when(block([far]))
        .thenNothing();
      spec
        .given([blockedSet([far])])
        .when(block([]))
        .then([blockedSet([])]);
    });
  });
});
