import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { BookingCommand } from '../../../domain/bookings/commands.js';
import {
  bookingDecider,
  cancellationFee,
  type TransitionCommand,
  transitionTo,
} from '../../../domain/bookings/decider.js';
import { fold } from '../../../domain/shared/decider.js';
import { bookingFixture } from '../../support/builders/bookings.js';
import { deciderSpec } from '../../support/deciderSpec.js';

const spec = deciderSpec(bookingDecider);

describe('RequestBooking', () => {
  const f = bookingFixture();
  const request = (
    overrides: Partial<Extract<BookingCommand, { type: 'RequestBooking' }>['data']> = {},
    now = '2027-01-01T10:00:00.000Z',
  ) =>
    ({
      type: 'RequestBooking',
      data: {
        bookingId: f.bookingId,
        reference: 'RL-7K3M9Q',
        room: f.room,
        checkIn: '2027-02-10',
        checkOut: '2027-02-13',
        guests: 1,
        holdMinutes: 24 * 60,
        ...overrides,
      },
      context: f.tenant(now),
    }) as const;

  it('holds the stay at nights × price, with a hold that expires', () => {
    spec.given([]).when(request()).then([f.requested]);
  });

  it.each([
    [{ checkOut: '2027-02-10' }, 'INVALID_STAY'],
    [{ checkIn: '2026-12-31', checkOut: '2027-01-03' }, 'CHECK_IN_IN_PAST'],
    [{ checkOut: '2027-04-12' }, 'STAY_TOO_LONG'],
    [{ guests: 3 }, 'TOO_MANY_GUESTS'],
    [{ guests: 0 }, 'TOO_MANY_GUESTS'],
    [{ checkIn: '2027-02-30' }, 'INVALID_DATE'],
  ])('rejects %j', (overrides, code) => {
    spec.given([]).when(request(overrides)).thenThrows(code, 'validation');
  });

  it('accepts a check-in today and exactly 60 nights', () => {
    const events = bookingDecider.decide(
      request({ checkIn: '2027-01-01', checkOut: '2027-03-02' }),
      bookingDecider.initialState,
    );
    expect(events[0]!.type === 'BookingRequested' && events[0]!.data.nights).toBe(60);
  });

  it('refuses a room that is not published, and anyone but a tenant', () => {
    spec
      .given([])
      .when(request({ room: { ...f.room, status: 'draft' } }))
      .thenThrows('ROOM_NOT_BOOKABLE', 'illegal_state');
    spec
      .given([])
      .when({ ...request(), context: f.landlord('2027-01-01T10:00:00.000Z') })
      .thenThrows('TENANTS_ONLY', 'forbidden');
  });

  it('refuses a booking that exists', () => {
    spec.given([f.requested]).when(request()).thenThrows('BOOKING_EXISTS', 'conflict');
  });
});

/** Every state × every transition: the legal ones, the no-ops, and ILLEGAL_TRANSITION for the rest. */
describe('transitions: every state against every command', () => {
  const legal: Record<TransitionCommand, string[]> = {
    ConfirmBooking: ['pending'],
    RejectBooking: ['pending'],
    CancelBooking: ['pending', 'confirmed'],
    ExpireBooking: ['pending'],
    CheckInGuest: ['confirmed'],
    MarkNoShow: ['confirmed'],
    CompleteBooking: ['checked_in'],
  };
  // A moment at which every time rule of the legal transition holds.
  const when: Record<TransitionCommand, string> = {
    ConfirmBooking: '2027-01-01T20:00:00.000Z',
    RejectBooking: '2027-01-01T20:00:00.000Z',
    CancelBooking: '2027-01-01T20:00:00.000Z',
    ExpireBooking: '2027-01-02T10:00:00.000Z',
    CheckInGuest: '2027-02-10T15:00:00.000Z',
    MarkNoShow: '2027-02-11T09:00:00.000Z',
    CompleteBooking: '2027-02-13T12:00:00.000Z',
  };
  const actor = (f: ReturnType<typeof bookingFixture>, command: TransitionCommand) =>
    command === 'CancelBooking'
      ? f.tenant
      : command === 'ExpireBooking' || command === 'CompleteBooking'
        ? f.system
        : f.landlord;
  const states = ['pending', 'confirmed', 'rejected', 'cancelled', 'expired', 'checked_in', 'no_show', 'completed'];

  for (const command of Object.keys(legal) as TransitionCommand[]) {
    for (const state of states) {
      const target = transitionTo(command);
      const outcome = legal[command].includes(state) ? 'moves' : state === target ? 'no-op' : 'illegal';
      it(`${command} on ${state}: ${outcome}`, () => {
        const f = bookingFixture();
        const cmd = {
          type: command,
          data: { bookingId: f.bookingId },
          context: actor(f, command)(when[command]),
        } as BookingCommand;
        const given = f.states[state]!;
        if (outcome === 'moves') {
          const events = bookingDecider.decide(cmd, fold(bookingDecider, given));
          expect(events).toHaveLength(1);
          expect(bookingDecider.evolve(fold(bookingDecider, given), events[0]!).status).toBe(target);
        } else if (outcome === 'no-op' || actor(f, command) === f.system) {
          spec.given(given).when(cmd).thenNothing();
        } else {
          spec.given(given).when(cmd).thenThrows('ILLEGAL_TRANSITION', 'illegal_state');
        }
      });
    }
  }

  it('answers not found for a booking that does not exist', () => {
    const f = bookingFixture();
    spec
      .given([])
      .when({ type: 'ConfirmBooking', data: { bookingId: f.bookingId }, context: f.landlord(when.ConfirmBooking) })
      .thenThrows('BOOKING_NOT_FOUND', 'not_found');
  });
});

describe('reasons', () => {
  it('records the landlord’s reason for a no-show (null when none is given)', () => {
    const f = bookingFixture();
    const reason = 'a free text, personal data of its writer';
    spec
      .given(f.states.confirmed)
      .when({
        type: 'MarkNoShow',
        data: { bookingId: f.bookingId, reason },
        context: f.landlord('2027-02-11T09:00:00.000Z'),
      })
      .then([
        {
          type: 'BookingNoShow',
          data: { bookingId: f.bookingId, by: f.landlordId, reason, recordedAt: '2027-02-11T09:00:00.000Z' },
        },
      ]);
    spec
      .given(f.states.confirmed)
      .when({ type: 'MarkNoShow', data: { bookingId: f.bookingId }, context: f.landlord('2027-02-11T09:00:00.000Z') })
      .then([
        {
          type: 'BookingNoShow',
          data: { bookingId: f.bookingId, by: f.landlordId, reason: null, recordedAt: '2027-02-11T09:00:00.000Z' },
        },
      ]);
  });
});

describe('who may make each transition', () => {
  const f = bookingFixture();
  const stranger = { actorId: randomUUID(), actorRole: 'landlord' as const, now: '2027-01-01T20:00:00.000Z' };
  const cases: Array<[TransitionCommand, string, object]> = [
    ['ConfirmBooking', 'the tenant', f.tenant('2027-01-01T20:00:00.000Z')],
    ['ConfirmBooking', 'another landlord', stranger],
    ['ConfirmBooking', 'an admin', { ...stranger, actorRole: 'admin' }],
    ['RejectBooking', 'the tenant', f.tenant('2027-01-01T20:00:00.000Z')],
    ['CancelBooking', 'the landlord', f.landlord('2027-01-01T20:00:00.000Z')],
    ['CancelBooking', 'another tenant', { ...stranger, actorRole: 'tenant' }],
    ['ExpireBooking', 'the landlord', f.landlord('2027-01-02T10:00:00.000Z')],
    ['CheckInGuest', 'the tenant', f.tenant('2027-02-10T15:00:00.000Z')],
    ['MarkNoShow', 'the tenant', f.tenant('2027-02-11T09:00:00.000Z')],
    ['CompleteBooking', 'the landlord', f.landlord('2027-02-13T12:00:00.000Z')],
  ];
  it.each(cases)('%s by %s is refused', (command, _who, context) => {
    const state = ['CheckInGuest', 'MarkNoShow'].includes(command)
      ? 'confirmed'
      : command === 'CompleteBooking'
        ? 'checked_in'
        : 'pending';
    spec
      .given(f.states[state]!)
      .when({ type: command, data: { bookingId: f.bookingId }, context } as BookingCommand)
      .thenThrows('TRANSITION_NOT_ALLOWED', 'forbidden');
  });
});

describe('time rules', () => {
  const f = bookingFixture();
  it('cannot confirm once the hold has expired', () => {
    spec
      .given(f.states.pending!)
      .when({
        type: 'ConfirmBooking',
        data: { bookingId: f.bookingId },
        context: f.landlord('2027-01-02T10:00:00.000Z'),
      })
      .thenThrows('HOLD_EXPIRED', 'illegal_state');
  });
  it('does not expire a hold early', () => {
    spec
      .given(f.states.pending!)
      .when({ type: 'ExpireBooking', data: { bookingId: f.bookingId }, context: f.system('2027-01-02T09:59:59.000Z') })
      .thenThrows('HOLD_NOT_EXPIRED', 'illegal_state');
  });
  it('records check-in only during the stay, no-show only from the check-in date, completion after check-out', () => {
    spec
      .given(f.states.confirmed!)
      .when({ type: 'CheckInGuest', data: { bookingId: f.bookingId }, context: f.landlord('2027-02-09T23:00:00.000Z') })
      .thenThrows('NOT_DURING_STAY');
    spec
      .given(f.states.confirmed!)
      .when({ type: 'CheckInGuest', data: { bookingId: f.bookingId }, context: f.landlord('2027-02-13T08:00:00.000Z') })
      .thenThrows('NOT_DURING_STAY');
    spec
      .given(f.states.confirmed!)
      .when({ type: 'MarkNoShow', data: { bookingId: f.bookingId }, context: f.landlord('2027-02-09T23:00:00.000Z') })
      .thenThrows('BEFORE_CHECK_IN');
    spec
      .given(f.states.checked_in!)
      .when({
        type: 'CompleteBooking',
        data: { bookingId: f.bookingId },
        context: f.system('2027-02-12T23:00:00.000Z'),
      })
      .thenThrows('BEFORE_CHECK_OUT');
  });
});

describe('cancellation fees by policy', () => {
  const feeAt = (policy: 'flexible' | 'moderate' | 'strict', status: 'pending' | 'confirmed', now: string) => {
    const f = bookingFixture({ cancellationPolicy: policy });
    return cancellationFee(fold(bookingDecider, f.states[status]!), now);
  };
  // Check-in is 2027-02-10 (00:00 UTC); 3 nights at 45.00 EUR.
  it.each([
    ['flexible', '2027-02-09T00:00:00.000Z', 0],
    ['flexible', '2027-02-09T00:00:01.000Z', 4500],
    ['moderate', '2027-02-05T00:00:00.000Z', 0],
    ['moderate', '2027-02-05T00:00:01.000Z', 4500],
    ['strict', '2027-01-01T13:00:00.000Z', 6750],
  ] as const)('%s at %s: %i due', (policy, now, fee) => {
    expect(feeAt(policy, 'confirmed', now)).toBe(fee);
  });
  it('leaves nothing due for a booking the landlord never confirmed', () => {
    expect(feeAt('strict', 'pending', '2027-02-09T12:00:00.000Z')).toBe(0);
  });
  it('records the fee in the cancellation', () => {
    const f = bookingFixture({ cancellationPolicy: 'strict' });
    const [event] = bookingDecider.decide(
      {
        type: 'CancelBooking',
        data: { bookingId: f.bookingId, reason: 'exam moved' },
        context: f.tenant('2027-01-05T00:00:00.000Z'),
      },
      fold(bookingDecider, f.states.confirmed!),
    );
    expect(event).toMatchObject({
      type: 'BookingCancelled',
      data: { feeDue: 6750, currency: 'EUR', reason: 'exam moved' },
    });
  });
});
