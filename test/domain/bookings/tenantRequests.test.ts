import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  IN_FLIGHT_MS,
  type TenantRequestsCommand,
  type TenantRequestsEvent,
  tenantRequestsDecider,
} from '../../../domain/bookings/tenantRequests.js';
import { NOW } from '../../support/builders/rooms.js';
import { deciderSpec } from '../../support/deciderSpec.js';

const spec = deciderSpec(tenantRequestsDecider);
const tenantId = randomUUID();
const context = (now = NOW) => ({ actorId: tenantId, actorRole: 'tenant' as const, now });
const later = (ms: number) => new Date(Date.parse(NOW) + ms).toISOString();

const admit = (
  bookingId: string,
  pendingBookingIds: string[] = [],
  recordedBookingIds: string[] = [],
  now = NOW,
): TenantRequestsCommand => ({
  type: 'AdmitBookingRequest',
  data: { bookingId, max: 3, pendingBookingIds, recordedBookingIds },
  context: context(now),
});
const admitted = (bookingId: string, at = NOW): TenantRequestsEvent => ({
  type: 'BookingRequestAdmitted',
  data: { bookingId, admittedAt: at },
});

describe('AdmitBookingRequest: at most `max` pending bookings per tenant', () => {
  it('admits a request while fewer bookings are pending than the cap', () => {
    const id = randomUUID();
    spec
      .given([])
      .when(admit(id, [randomUUID(), randomUUID()]))
      .then([admitted(id)]);
  });

  it('refuses the request that would exceed the cap with the numbers', () => {
    const pending = [randomUUID(), randomUUID(), randomUUID()];
    spec.given([]).when(admit(randomUUID(), pending)).thenThrows('TOO_MANY_PENDING_BOOKINGS', 'illegal_state');
    expect(() =>
      tenantRequestsDecider.decide(admit(randomUUID(), pending), tenantRequestsDecider.initialState),
    ).toThrow(expect.objectContaining({ details: { pending: 3, max: 3 } }));
  });

  it('counts requests admitted a moment ago whose booking is not recorded yet (concurrent requests)', () => {
    const [a, b] = [randomUUID(), randomUUID()];
    spec
      .given([admitted(a), admitted(b)])
      .when(admit(randomUUID(), [randomUUID()]))
      .thenThrows('TOO_MANY_PENDING_BOOKINGS', 'illegal_state');
    // Once recorded, a booking counts only if it is still pending.
    const id = randomUUID();
    spec
      .given([admitted(a), admitted(b)])
      .when(admit(id, [a], [a, b]))
      .then([admitted(id)]);
  });

  it('forgets a request that never recorded its booking: withdrawn, or admitted longer ago than it takes', () => {
    const [a, b] = [randomUUID(), randomUUID()];
    const id = randomUUID();
    spec
      .given([admitted(a), admitted(b), { type: 'BookingRequestWithdrawn', data: { bookingId: b, withdrawnAt: NOW } }])
      .when(admit(id, [randomUUID()]))
      .then([admitted(id)]);
    spec
      .given([admitted(a), admitted(b)])
      .when(admit(id, [randomUUID()], [], later(IN_FLIGHT_MS + 1)))
      .then([admitted(id, later(IN_FLIGHT_MS + 1))]);
  });

  it('does nothing for a request already admitted (a retry), and never counts the request itself', () => {
    const id = randomUUID();
    spec
      .given([admitted(id)])
      .when(admit(id, [randomUUID(), randomUUID(), randomUUID()]))
      .thenNothing();
    spec
      .given([])
      .when(admit(id, [id, randomUUID(), randomUUID()]))
      .then([admitted(id)]);
  });
});

describe('WithdrawBookingRequest', () => {
  it('withdraws an admitted request once; an unknown one changes nothing', () => {
    const id = randomUUID();
    const withdraw = { type: 'WithdrawBookingRequest', data: { bookingId: id }, context: context() } as const;
    spec
      .given([admitted(id)])
      .when(withdraw)
      .then([{ type: 'BookingRequestWithdrawn', data: { bookingId: id, withdrawnAt: NOW } }]);
    spec
      .given([admitted(id), { type: 'BookingRequestWithdrawn', data: { bookingId: id, withdrawnAt: NOW } }])
      .when(withdraw)
      .thenNothing();
    spec.given([]).when(withdraw).thenNothing();
  });
});
