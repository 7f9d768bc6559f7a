import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { calendarDecider, calendarStreamId } from '../../domain/bookings/calendar.js';
import { fold } from '../../domain/shared/decider.js';
import { toArray } from '../../infra/eventStore/eventStore.js';
import { createRuntime, type Runtime } from '../../infra/runtime.js';
import { bookingsProjection } from '../../projections/bookings/bookingsProjection.js';
import { waitForCheckpoint } from '../../projections/status.js';
import { buildApp } from '../../read-api/app.js';
import { createTestApp, type TestApp, testConfig } from '../support/app.js';
import { roomBody } from '../support/builders/rooms.js';
import { publishedRoom as sharedPublishedRoom } from '../support/flows.js';

let t: TestApp;
/** A second API on the same database: its own pool, event store and batching, as another process would have. */
let other: { app: FastifyInstance; runtime: Runtime };
const landlordId = randomUUID();

beforeAll(async () => {
  t = await createTestApp();
  const runtime = await createRuntime(testConfig(t.db.url), pino({ level: 'silent' }));
  other = { runtime, app: await buildApp(runtime) };
});
afterAll(async () => {
  await other?.app.close();
  await other?.runtime.close();
  await t?.close();
});

async function publishedRoom(
  overrides: { cancellationPolicy?: 'flexible' | 'moderate' | 'strict' } = {},
): Promise<string> {
  const created = await t.app.inject({
    method: 'POST',
    url: '/api/rooms',
    headers: t.as('landlord', landlordId),
    payload: { ...roomBody({ maxOccupants: 2 }), ...overrides },
  });
  const { id } = created.json();
  await t.app.inject({ method: 'POST', url: `/api/rooms/${id}/publish`, headers: t.as('landlord', landlordId) });
  return id;
}

const book = (
  app: FastifyInstance,
  roomId: string,
  checkIn: string,
  checkOut: string,
  tenant = randomUUID(),
  headers = {},
) =>
  app.inject({
    method: 'POST',
    url: '/api/bookings',
    headers: { ...t.as('tenant', tenant), ...headers },
    payload: { roomId, checkIn, checkOut, guests: 1 },
  });
const dayFromNow = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
const setStatus = (id: string, status: string, headers: Record<string, string>, reason?: string) =>
  t.app.inject({
    method: 'PUT',
    url: `/api/bookings/${id}/status`,
    headers,
    payload: reason ? { status, reason } : { status },
  });

describe('requesting a stay', () => {
  it('holds the nights and answers with a reference, the total and the hold', async () => {
    const roomId = await publishedRoom();
    const response = await book(t.app, roomId, dayFromNow(90), dayFromNow(93));
    expect(response.statusCode).toBe(201);
    expect(response.json()).toMatchObject({ status: 'pending', totalAmount: 3 * 4500, currency: 'EUR' });
    expect(response.json().bookingReference).toMatch(/^RL-[234679ACDEFGHJKMNPQRTUVWXYZ]{6}$/);
    expect(Date.parse(response.json().holdExpiresAt) - Date.now()).toBeGreaterThan(23 * 3600_000);
  });

  it('refuses overlapping nights with 409 naming them, and allows back-to-back stays', async () => {
    const roomId = await publishedRoom();
    expect((await book(t.app, roomId, dayFromNow(99), dayFromNow(102))).statusCode).toBe(201);
    const clash = await book(t.app, roomId, dayFromNow(101), dayFromNow(104));
    expect(clash.statusCode).toBe(409);
    expect(clash.json()).toMatchObject({ error: 'ROOM_UNAVAILABLE', details: { nights: [dayFromNow(101)] } });
    expect((await book(t.app, roomId, dayFromNow(102), dayFromNow(104))).statusCode).toBe(201);
  });

  it('refuses blocked dates, too many guests, past and over-long stays', async () => {
    const roomId = await publishedRoom();
    await t.app.inject({
      method: 'PUT',
      url: `/api/rooms/${roomId}/availability`,
      headers: t.as('landlord', landlordId),
      payload: { blocked: [{ from: dayFromNow(122), to: dayFromNow(124) }] },
    });
    expect((await book(t.app, roomId, dayFromNow(121), dayFromNow(123))).json().error).toBe('ROOM_UNAVAILABLE');
    const many = await t.app.inject({
      method: 'POST',
      url: '/api/bookings',
      headers: t.as('tenant'),
      payload: { roomId, checkIn: dayFromNow(151), checkOut: dayFromNow(152), guests: 3 },
    });
    expect(many.json().error).toBe('TOO_MANY_GUESTS');
    expect((await book(t.app, roomId, '2020-01-01', '2020-01-03')).json().error).toBe('CHECK_IN_IN_PAST');
    expect((await book(t.app, roomId, dayFromNow(182), dayFromNow(243))).json().error).toBe('STAY_TOO_LONG');
  });

  it('lets 100 concurrent overlapping requests through two API processes hold each night at most once', async () => {
    const roomId = await publishedRoom();
    const starts = Array.from({ length: 100 }, (_, i) => 1 + (i % 20));
    const responses = await Promise.all(
      starts.map((day, i) => {
        const checkIn = dayFromNow(211 + day);
        const checkOut = dayFromNow(211 + day + 3);
        return book(i % 2 === 0 ? t.app : other.app, roomId, checkIn, checkOut);
      }),
    );
    for (const r of responses) expect([201, 409]).toContain(r.statusCode);
    const accepted = responses.filter((r) => r.statusCode === 201);
    expect(accepted.length).toBeGreaterThan(0);
    const calendar = fold(
      calendarDecider,
      (await toArray(t.runtime.eventStore.readStream(calendarStreamId(roomId)))).map(
        (e) => ({ type: e.type, data: e.data }) as never,
      ),
    );
    // Every accepted booking holds all its nights, and no night has two holders.
    const heldBy = new Map<string, string[]>();
    for (const [night, hold] of calendar.held)
      heldBy.set(hold.bookingId, [...(heldBy.get(hold.bookingId) ?? []), night]);
    expect(heldBy.size).toBe(accepted.length);
    for (const nights of heldBy.values()) expect(nights).toHaveLength(3);
    expect(calendar.held.size).toBe(accepted.length * 3);
  }, 60_000);

  it('returns the first booking for a retried request with the same Idempotency-Key, holding nothing new', async () => {
    const roomId = await publishedRoom();
    const tenant = randomUUID();
    const key = randomUUID();
    const first = await book(t.app, roomId, dayFromNow(243), dayFromNow(245), tenant, { 'idempotency-key': key });
    const again = await book(t.app, roomId, dayFromNow(243), dayFromNow(245), tenant, { 'idempotency-key': key });
    expect(again.statusCode).toBe(201);
    expect(again.json()).toEqual(first.json());
    const holds = (await toArray(t.runtime.eventStore.readStream(calendarStreamId(roomId)))).filter(
      (e) => e.type === 'NightsHeld',
    );
    expect(holds).toHaveLength(1);
  });
});

describe('pending bookings per tenant (MAX_PENDING_BOOKINGS_PER_TENANT, 3 by default)', () => {
  const stay = (week: number) => [dayFromNow(7 * week), dayFromNow(7 * week + 2)] as const;

  it('accepts three pending requests and refuses the fourth with 422, at once, before the read model caught up', async () => {
    const roomId = await publishedRoom();
    const tenant = randomUUID();
    for (const week of [1, 2, 3]) expect((await book(t.app, roomId, ...stay(week), tenant)).statusCode).toBe(201);
    const fourth = await book(t.app, roomId, ...stay(4), tenant);
    expect(fourth.statusCode).toBe(422);
    expect(fourth.json()).toMatchObject({ error: 'TOO_MANY_PENDING_BOOKINGS', details: { pending: 3, max: 3 } });
    // Through the other API process too, and another tenant is not affected.
    expect((await book(other.app, roomId, ...stay(4), tenant)).json().error).toBe('TOO_MANY_PENDING_BOOKINGS');
    expect((await book(t.app, roomId, ...stay(4))).statusCode).toBe(201);
  });

  it('accepts a new request once one is cancelled by the tenant or rejected by the landlord', async () => {
    const roomId = await publishedRoom();
    const tenant = randomUUID();
    const ids: string[] = [];
    for (const week of [1, 2, 3]) ids.push((await book(t.app, roomId, ...stay(week), tenant)).json().id);
    expect((await book(t.app, roomId, ...stay(4), tenant)).statusCode).toBe(422);

    expect((await setStatus(ids[0]!, 'cancelled', t.as('tenant', tenant))).statusCode).toBe(200);
    expect((await book(t.app, roomId, ...stay(4), tenant)).statusCode).toBe(201);
    expect((await book(t.app, roomId, ...stay(5), tenant)).statusCode).toBe(422);

    expect((await setStatus(ids[1]!, 'rejected', t.as('landlord', landlordId))).statusCode).toBe(200);
    expect((await book(t.app, roomId, ...stay(5), tenant)).statusCode).toBe(201);
    // A confirmed booking no longer waits for an answer either.
    expect((await setStatus(ids[2]!, 'confirmed', t.as('landlord', landlordId))).statusCode).toBe(200);
    expect((await book(t.app, roomId, ...stay(6), tenant)).statusCode).toBe(201);
    expect((await book(t.app, roomId, ...stay(7), tenant)).statusCode).toBe(422);
  });

  it('lets exactly three of one tenant’s concurrent requests through, across two API processes', async () => {
    const roomId = await publishedRoom();
    const tenant = randomUUID();
    const responses = await Promise.all(
      [1, 2, 3, 4, 5, 6].map((week) => book(week % 2 ? t.app : other.app, roomId, ...stay(week), tenant)),
    );
    const codes = responses.map((response) => response.statusCode).sort();
    expect(codes).toEqual([201, 201, 201, 422, 422, 422]);
  });

  it('counts requests the bookings read model has not seen (no projection running at all)', async () => {
    const lagging = await createTestApp({ projections: false });
    try {
      const roomId = await sharedPublishedRoom(lagging, landlordId);
      const tenant = randomUUID();
      const request = (week: number) =>
        lagging.app.inject({
          method: 'POST',
          url: '/api/bookings',
          headers: lagging.as('tenant', tenant),
          payload: { roomId, checkIn: stay(week)[0], checkOut: stay(week)[1], guests: 1 },
        });
      for (const week of [1, 2, 3]) expect((await request(week)).statusCode).toBe(201);
      expect((await request(4)).json().error).toBe('TOO_MANY_PENDING_BOOKINGS');
    } finally {
      await lagging.close();
    }
  });

  it('answers a retried fourth request (same Idempotency-Key) with the booking it made, not with 422', async () => {
    const roomId = await publishedRoom();
    const tenant = randomUUID();
    for (const week of [1, 2]) await book(t.app, roomId, ...stay(week), tenant);
    const key = { 'idempotency-key': randomUUID() };
    const third = await book(t.app, roomId, ...stay(3), tenant, key);
    expect(third.statusCode).toBe(201);
    await t.runtime.pool.query('DELETE FROM idempotency_keys');
    const retried = await book(t.app, roomId, ...stay(3), tenant, key);
    expect(retried.statusCode, retried.body).toBe(201);
    expect(retried.json().id).toBe(third.json().id);
  });
});

describe('moving a booking', () => {
  it('confirms, then the tenant cancels with the policy fee, and the nights are free again', async () => {
    const roomId = await publishedRoom({ cancellationPolicy: 'strict' });
    const tenant = randomUUID();
    const { id } = (await book(t.app, roomId, dayFromNow(274), dayFromNow(278), tenant)).json();
    expect((await setStatus(id, 'confirmed', t.as('landlord', landlordId))).json().status).toBe('confirmed');
    const cancelled = await setStatus(id, 'cancelled', t.as('tenant', tenant), 'exam moved');
    expect(cancelled.statusCode).toBe(200);
    const view = await t.app.inject({
      method: 'GET',
      url: `/api/bookings/${id}`,
      headers: { ...t.as('tenant', tenant), 'x-min-position': cancelled.json().position },
    });
    expect(view.json()).toMatchObject({ status: 'cancelled', cancellationFee: (4 * 4500) / 2 });
    expect(view.json().statusHistory.map((s: { status: string }) => s.status)).toEqual([
      'pending',
      'confirmed',
      'cancelled',
    ]);
    expect((await book(t.app, roomId, dayFromNow(274), dayFromNow(278))).statusCode).toBe(201);
  });

  it('frees the nights when the landlord rejects', async () => {
    const roomId = await publishedRoom();
    const { id } = (await book(t.app, roomId, dayFromNow(304), dayFromNow(306))).json();
    expect((await setStatus(id, 'rejected', t.as('landlord', landlordId), 'renovation')).statusCode).toBe(200);
    expect((await book(t.app, roomId, dayFromNow(304), dayFromNow(306))).statusCode).toBe(201);
  });

  it('allows each transition only to its role, and answers 422 for an illegal one', async () => {
    const roomId = await publishedRoom();
    const tenant = randomUUID();
    const { id } = (await book(t.app, roomId, dayFromNow(335), dayFromNow(337), tenant)).json();
    expect((await setStatus(id, 'confirmed', t.as('tenant', tenant))).json().error).toBe('TRANSITION_NOT_ALLOWED');
    expect((await setStatus(id, 'confirmed', t.as('landlord'))).statusCode).toBe(403);
    expect((await setStatus(id, 'expired', t.as('landlord', landlordId))).statusCode).toBe(403);
    expect((await setStatus(id, 'cancelled', t.as('landlord', landlordId))).statusCode).toBe(403);
    expect((await setStatus(id, 'rejected', t.as('landlord', landlordId))).statusCode).toBe(200);
    const illegal = await setStatus(id, 'confirmed', t.as('landlord', landlordId));
    expect(illegal.statusCode).toBe(422);
    expect(illegal.json()).toMatchObject({
      error: 'ILLEGAL_TRANSITION',
      details: { from: 'rejected', to: 'confirmed' },
    });
  });

  it('shows a booking only to its tenant, the landlord, admins and auditors; lists each their own', async () => {
    const roomId = await publishedRoom();
    const tenant = randomUUID();
    const created = (await book(t.app, roomId, dayFromNow(365), dayFromNow(367), tenant)).json();
    const read = (headers: Record<string, string>) =>
      t.app.inject({
        method: 'GET',
        url: `/api/bookings/${created.id}`,
        headers: { ...headers, 'x-min-position': created.position },
      });
    expect((await read(t.as('tenant', tenant))).statusCode).toBe(200);
    expect((await read(t.as('landlord', landlordId))).statusCode).toBe(200);
    expect((await read(t.as('auditor'))).statusCode).toBe(200);
    expect((await read(t.as('tenant'))).statusCode).toBe(404);
    expect((await read(t.as('landlord'))).statusCode).toBe(404);
    const mine = await t.app.inject({
      method: 'GET',
      url: '/api/user/bookings?status=pending',
      headers: { ...t.as('tenant', tenant), 'x-min-position': created.position },
    });
    expect(mine.json().items.map((b: { id: string }) => b.id)).toEqual([created.id]);
    const landlords = await t.app.inject({
      method: 'GET',
      url: '/api/user/bookings?limit=2',
      headers: t.as('landlord', landlordId),
    });
    expect(landlords.json().items).toHaveLength(2);
    expect(landlords.json().nextCursor).toEqual(expect.any(String));
  });
});

describe('room calendar export', () => {
  it('serves booked, held and blocked nights as RFC 5545 behind the secret link only', async () => {
    const roomId = await publishedRoom();
    const blocked = await t.app.inject({
      method: 'PUT',
      url: `/api/rooms/${roomId}/availability`,
      headers: t.as('landlord', landlordId),
      payload: { blocked: [{ from: dayFromNow(405), to: dayFromNow(407) }] },
    });
    const booking = (await book(t.app, roomId, dayFromNow(397), dayFromNow(400))).json();
    await waitForCheckpoint(t.runtime.pool, bookingsProjection, BigInt(booking.position), 5000);
    const room = await t.app.inject({
      method: 'GET',
      url: `/api/rooms/${roomId}`,
      headers: { ...t.as('landlord', landlordId), 'x-min-position': blocked.json().position },
    });
    const link = room.json().calendarUrl as string;
    expect(link).toMatch(/calendar\.ics\?token=/);
    const tenantView = await t.app.inject({ method: 'GET', url: `/api/rooms/${roomId}`, headers: t.as('tenant') });
    expect(tenantView.json().calendarUrl).toBeUndefined();

    const ics = await t.app.inject({ method: 'GET', url: link });
    expect(ics.statusCode).toBe(200);
    expect(ics.headers['content-type']).toMatch(/^text\/calendar/);
    const events = ics.body.split('BEGIN:VEVENT').slice(1);
    expect(events).toHaveLength(2);
    for (const event of events) {
      expect(event).toMatch(/\r?\nUID:[^\r\n]+/);
      expect(event).toMatch(/\r?\nDTSTAMP:\d{8}T\d{6}Z/);
    }
    expect(ics.body).toContain(`DTSTART;VALUE=DATE:${dayFromNow(397).replaceAll('-', '')}`);
    expect(ics.body).toContain(`DTEND;VALUE=DATE:${dayFromNow(400).replaceAll('-', '')}`);
    expect(ics.body).toContain(`Held: ${booking.bookingReference}`);
    expect(ics.body).toContain(`DTSTART;VALUE=DATE:${dayFromNow(405).replaceAll('-', '')}`);

    const wrong = await t.app.inject({
      method: 'GET',
      url: `/api/rooms/${roomId}/calendar.ics?token=${'x'.repeat(43)}`,
    });
    expect(wrong.statusCode).toBe(404);
  });
});
