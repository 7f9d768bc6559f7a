import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '../../domain/shared/decider.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { confirmedBooking, registered } from '../support/notificationFlows.js';

let t: TestApp;
let booking: { bookingId: string; roomId: string };

beforeAll(async () => {
  t = await createTestApp();
  const landlord = await registered(t, 'landlord', 'Marco Bianchi');
  const tenant = await registered(t, 'tenant');
  booking = await confirmedBooking(t, landlord, tenant);
});
afterAll(async () => {
  await t?.close();
});

const get = (url: string, role: Role = 'auditor', sub?: string) =>
  t.app.inject({ method: 'GET', url, headers: t.as(role, sub) });

describe('the audit API', () => {
  it('is for auditors and admins only: every other role gets 403, nobody signed in 401', async () => {
    const urls = [
      `/api/audit/streams/Booking-${booking.bookingId}`,
      `/api/audit/streams/Booking-${booking.bookingId}/verify`,
      `/api/audit/bookings/${booking.bookingId}/history`,
      `/api/audit/bookings/${booking.bookingId}/state`,
    ];
    for (const url of urls) {
      for (const role of ['tenant', 'landlord', 'official', 'support', 'analyst'] as const) {
        expect((await get(url, role)).statusCode, `${role} ${url}`).toBe(403);
      }
      expect((await t.app.inject({ method: 'GET', url })).statusCode).toBe(401);
      for (const role of ['auditor', 'admin'] as const) expect((await get(url, role)).statusCode, url).toBe(200);
    }
    expect((await get('/api/audit/reads', 'auditor')).statusCode).toBe(403);
  });

  it('returns a stream as stored, with metadata and a hash chain, a page at a time', async () => {
    const whole = await get(`/api/audit/streams/Booking-${booking.bookingId}`);
    expect(whole.statusCode, whole.body).toBe(200);
    const body = whole.json();
    expect(body.streamId).toBe(`Booking-${booking.bookingId}`);
    expect(body.events.map((e: { type: string }) => e.type)).toEqual(['BookingRequested', 'BookingConfirmed']);
    expect(body.events[1].previousHash).toBe(body.events[0].hash);
    expect(body.events[0]).toMatchObject({ revision: '0', schemaVersion: 1, metadata: { actorRole: 'tenant' } });
    expect(body.nextRevision).toBeNull();
    const first = (await get(`/api/audit/streams/Booking-${booking.bookingId}?limit=1`)).json();
    expect(first.events).toHaveLength(1);
    expect(first.nextRevision).toBe('1');
    const second = (await get(`/api/audit/streams/Booking-${booking.bookingId}?limit=1&fromRevision=1`)).json();
    expect(second.events.map((e: { hash: string }) => e.hash)).toEqual([body.events[1].hash]);
    expect((await get(`/api/audit/streams/Booking-${randomUUID()}`)).statusCode).toBe(404);
  });

  it('refuses malformed, punctuated, huge and Unicode stream ids and parameters with 400 JSON', async () => {
    const hostile = [
      'no-kind-separator'.replace(/-/g, ''),
      `Booking-${'a'.repeat(200)}`,
      encodeURIComponent('Booking-ü'),
      encodeURIComponent('Booking-1 OR 1=1'),
      encodeURIComponent("Booking-1'--"),
      encodeURIComponent('Booking-%'),
      encodeURIComponent('-Booking'),
      '%00Booking-1',
    ];
    for (const id of hostile) {
      const answer = await get(`/api/audit/streams/${id}`);
      // A path parameter over Fastify's length bound is 414 (URI too long), before any schema.
      expect(answer.statusCode, id).toBe(id.length > 150 ? 414 : 400);
      expect(answer.json()).toMatchObject({ error: expect.any(String), message: expect.any(String) });
    }
    for (const query of ['limit=0', 'limit=1001', 'limit=x', 'fromRevision=-1', 'fromRevision=1e3', 'other=1']) {
      expect((await get(`/api/audit/streams/Booking-${booking.bookingId}?${query}`)).statusCode, query).toBe(400);
    }
    for (const at of ['yesterday', '2026-13-01T00:00:00Z', encodeURIComponent('2026-01-01T00:00:00Z OR 1')]) {
      expect((await get(`/api/audit/bookings/${booking.bookingId}/state?at=${at}`)).statusCode, at).toBe(400);
    }
    expect((await get('/api/audit/bookings/not-a-uuid/history')).statusCode).toBe(400);
  });

  it('verifies a stream’s hash chain, and names the revision where an altered event breaks it', async () => {
    const streamId = `Booking-${booking.bookingId}`;
    const before = await get(`/api/audit/streams/${streamId}/verify`);
    expect(before.json()).toEqual({ valid: true, events: 2 });
    // Someone with database access changes the confirmation in place, as an attacker would.
    const changed = await t.runtime.pool.query(
      `UPDATE event_store.events SET data = json_build_object('bookingId', $2::text, 'by', 'someone else')
        WHERE stream_id = $1 AND revision = 1`,
      [streamId, booking.bookingId],
    );
    expect(changed.rowCount).toBe(1);
    const after = await get(`/api/audit/streams/${streamId}/verify`);
    expect(after.json()).toMatchObject({ valid: false, brokenAt: '1', reason: 'content does not match its hash' });
  });

  it('shows a booking as it stood at an instant, and its timeline with who and why', async () => {
    const other = await confirmedBooking(t, await registered(t, 'landlord'), await registered(t, 'tenant'));
    const events = (await get(`/api/audit/streams/Booking-${other.bookingId}`)).json().events as Array<{
      recordedAt: string;
    }>;
    const requestedAt = events[0]!.recordedAt;
    const then = await get(`/api/audit/bookings/${other.bookingId}/state?at=${encodeURIComponent(requestedAt)}`);
    expect(then.statusCode, then.body).toBe(200);
    expect(then.json()).toMatchObject({ state: { status: 'pending' }, asOfRevision: '0', at: requestedAt });
    const now = (await get(`/api/audit/bookings/${other.bookingId}/state`)).json();
    expect(now).toMatchObject({ state: { status: 'confirmed', bookingId: other.bookingId }, asOfRevision: '1' });
    const before = new Date(Date.parse(requestedAt) - 60_000).toISOString();
    expect((await get(`/api/audit/bookings/${other.bookingId}/state?at=${before}`)).statusCode).toBe(404);

    const history = await get(`/api/audit/bookings/${other.bookingId}/history`);
    expect(history.statusCode, history.body).toBe(200);
    const timeline = history.json().events as Array<Record<string, unknown>>;
    expect(timeline.map((e) => e.type).slice(0, 2)).toEqual(['BookingRequested', 'BookingConfirmed']);
    expect(timeline[0]).toMatchObject({ actorRole: 'tenant', streamId: `Booking-${other.bookingId}` });
    expect(timeline[1]).toMatchObject({ actorRole: 'landlord' });
    expect(typeof timeline[0]!.correlationId).toBe('string');
    expect((await get(`/api/audit/bookings/${randomUUID()}/history`)).statusCode).toBe(404);
  });

  it('records every audit read, and shows admins who read what', async () => {
    const auditor = randomUUID();
    const streamId = `Booking-${booking.bookingId}`;
    await get(`/api/audit/streams/${streamId}`, 'auditor', auditor);
    await get(`/api/audit/bookings/${booking.bookingId}/state`, 'auditor', auditor);
    const listed = await get('/api/audit/reads', 'admin');
    expect(listed.statusCode, listed.body).toBe(200);
    const mine = (listed.json().items as Array<Record<string, string>>).filter((read) => read.readerId === auditor);
    expect(mine.map((read) => [read.kind, read.subject, read.readerRole])).toEqual([
      ['stream', streamId, 'auditor'],
      ['booking_state', booking.bookingId, 'auditor'],
    ]);
    const today = t.runtime.clock.now().toISOString().slice(0, 10);
    const ranged = await get(`/api/audit/reads?from=${today}&to=${today}`, 'admin');
    expect((ranged.json().items as unknown[]).length).toBeGreaterThanOrEqual(mine.length);
    for (const query of [
      'from=2026-02-30',
      'from=tomorrow',
      `from=${today}&to=2000-01-01`,
      'from=2000-01-01&to=2000-03-01',
    ]) {
      expect((await get(`/api/audit/reads?${query}`, 'admin')).statusCode, query).toBe(400);
    }
  });
});
