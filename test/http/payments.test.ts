import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bookingProcessName } from '../../commands/bookingProcess.js';
import { markOverduePayments } from '../../commands/bookingSweeps.js';
import { changeBookingStatus, requestBooking } from '../../commands/bookings.js';
import { paymentStreamId } from '../../domain/payments/events.js';
import { timerJobId } from '../../infra/queues/bookingTimers.js';
import { mailJobId } from '../../infra/queues/queues.js';
import { ProjectionRunner } from '../../projections/runner.js';
import { waitForCheckpoint } from '../../projections/status.js';
import { purgeOldProcessEffects } from '../../workers/maintenance.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { roomBody } from '../support/builders/rooms.js';
import { publishedRoom } from '../support/flows.js';
import { notificationEventsOf } from '../support/notificationFlows.js';
import { waitFor } from '../workers/support.js';

let t: TestApp;

const TODAY_MS = Date.now();
/** The day `offset` days from today (UTC), yyyy-mm-dd: no test date is one the calendar will pass. */
const dayFromNow = (offset: number) => new Date(TODAY_MS + offset * 86_400_000).toISOString().slice(0, 10);
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

type Json = Record<string, unknown>;
type Headers = Record<string, string>;

/** A tenant registered through the API (so mail can reach them) and signed in. */
async function registeredTenant(): Promise<{ id: string; headers: Headers }> {
  const email = `tenant-${randomUUID().slice(0, 8)}@example.org`;
  const password = 'correct horse battery staple';
  const registered = await t.app.inject({
    method: 'POST',
    url: '/api/auth/register',
    payload: { email, password, role: 'tenant', fullName: 'Giulia Rossi', phone: `+39${Date.now() % 1e9}1` },
  });
  expect(registered.statusCode).toBe(201);
  const { user, accessToken } = registered.json() as { user: { id: string }; accessToken: string };
  return { id: user.id, headers: { authorization: `Bearer ${accessToken}` } };
}

async function confirmedBooking(
  options: { policy?: 'flexible' | 'moderate' | 'strict'; tenant?: { id: string; headers: Headers } } = {},
) {
  const landlordId = randomUUID();
  const landlord = t.as('landlord', landlordId);
  const room = (
    await t.app.inject({
      method: 'POST',
      url: '/api/rooms',
      headers: landlord,
      payload: { ...roomBody({ pricePerNight: 4_500 }), cancellationPolicy: options.policy ?? 'moderate' },
    })
  ).json();
  await t.app.inject({ method: 'POST', url: `/api/rooms/${room.id}/publish`, headers: landlord });
  const tenantId = options.tenant?.id ?? randomUUID();
  const tenant = options.tenant?.headers ?? t.as('tenant', tenantId);
  const requested = await t.app.inject({
    method: 'POST',
    url: '/api/bookings',
    headers: tenant,
    payload: { roomId: room.id, checkIn: dayFromNow(90), checkOut: dayFromNow(93), guests: 1 },
  });
  expect(requested.statusCode).toBe(201);
  const id = requested.json().id as string;
  const confirmed = await t.app.inject({
    method: 'PUT',
    url: `/api/bookings/${id}/status`,
    headers: landlord,
    payload: { status: 'confirmed' },
  });
  expect(confirmed.statusCode).toBe(200);
  return { id, landlord, landlordId, tenant, tenantId, roomId: room.id as string };
}

const getBooking = (id: string, headers: Headers) =>
  t.app.inject({ method: 'GET', url: `/api/bookings/${id}`, headers });

/** The booking once the process manager opened its payment record and the payments projection shows it. */
function withPaymentRecord(id: string, headers: Headers): Promise<Json> {
  return waitFor('the payment record', async () => {
    const booking = (await getBooking(id, headers)).json() as Json;
    return booking.payment ? booking : undefined;
  });
}

const pay = (id: string, headers: Headers, amount: number, extra: Headers = {}) =>
  t.app.inject({
    method: 'POST',
    url: `/api/bookings/${id}/payments`,
    headers: { ...headers, ...extra },
    payload: { amount, method: 'cash' },
  });

describe('payment tracking', () => {
  it('opens the full amount due at check-in on confirmation; the landlord records partial cash up to the balance', async () => {
    const b = await confirmedBooking();
    const booking = await withPaymentRecord(b.id, b.tenant);
    expect(booking.payment).toEqual({
      status: 'due',
      method: 'cash',
      amountDue: 13_500,
      amountPaid: 0,
      balanceDue: 13_500,
      refundDue: 0,
      currency: 'EUR',
      dueAt: `${dayFromNow(90)}T00:00:00.000Z`,
      overdueSince: null,
    });
    expect(booking.payments).toEqual([]);

    const tooMuch = await pay(b.id, b.landlord, 13_501);
    expect(tooMuch.statusCode).toBe(422);
    expect(tooMuch.json()).toMatchObject({ error: 'AMOUNT_EXCEEDS_BALANCE', details: { balanceDue: 13_500 } });

    const first = await pay(b.id, b.landlord, 5_000);
    expect(first.statusCode).toBe(201);
    const receipt = first.json();
    expect(receipt).toMatchObject({ amount: 5_000, balanceDue: 8_500 });
    expect(Date.parse(receipt.paidAt)).toBeGreaterThan(Date.now() - 60_000);

    const rest = await pay(b.id, b.landlord, 8_500);
    expect(rest.json()).toMatchObject({ amount: 8_500, balanceDue: 0 });
    expect((await pay(b.id, b.landlord, 1)).json()).toMatchObject({
      error: 'AMOUNT_EXCEEDS_BALANCE',
      message: 'nothing is left to pay on this booking',
    });

    const after = (await getBooking(b.id, { ...b.tenant, 'x-min-position': rest.json().position })).json() as Json & {
      payments: Json[];
      payment: Json;
    };
    expect(after.payments.map((p) => [p.id, p.amount, p.method, p.recordedBy])).toEqual([
      [receipt.id, 5_000, 'cash', b.landlordId],
      [rest.json().id, 8_500, 'cash', b.landlordId],
    ]);
    expect(after.payment).toMatchObject({ status: 'paid', amountPaid: 13_500, balanceDue: 0 });
  });

  it('takes payments from the room’s landlord only, for confirmed bookings only, with a valid body', async () => {
    const b = await confirmedBooking();
    await withPaymentRecord(b.id, b.tenant);
    expect((await pay(b.id, b.tenant, 100)).statusCode).toBe(403);
    const stranger = await pay(b.id, t.as('landlord'), 100);
    expect([stranger.statusCode, stranger.json().error]).toEqual([403, 'PAYMENT_NOT_ALLOWED']);
    expect((await pay(randomUUID(), b.landlord, 100)).json().error).toBe('BOOKING_NOT_FOUND');
    for (const payload of [
      { amount: 0, method: 'cash' },
      { amount: 10.5, method: 'cash' },
      { amount: 100, method: 'card' },
      { amount: 100 },
      { amount: '100', method: 'cash', extra: 1 },
    ]) {
      const bad = await t.app.inject({
        method: 'POST',
        url: `/api/bookings/${b.id}/payments`,
        headers: b.landlord,
        payload,
      });
      expect(bad.statusCode, JSON.stringify(payload)).toBe(400);
      expect(bad.json()).toMatchObject({ error: expect.any(String), message: expect.any(String) });
    }

    // A booking still pending owes nothing yet.
    const landlordId = randomUUID();
    const room = { id: await publishedRoom(t, landlordId) };
    const pending = await t.app.inject({
      method: 'POST',
      url: '/api/bookings',
      headers: t.as('tenant'),
      payload: { roomId: room.id, checkIn: dayFromNow(120), checkOut: dayFromNow(121), guests: 1 },
    });
    const early = await pay(pending.json().id, t.as('landlord', landlordId), 100);
    expect([early.statusCode, early.json().error]).toEqual([422, 'NO_PAYMENT_DUE']);
  });

  it('records a retried payment once, and lets concurrent payments never exceed the balance', async () => {
    const b = await confirmedBooking();
    await withPaymentRecord(b.id, b.tenant);
    const key = { 'idempotency-key': randomUUID() };
    const first = await pay(b.id, b.landlord, 1_000, key);
    const retry = await pay(b.id, b.landlord, 1_000, key);
    expect(retry.json()).toEqual(first.json());

    // 12 landlords' devices at once, 4,000 each, against 12,500 left: exactly three fit.
    const answers = await Promise.all(Array.from({ length: 12 }, () => pay(b.id, b.landlord, 4_000)));
    const codes = answers.map((a) => a.statusCode).sort();
    expect(codes.filter((c) => c === 201)).toHaveLength(3);
    expect(codes.filter((c) => c !== 201).every((c) => c === 422)).toBe(true);
    const events = [];
    for await (const event of t.runtime.eventStore.readStream(paymentStreamId(b.id))) events.push(event);
    const paid = events
      .filter((e) => e.type === 'CashPaymentReceived')
      .reduce((sum, e) => sum + (e.data as { amount: number }).amount, 0);
    expect(paid).toBe(13_000);
  });

  it('marks an unpaid balance overdue one day past check-in, once', async () => {
    const b = await confirmedBooking();
    await withPaymentRecord(b.id, b.tenant);
    const part = await pay(b.id, b.landlord, 2_000);
    await waitForCheckpoint(
      t.runtime.pool,
      t.runtime.projections.find((p) => p.name === 'payments')!,
      BigInt(part.json().position),
      5000,
    );
    const deps = { store: t.runtime.eventStore, queries: t.runtime.sweepQueries };
    expect(await markOverduePayments(deps, new Date(`${dayFromNow(90)}T23:59:00Z`))).toBe(0);
    expect(await markOverduePayments(deps, new Date(`${dayFromNow(91)}T00:00:01Z`))).toBeGreaterThanOrEqual(1);
    const booking = await waitFor('overdue in the read model', async () => {
      const view = (await getBooking(b.id, b.landlord)).json() as { payment: Json };
      return view.payment.status === 'overdue' ? view : undefined;
    });
    expect(booking.payment).toMatchObject({ balanceDue: 11_500, overdueSince: `${dayFromNow(91)}T00:00:01.000Z` });
    expect(await markOverduePayments(deps, new Date(`${dayFromNow(92)}T00:00:00Z`))).toBe(0);
    const overdue = [];
    for await (const event of t.runtime.eventStore.readStream(paymentStreamId(b.id))) {
      if (event.type === 'PaymentOverdue') overdue.push(event);
    }
    expect(overdue).toHaveLength(1);
    // The rest paid late: settled.
    const rest = await pay(b.id, b.landlord, 11_500);
    expect(rest.json().balanceDue).toBe(0);
  });

  it('owes the cancellation fee instead of the total after a cancellation, and shows cash to give back', async () => {
    const b = await confirmedBooking({ policy: 'strict' });
    await withPaymentRecord(b.id, b.tenant);
    await pay(b.id, b.landlord, 10_000);
    const cancelled = await t.app.inject({
      method: 'PUT',
      url: `/api/bookings/${b.id}/status`,
      headers: b.tenant,
      payload: { status: 'cancelled' },
    });
    expect(cancelled.statusCode).toBe(200);
    const seen = { ...b.tenant, 'x-min-position': cancelled.json().position };
    const booking = await waitFor('the adjusted payment record', async () => {
      const view = (await getBooking(b.id, seen)).json() as { payment: Json; cancellationFee: number };
      return view.payment.amountDue !== 13_500 ? view : undefined;
    });
    // strict: half of 13,500, rounded up.
    expect(booking.cancellationFee).toBe(6_750);
    expect(booking.payment).toMatchObject({ amountDue: 6_750, amountPaid: 10_000, balanceDue: 0, refundDue: 3_250 });
  });
});

describe('the booking process manager', () => {
  it('opens the payment record for a confirmation from long ago, but mails nobody about it', async () => {
    const tenant = await registeredTenant();
    const landlordId = randomUUID();
    const room = { id: await publishedRoom(t, landlordId) };
    // Requested and confirmed three days ago, as history replayed on a first start would be.
    const then = new Date(Date.now() - 3 * 86_400_000).toISOString();
    const envelope = {
      now: then,
      newId: randomUUID,
      metadata: { correlationId: randomUUID(), causationId: null, actorId: null, actorRole: null, requestId: null },
    };
    const bookingId = randomUUID();
    const deps = { store: t.runtime.eventStore, newReference: () => `RL-${randomUUID().slice(0, 6).toUpperCase()}` };
    await requestBooking(
      deps,
      {
        roomId: room.id,
        bookingId,
        checkIn: dayFromNow(150),
        checkOut: dayFromNow(152),
        guests: 1,
        holdMinutes: 7 * 24 * 60,
      },
      { actorId: tenant.id, actorRole: 'tenant', now: then },
      envelope,
    );
    const confirmed = await changeBookingStatus(
      deps,
      {
        type: 'ConfirmBooking',
        data: { bookingId },
        context: { actorId: landlordId, actorRole: 'landlord', now: then },
      },
      envelope,
    );
    await withPaymentRecord(bookingId, t.as('landlord', landlordId));
    // The confirmation is listed among the tenant's notifications, and its delivery is not queued: nothing is sent.
    const raised = await waitFor('the confirmation notification', async () => {
      for (const event of await notificationEventsOf(t.runtime.eventStore, tenant.id)) {
        const data = event.data as { kind: string; subject: { bookingId?: string } };
        if (data.kind === 'booking_confirmed' && data.subject.bookingId === bookingId) return event;
      }
      return undefined;
    });
    const delivery = t.runtime.projections.find((p) => p.name === 'notification-delivery')!;
    await waitForCheckpoint(t.runtime.pool, delivery, raised.position, 5000);
    expect(confirmed.position).not.toBeNull();
    const jobs = await t.runtime.queues.notifications.getJobs(['waiting', 'delayed', 'active', 'completed', 'failed']);
    // (The payment record opens now, so its payment_due notice is new and may be sent: only the old news is not.)
    expect(
      jobs.filter(
        (job) => JSON.stringify(job.data).includes(bookingId) && JSON.stringify(job.data).includes('booking_confirmed'),
      ),
    ).toEqual([]);
    expect(await t.runtime.queues.mail.getJob(mailJobId(`booking-confirmed.${bookingId}`))).toBeUndefined();
  });

  it('forgets effects done more than 30 days ago, and keeps the recent ones', async () => {
    const old = `test-effect|${randomUUID()}`;
    const recent = `test-effect|${randomUUID()}`;
    // Dated by the app's clock, which the purge compares with (the database's may differ).
    const now = t.runtime.clock.now();
    await t.runtime.pool.query(
      `INSERT INTO process_effects (process, key, done_at) VALUES ('test', $1, $3::timestamptz - interval '31 days'),
         ('test', $2, $3::timestamptz - interval '29 days')`,
      [old, recent, now],
    );
    expect(await purgeOldProcessEffects(t.runtime.pool, now)).toBeGreaterThanOrEqual(1);
    const { rows } = await t.runtime.pool.query("SELECT key FROM process_effects WHERE process = 'test'");
    expect(rows.map((r) => r.key)).toEqual([recent]);
  });

  it('opens one payment record and sets the deadlines, even when replayed from the start; the confirmation is one notification', async () => {
    const tenant = await registeredTenant();
    const b = await confirmedBooking({ tenant });
    await withPaymentRecord(b.id, b.tenant);
    const { queues } = t.runtime;
    const delivery = await waitFor('the confirmation notification job', async () => {
      const jobs = await queues.notifications.getJobs(['waiting', 'delayed', 'active', 'completed', 'failed']);
      return jobs.find(
        (job) => JSON.stringify(job.data).includes(b.id) && 'kind' in job.data && job.data.kind === 'booking_confirmed',
      );
    });
    // Queued for the person: the worker looks the address up when it sends, so none waits in Redis.
    expect(delivery.data).toMatchObject({ userId: tenant.id });
    expect(JSON.stringify(delivery.data)).not.toContain('@');
    const hold = await queues.bookingTimers.getJob(timerJobId({ kind: 'expire-hold', bookingId: b.id }));
    expect(hold?.opts.delay).toBeGreaterThan(23 * 3600_000);
    const overdue = await waitFor('the overdue timer', () =>
      queues.bookingTimers.getJob(timerJobId({ kind: 'mark-payment-overdue', bookingId: b.id })),
    );
    expect(
      Math.abs(overdue.timestamp + (overdue.opts.delay ?? 0) - Date.parse(`${dayFromNow(91)}T00:00:00Z`)),
    ).toBeLessThan(1000);

    // Replay everything with a new runner, having forgotten which effects were done (as after a crash
    // between an effect and its commit): the effects themselves must still happen once.
    await t.runner!.stop();
    const head = await t.runtime.eventStore.headPosition();
    await t.runtime.pool.query('DELETE FROM process_effects');
    await t.runtime.pool.query('UPDATE projection_checkpoints SET position = 0 WHERE name = $1', [bookingProcessName]);
    const manager = t.runtime.projections.find((p) => p.name === bookingProcessName)!;
    const replay = new ProjectionRunner({
      orm: t.runtime.orm,
      store: t.runtime.eventStore,
      databaseUrl: t.db.url,
      projections: [manager],
      logger: t.runtime.logger,
    });
    await replay.start();
    try {
      await waitForCheckpoint(t.runtime.pool, manager, head, 10_000);
    } finally {
      await replay.stop();
    }
    const events = [];
    for await (const event of t.runtime.eventStore.readStream(paymentStreamId(b.id))) events.push(event.type);
    expect(events).toEqual(['PaymentRecordOpened']);
    // The booking process mails nobody itself: the confirmation reaches the tenant as one notification.
    const mails = await queues.mail.getJobs(['waiting', 'delayed', 'active', 'completed', 'failed']);
    expect(mails.filter((job) => job.data.idempotencyKey === `booking-confirmed.${b.id}`)).toHaveLength(0);
  });
});
