import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { completeFinishedStays, expireOverdueHolds } from '../../commands/bookingSweeps.js';
import { loadBooking } from '../../commands/bookings.js';
import { bookingsProjection } from '../../projections/bookings/bookingsProjection.js';
import { waitForCheckpoint } from '../../projections/status.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { publishedRoom } from '../support/flows.js';

let t: TestApp;
const landlordId = randomUUID();

const TODAY_MS = Date.now();
/** The day `offset` days from today (UTC), yyyy-mm-dd: no test date is one the calendar will pass. */
const dayFromNow = (offset: number) => new Date(TODAY_MS + offset * 86_400_000).toISOString().slice(0, 10);
beforeAll(async () => {
  t = await createTestApp({ config: { BOOKING_HOLD_MINUTES: '15' } });
});
afterAll(async () => {
  await t?.close();
});

async function pendingBooking(checkIn: string, checkOut: string) {
  const room = { id: await publishedRoom(t, landlordId) };
  const booking = await t.app.inject({
    method: 'POST',
    url: '/api/bookings',
    headers: t.as('tenant'),
    payload: { roomId: room.id, checkIn, checkOut, guests: 1 },
  });
  return { roomId: room.id as string, ...(booking.json() as { id: string; position: string }) };
}

describe('scheduled sweeps', () => {
  it('expires holds that ran out, from the read model, and frees their nights', async () => {
    const booking = await pendingBooking(dayFromNow(60), dayFromNow(62));
    await waitForCheckpoint(t.runtime.pool, bookingsProjection, BigInt(booking.position), 5000);
    const deps = { store: t.runtime.eventStore, queries: t.runtime.sweepQueries };
    expect(await expireOverdueHolds(deps, new Date(Date.now() + 10 * 60_000))).toBe(0);
    const later = new Date(Date.now() + 16 * 60_000);
    expect(await expireOverdueHolds(deps, later)).toBe(1);
    // A second sweep (another worker, or a retry, even before the read model caught up) changes nothing.
    expect(await expireOverdueHolds(deps, later)).toBe(0);
    const again = await t.app.inject({
      method: 'POST',
      url: '/api/bookings',
      headers: t.as('tenant'),
      payload: { roomId: booking.roomId, checkIn: dayFromNow(60), checkOut: dayFromNow(62), guests: 1 },
    });
    expect(again.statusCode).toBe(201);
  });

  it('leaves a booking the landlord confirmed in time alone', async () => {
    const booking = await pendingBooking(dayFromNow(90), dayFromNow(92));
    const confirmed = await t.app.inject({
      method: 'PUT',
      url: `/api/bookings/${booking.id}/status`,
      headers: t.as('landlord', landlordId),
      payload: { status: 'confirmed' },
    });
    await waitForCheckpoint(t.runtime.pool, bookingsProjection, BigInt(confirmed.json().position), 5000);
    const deps = { store: t.runtime.eventStore, queries: t.runtime.sweepQueries };
    await expireOverdueHolds(deps, new Date(Date.now() + 16 * 60_000));
    expect((await loadBooking(t.runtime.eventStore, booking.id)).state.status).toBe('confirmed');
    // Not checked in: nothing to complete after check-out either.
    await completeFinishedStays(deps, new Date(`${dayFromNow(92)}T12:00:00Z`));
    expect((await loadBooking(t.runtime.eventStore, booking.id)).state.status).toBe('confirmed');
  });
});
