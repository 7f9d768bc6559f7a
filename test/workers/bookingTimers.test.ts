import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBooking, requestBooking } from '../../commands/bookings.js';
import type { CommandEnvelope } from '../../commands/handleCommand.js';
import { calendarDecider, calendarStreamId } from '../../domain/bookings/calendar.js';
import { fold } from '../../domain/shared/decider.js';
import { timerJobId } from '../../infra/queues/bookingTimers.js';
import { queueConnection } from '../../infra/queues/queues.js';
import { createBookingTimersWorker } from '../../workers/bookingTimersWorker.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { publishedRoom } from '../support/flows.js';
import { waitFor } from './support.js';

let t: TestApp;

const TODAY_MS = Date.now();
/** The day `offset` days from today (UTC), yyyy-mm-dd: no test date is one the calendar will pass. */
const dayFromNow = (offset: number) => new Date(TODAY_MS + offset * 86_400_000).toISOString().slice(0, 10);
let worker: ReturnType<typeof createBookingTimersWorker>;
beforeAll(async () => {
  t = await createTestApp();
  // Only the timers worker: the minute sweep, which would expire the same holds, is not running here.
  worker = createBookingTimersWorker({
    at: queueConnection(t.runtime.config.REDIS_URL, t.runtime.config.QUEUE_PREFIX),
    clock: t.runtime.clock,
    eventStore: t.runtime.eventStore,
    logger: t.runtime.logger,
  });
  await worker.waitUntilReady();
});
afterAll(async () => {
  await worker?.close();
  await t?.close();
});

const envelope = (now: string): CommandEnvelope => ({
  now,
  newId: randomUUID,
  metadata: { correlationId: randomUUID(), causationId: null, actorId: null, actorRole: 'tenant', requestId: null },
});

async function heldNights(roomId: string): Promise<string[]> {
  const events = [];
  for await (const e of t.runtime.eventStore.readStream(calendarStreamId(roomId))) events.push(e);
  return [...fold(calendarDecider, events as never).held.keys()];
}

describe('booking deadlines as BullMQ delayed jobs', () => {
  it('expires a hold when its delayed job comes due, and frees the nights', async () => {
    const roomId = await publishedRoom(t);
    const bookingId = randomUUID();
    // Requested a day and a half ago with a 24-hour hold: its deadline has passed when the job is scheduled.
    const requestedAt = new Date(Date.now() - 36 * 3600_000).toISOString();
    await requestBooking(
      { store: t.runtime.eventStore, newReference: () => `RL-${randomUUID().slice(0, 6).toUpperCase()}` },
      { roomId, bookingId, checkIn: dayFromNow(60), checkOut: dayFromNow(62), guests: 1, holdMinutes: 24 * 60 },
      { actorId: randomUUID(), actorRole: 'tenant', now: requestedAt },
      envelope(requestedAt),
    );
    expect(await heldNights(roomId)).toEqual([dayFromNow(60), dayFromNow(61)]);

    const job = await waitFor('the expiry job', () =>
      t.runtime.queues.bookingTimers.getJob(timerJobId({ kind: 'expire-hold', bookingId })),
    );
    await waitFor('the job to finish', async () => (await job.getState()) === 'completed', 15_000);
    expect((await t.runtime.queues.bookingTimers.getJob(job.id!))!.returnvalue).toEqual({ changed: true });
    expect((await loadBooking(t.runtime.eventStore, bookingId)).state.status).toBe('expired');
    expect(await heldNights(roomId)).toEqual([]);
  });

  it('retries a job that fires before its deadline, and leaves the booking as it is', async () => {
    const roomId = await publishedRoom(t);
    const booking = await t.app.inject({
      method: 'POST',
      url: '/api/bookings',
      headers: t.as('tenant'),
      payload: { roomId, checkIn: dayFromNow(90), checkOut: dayFromNow(91), guests: 1 },
    });
    const bookingId = booking.json().id as string;
    const scheduled = await waitFor('the expiry job', () =>
      t.runtime.queues.bookingTimers.getJob(timerJobId({ kind: 'expire-hold', bookingId })),
    );
    // Scheduled for the hold's end, 24 hours from now.
    // BullMQ stamps the job a moment after the delay is computed: within a second.
    expect(
      Math.abs(scheduled.timestamp + (scheduled.opts.delay ?? 0) - Date.parse(booking.json().holdExpiresAt)),
    ).toBeLessThan(1000);

    // A clock far ahead of the store's (or a stray job) asks too early: the decider refuses, the job is retried.
    const early = { kind: 'expire-hold' as const, bookingId: randomUUID() };
    const store = t.runtime.eventStore;
    const loneBooking = await t.app.inject({
      method: 'POST',
      url: '/api/bookings',
      headers: t.as('tenant'),
      payload: { roomId, checkIn: dayFromNow(120), checkOut: dayFromNow(121), guests: 1 },
    });
    early.bookingId = loneBooking.json().id;
    await t.runtime.queues.bookingTimers.add(
      early.kind,
      { bookingId: early.bookingId, at: new Date().toISOString() },
      { jobId: `early-${early.bookingId}` },
    );
    const failed = await waitFor('the early job to fail once', async () => {
      const job = await t.runtime.queues.bookingTimers.getJob(`early-${early.bookingId}`);
      return job && job.attemptsMade >= 1 ? job : undefined;
    });
    expect(failed.failedReason).toMatch(/hold has not expired/);
    expect(['delayed', 'waiting']).toContain(await failed.getState());
    expect((await loadBooking(store, early.bookingId)).state.status).toBe('pending');
  });
});
