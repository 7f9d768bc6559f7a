import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { calendarDecider, nightsOf } from '../../../domain/bookings/calendar.js';
import { bookingReference, REFERENCE_ALPHABET } from '../../../domain/bookings/reference.js';
import { deciderSpec } from '../../support/deciderSpec.js';

const spec = deciderSpec(calendarDecider);
const now = '2027-01-01T10:00:00.000Z';
const context = { actorId: randomUUID(), actorRole: 'tenant' as const, now };
const first = randomUUID();
const second = randomUUID();
const hold = (
  bookingId: string,
  checkIn: string,
  checkOut: string,
  blocked: Array<{ from: string; to: string }> = [],
) => ({ type: 'HoldNights', data: { bookingId, checkIn, checkOut, blocked }, context }) as const;
const held = (bookingId: string, nights: string[]) =>
  ({ type: 'NightsHeld', data: { bookingId, nights, heldAt: now } }) as const;

describe('room calendar', () => {
  it('holds every night of [checkIn, checkOut)', () => {
    spec
      .given([])
      .when(hold(first, '2027-02-27', '2027-03-02'))
      .then([held(first, ['2027-02-27', '2027-02-28', '2027-03-01'])]);
  });

  it('refuses a stay overlapping another booking, naming the taken nights', () => {
    spec
      .given([held(first, ['2027-02-10', '2027-02-11'])])
      .when(hold(second, '2027-02-11', '2027-02-13'))
      .thenThrows('ROOM_UNAVAILABLE', 'conflict');
    try {
      calendarDecider.decide(
        hold(second, '2027-02-09', '2027-02-12'),
        calendarDecider.evolve(calendarDecider.initialState, held(first, ['2027-02-10', '2027-02-11'])),
      );
    } catch (error) {
      expect((error as { details: unknown }).details).toEqual({ nights: ['2027-02-10', '2027-02-11'] });
    }
  });

  it('allows back-to-back stays (check-out day is not a night)', () => {
    spec
      .given([held(first, ['2027-02-10', '2027-02-11'])])
      .when(hold(second, '2027-02-12', '2027-02-14'))
      .then([held(second, ['2027-02-12', '2027-02-13'])]);
  });

  it('refuses blocked nights', () => {
    spec
      .given([])
      .when(hold(first, '2027-02-10', '2027-02-12', [{ from: '2027-02-11', to: '2027-02-15' }]))
      .thenThrows('ROOM_UNAVAILABLE', 'conflict');
  });

  it('is idempotent for the same booking, and frees nights on release', () => {
    spec
      .given([held(first, ['2027-02-10'])])
      .when(hold(first, '2027-02-10', '2027-02-11'))
      .thenNothing();
    spec
      .given([held(first, ['2027-02-10', '2027-02-11'])])
      .when({ type: 'ReleaseNights', data: { bookingId: first }, context })
      .then([
        { type: 'NightsReleased', data: { bookingId: first, nights: ['2027-02-10', '2027-02-11'], releasedAt: now } },
      ]);
    spec
      .given([
        held(first, ['2027-02-10']),
        { type: 'NightsReleased', data: { bookingId: first, nights: ['2027-02-10'], releasedAt: now } },
      ])
      .when(hold(second, '2027-02-10', '2027-02-11'))
      .then([held(second, ['2027-02-10'])]);
    spec
      .given([])
      .when({ type: 'ReleaseNights', data: { bookingId: first }, context })
      .thenNothing();
  });

  it('counts nights across month and year ends', () => {
    expect(nightsOf('2027-12-30', '2028-01-02')).toEqual(['2027-12-30', '2027-12-31', '2028-01-01']);
    expect(nightsOf('2028-02-28', '2028-03-01')).toEqual(['2028-02-28', '2028-02-29']);
  });
});

describe('booking references', () => {
  it('are RL- and six unambiguous characters', () => {
    const reference = bookingReference([0, 0.2, 0.4, 0.6, 0.8, 0.9999]);
    expect(reference).toMatch(/^RL-[234679ACDEFGHJKMNPQRTUVWXYZ]{6}$/);
    expect(REFERENCE_ALPHABET).not.toMatch(/[01OILSB58]/);
  });
});
