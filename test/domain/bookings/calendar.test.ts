import { createHash, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type CalendarEvent, calendarDecider, nightsOf } from '../../../domain/bookings/calendar.js';
import { bookingReference, REFERENCE_ALPHABET, referenceFromDigest } from '../../../domain/bookings/reference.js';
import { dateOfDay, dayNumber } from '../../../domain/shared/values.js';
import { deciderSpec } from '../../support/deciderSpec.js';

const spec = deciderSpec(calendarDecider);
// Every date follows from the test's clock: nothing here goes stale as the calendar moves on.
const now = new Date().toISOString();
const minutesFromNow = (minutes: number) => new Date(Date.parse(now) + minutes * 60_000).toISOString();
const today = dayNumber(now.slice(0, 10));
const day = (offset: number) => dateOfDay(today + offset);
const nights = (from: number, to: number) => nightsOf(day(from), day(to));
const tenant = { actorId: randomUUID(), actorRole: 'tenant' as const, now };
const at = (instant: string) => ({ ...tenant, now: instant });
const first = randomUUID();
const second = randomUUID();
const roomId = randomUUID();
const landlordId = randomUUID();
const expiresAt = minutesFromNow(30);

const hold = (bookingId: string, from: number, to: number, roomBlocked: Array<{ from: string; to: string }> = []) =>
  ({
    type: 'HoldNights',
    data: { bookingId, checkIn: day(from), checkOut: day(to), expiresAt, roomBlocked },
    context: tenant,
  }) as const;
const held = (bookingId: string, list: string[], expiry: string | null = expiresAt): CalendarEvent => ({
  type: 'NightsHeld',
  data: { bookingId, nights: list, heldAt: now, expiresAt: expiry },
});
const released = (bookingId: string, list: string[], when = now): CalendarEvent => ({
  type: 'NightsReleased',
  data: { bookingId, nights: list, releasedAt: when },
});
const blockedSet = (blocked: Array<{ from: string; to: string }>): CalendarEvent => ({
  type: 'BlockedDatesSet',
  data: { roomId, blocked, setAt: now },
});

describe('HoldNights', () => {
  it('holds every night of [checkIn, checkOut) until the hold expires', () => {
    spec
      .given([])
      .when(hold(first, 10, 13))
      .then([held(first, nights(10, 13))]);
  });

  it('refuses a stay overlapping a live hold, naming the taken nights', () => {
    spec
      .given([held(first, nights(10, 12))])
      .when(hold(second, 11, 13))
      .thenThrows('ROOM_UNAVAILABLE', 'conflict');
    try {
      calendarDecider.decide(
        hold(second, 9, 12),
        calendarDecider.evolve(calendarDecider.initialState, held(first, nights(10, 12))),
      );
    } catch (error) {
      expect((error as { details: unknown }).details).toEqual({ nights: nights(10, 12) });
    }
  });

  it('refuses nights blocked on the calendar, and the room’s legacy blocks while the calendar has none', () => {
    spec
      .given([blockedSet([{ from: day(11), to: day(15) }])])
      .when(hold(first, 10, 12))
      .thenThrows('ROOM_UNAVAILABLE', 'conflict');
    spec
      .given([])
      .when(hold(first, 10, 12, [{ from: day(11), to: day(15) }]))
      .thenThrows('ROOM_UNAVAILABLE', 'conflict');
    // Once the calendar has its own blocks, the legacy ones no longer count.
    spec
      .given([blockedSet([])])
      .when(hold(first, 10, 12, [{ from: day(11), to: day(15) }]))
      .then([held(first, nights(10, 12))]);
  });

  it('takes the nights of a hold that expired without being confirmed', () => {
    spec
      .given([held(first, nights(10, 12), minutesFromNow(-1))])
      .when(hold(second, 10, 12))
      .then([held(second, nights(10, 12))]);
  });

  it('does nothing for the same booking again, and allows back-to-back stays', () => {
    spec
      .given([held(first, nights(10, 12))])
      .when(hold(first, 10, 12))
      .thenNothing();
    spec
      .given([held(first, nights(10, 12))])
      .when(hold(second, 12, 14))
      .then([held(second, nights(12, 14))]);
  });

  it('counts nights across month and year ends', () => {
    expect(nightsOf('2027-12-30', '2028-01-02')).toEqual(['2027-12-30', '2027-12-31', '2028-01-01']);
    expect(nightsOf('2028-02-28', '2028-03-01')).toEqual(['2028-02-28', '2028-02-29']);
  });
});

describe('ConfirmHold', () => {
  const confirm = (bookingId: string, instant = now) =>
    ({ type: 'ConfirmHold', data: { bookingId }, context: at(instant) }) as const;

  it('makes a live hold last until released', () => {
    spec
      .given([held(first, nights(10, 12))])
      .when(confirm(first))
      .then([{ type: 'HoldConfirmed', data: { bookingId: first, nights: nights(10, 12), confirmedAt: now } }]);
    // Confirmed, the nights stay taken after the hold's expiry.
    spec
      .given([
        held(first, nights(10, 12)),
        { type: 'HoldConfirmed', data: { bookingId: first, nights: nights(10, 12), confirmedAt: now } },
      ])
      .when({ ...hold(second, 10, 12), context: at(minutesFromNow(60)) })
      .thenThrows('ROOM_UNAVAILABLE', 'conflict');
  });

  it('refuses an expired hold, or nights the booking does not hold', () => {
    spec
      .given([held(first, nights(10, 12))])
      .when(confirm(first, minutesFromNow(31)))
      .thenThrows('HOLD_EXPIRED', 'illegal_state');
    spec.given([]).when(confirm(first)).thenThrows('HOLD_EXPIRED', 'illegal_state');
  });

  it('does nothing for a hold already confirmed (or a hold from before holds expired)', () => {
    spec
      .given([held(first, nights(10, 12), null)])
      .when(confirm(first, minutesFromNow(60)))
      .thenNothing();
  });
});

describe('ReleaseNights', () => {
  it('frees the booking’s nights, and a later request takes them', () => {
    spec
      .given([held(first, nights(10, 12))])
      .when({ type: 'ReleaseNights', data: { bookingId: first }, context: tenant })
      .then([released(first, nights(10, 12))]);
    spec
      .given([held(first, nights(10, 11)), released(first, nights(10, 11))])
      .when(hold(second, 10, 11))
      .then([held(second, nights(10, 11))]);
  });

  it('leaves nights another booking took after the hold expired', () => {
    spec
      .given([held(first, nights(10, 12), minutesFromNow(-1)), held(second, nights(11, 12))])
      .when({ type: 'ReleaseNights', data: { bookingId: first }, context: tenant })
      .then([released(first, nights(10, 11))]);
  });

  it('does nothing when the booking holds nothing', () => {
    spec
      .given([])
      .when({ type: 'ReleaseNights', data: { bookingId: first }, context: tenant })
      .thenNothing();
  });
});

describe('ReleaseExpiredHolds', () => {
  const sweep = (instant: string) => ({ type: 'ReleaseExpiredHolds', data: {}, context: at(instant) }) as const;

  it('records the release of every expired hold, per booking', () => {
    spec
      .given([held(first, nights(10, 12)), held(second, nights(20, 21), minutesFromNow(120))])
      .when(sweep(minutesFromNow(30)))
      .then([released(first, nights(10, 12), minutesFromNow(30))]);
  });

  it('keeps confirmed holds and holds not expired yet', () => {
    spec
      .given([held(first, nights(10, 12), null), held(second, nights(20, 21))])
      .when(sweep(minutesFromNow(29)))
      .thenNothing();
  });

  it('does nothing on an empty calendar', () => {
    spec.given([]).when(sweep(now)).thenNothing();
  });
});

describe('SetBlockedDates', () => {
  const owner = { actorId: landlordId, actorRole: 'landlord' as const, now };
  const room = (blocked: Array<{ from: string; to: string }> = []) => ({ exists: true, landlordId, blocked });
  const block = (
    blocked: Array<{ from: string; to: string }>,
    options: {
      context?: typeof owner | typeof tenant;
      legacy?: Array<{ from: string; to: string }>;
      horizonDays?: number;
    } = {},
  ) =>
    ({
      type: 'SetBlockedDates',
      data: { roomId, room: room(options.legacy), blocked, horizonDays: options.horizonDays },
      context: options.context ?? owner,
    }) as const;

  it('stores sorted, merged ranges on the calendar', () => {
    spec
      .given([])
      .when(
        block([
          { from: day(40), to: day(42) },
          { from: day(1), to: day(3) },
          { from: day(41), to: day(45) },
          { from: day(3), to: day(4) },
        ]),
      )
      .then([
        blockedSet([
          { from: day(1), to: day(4) },
          { from: day(40), to: day(45) },
        ]),
      ]);
  });

  it('refuses another landlord, a missing room, past nights and nights beyond the horizon', () => {
    spec
      .given([])
      .when(block([], { context: tenant }))
      .thenThrows('NOT_ROOM_OWNER', 'forbidden');
    spec
      .given([])
      .when({ ...block([]), data: { ...block([]).data, room: { exists: false, landlordId: null, blocked: [] } } })
      .thenThrows('ROOM_NOT_FOUND', 'not_found');
    spec
      .given([])
      .when(block([{ from: day(-2), to: day(1) }]))
      .thenThrows('BLOCK_IN_PAST', 'validation');
    spec
      .given([])
      .when(block([{ from: day(1), to: day(12) }], { horizonDays: 10 }))
      .thenThrows('BLOCK_BEYOND_HORIZON', 'validation');
  });

  it('keeps past blocks, from the calendar or the legacy room blocks', () => {
    spec
      .given([])
      .when(block([], { legacy: [{ from: day(-5), to: day(2) }] }))
      .then([blockedSet([{ from: day(-5), to: day(0) }])]);
  });

  it('does nothing when the blocks are the same', () => {
    spec
      .given([blockedSet([{ from: day(1), to: day(4) }])])
      .when(block([{ from: day(1), to: day(4) }]))
      .thenNothing();
    spec.given([]).when(block([])).thenNothing();
  });
});

describe('booking references', () => {
  it('are RL- and six unambiguous characters', () => {
    const reference = bookingReference([0, 0.2, 0.4, 0.6, 0.8, 0.9999]);
    expect(reference).toMatch(/^RL-[234679ACDEFGHJKMNPQRTUVWXYZ]{6}$/);
    expect(REFERENCE_ALPHABET).not.toMatch(/[01OILSB58]/);
  });

  it('derive from a digest, the same one each time', () => {
    const digest = createHash('sha256').update(first).digest();
    expect(referenceFromDigest(digest)).toMatch(/^RL-[234679ACDEFGHJKMNPQRTUVWXYZ]{6}$/);
    expect(referenceFromDigest(digest)).toBe(referenceFromDigest(createHash('sha256').update(first).digest()));
  });
});
