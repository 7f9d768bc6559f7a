import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishDueReviews, runBookingTimer } from '../../commands/bookingSweeps.js';
import type { Clock } from '../../infra/clock/clock.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { type Person, publishedRoom, registeredPerson } from '../support/flows.js';

const DAY_MS = 86_400_000;
// The app's clock runs ahead of the machine's by `offsetMs`: tests move it across the stay and the review window.
let offsetMs = 0;
const clock: Clock = { now: () => new Date(Date.now() + offsetMs) };
const moveClock = (days: number) => {
  offsetMs += days * DAY_MS;
};
const dayFromNow = (days: number) => new Date(clock.now().getTime() + days * DAY_MS).toISOString().slice(0, 10);

let t: TestApp;
let venueId: string;
const VENUE = { lat: 41.9028, lng: 12.4964 };

beforeAll(async () => {
  t = await createTestApp({ clock, config: { MIN_POSITION_WAIT_MS: '15000' } });
  const admin = t.as('admin');
  const university = await t.app.inject({
    method: 'POST',
    url: '/api/universities',
    headers: admin,
    payload: { name: 'Sapienza', city: 'Roma', country: 'IT', location: VENUE },
  });
  venueId = (
    await t.app.inject({
      method: 'POST',
      url: '/api/exam-venues',
      headers: admin,
      payload: {
        universityId: university.json().id,
        name: 'Aula Magna',
        address: 'Piazzale Aldo Moro 5, Roma',
        location: VENUE,
      },
    })
  ).json().id;
});
afterAll(async () => {
  await t?.close();
});

const register = (role: 'tenant' | 'landlord') => registeredPerson(t, role);

const headPosition = async () => (await t.runtime.eventStore.headPosition()).toString();

/** Waits for the reviews projection to reach the store's head (the reviews list asks for it). */
async function waitForReviews(): Promise<void> {
  const response = await t.app.inject({
    method: 'GET',
    url: `/api/rooms/${randomUUID()}/reviews`,
    headers: { 'x-min-position': await headPosition() },
  });
  expect(response.statusCode).toBe(404);
}

interface Stay {
  tenant: Person;
  landlord: Person;
  roomId: string;
  bookingId: string;
}

async function setStatus(by: Person, bookingId: string, status: string) {
  const response = await t.app.inject({
    method: 'PUT',
    url: `/api/bookings/${bookingId}/status`,
    headers: by.headers,
    payload: { status },
  });
  expect(response.statusCode, response.body).toBe(200);
}

/** A stay booked, confirmed and checked in over HTTP; completed (the system's, as the sweep does) unless told. */
async function stay(options: { complete?: boolean } = {}): Promise<Stay> {
  const [tenant, landlord] = await Promise.all([register('tenant'), register('landlord')]);
  const roomId = await publishedRoom(t, landlord.id, { location: { lat: VENUE.lat + 0.005, lng: VENUE.lng } });
  const booked = await t.app.inject({
    method: 'POST',
    url: '/api/bookings',
    headers: tenant.headers,
    payload: { roomId, checkIn: dayFromNow(1), checkOut: dayFromNow(3), guests: 1 },
  });
  expect(booked.statusCode, booked.body).toBe(201);
  const bookingId = booked.json().id as string;
  await setStatus(landlord, bookingId, 'confirmed');
  moveClock(1);
  await setStatus(landlord, bookingId, 'checked_in');
  if (options.complete !== false) {
    moveClock(2);
    const completed = await runBookingTimer(
      { store: t.runtime.eventStore },
      { kind: 'complete-stay', bookingId },
      clock.now(),
    );
    expect(completed).toBe(true);
  }
  return { tenant, landlord, roomId, bookingId };
}

const roomReview = (s: Stay, by: Person = s.tenant, payload: Record<string, unknown> = {}) =>
  t.app.inject({
    method: 'POST',
    url: `/api/rooms/${s.roomId}/reviews`,
    headers: by.headers,
    payload: { bookingId: s.bookingId, rating: 4, comment: 'Quiet, bright, a real desk.', ...payload },
  });

const guestReview = (s: Stay, by: Person = s.landlord, payload: Record<string, unknown> = {}) =>
  t.app.inject({
    method: 'POST',
    url: `/api/bookings/${s.bookingId}/guest-review`,
    headers: by.headers,
    payload: { rating: 5, comment: 'A considerate guest.', ...payload },
  });

async function publicReviews(roomId: string, position?: string, query = '') {
  const response = await t.app.inject({
    method: 'GET',
    url: `/api/rooms/${roomId}/reviews${query}`,
    headers: { 'x-min-position': position ?? (await headPosition()) },
  });
  expect(response.statusCode, response.body).toBe(200);
  return response.json() as {
    items: Array<Record<string, unknown> & { id: string; response: Record<string, unknown> | null }>;
    nextCursor: string | null;
  };
}

async function roomOf(roomId: string) {
  const response = await t.app.inject({
    method: 'GET',
    url: `/api/rooms/${roomId}`,
    headers: { 'x-min-position': await headPosition() },
  });
  expect(response.statusCode, response.body).toBe(200);
  return response.json() as { rating: number | null; reviewCount: number };
}

async function searchHit(roomId: string) {
  const response = await t.app.inject({
    method: 'GET',
    url: `/api/rooms/search?lat=${VENUE.lat}&lng=${VENUE.lng}&radius=5&limit=100`,
    headers: { 'x-min-position': await headPosition() },
  });
  expect(response.statusCode, response.body).toBe(200);
  return response.json().items.find((hit: { id: string }) => hit.id === roomId) as {
    rating: number | null;
    reviewCount: number;
  };
}

async function reviewScore(roomId: string) {
  // The ranking reads the search projection's state: wait for it through a search first.
  await searchHit(roomId);
  const response = await t.app.inject({
    method: 'GET',
    url: `/api/rooms/${roomId}/ranking-score?examLocationId=${venueId}`,
  });
  expect(response.statusCode, response.body).toBe(200);
  return response.json().review as number;
}

/** The Bayesian review score with the default prior (3.5, weight 10): domain/search/ranking.ts. */
const expectedScore = (ratings: number[]) =>
  ((10 * 3.5 + ratings.reduce((a, b) => a + b, 0)) / (10 + ratings.length) - 1) / 4;

/** The review window sweep, as the maintenance worker runs it. */
async function sweep(): Promise<number> {
  await waitForReviews(); // the window's row is in the read model
  return publishDueReviews({ store: t.runtime.eventStore, queries: t.runtime.sweepQueries }, clock.now());
}

describe('double-blind reviews', () => {
  it('keeps the first review hidden and publishes both at once when the second comes in', async () => {
    const s = await stay();
    const first = await roomReview(s);
    expect(first.statusCode, first.body).toBe(201);
    expect(first.json()).toMatchObject({ bookingId: s.bookingId, status: 'hidden_until_both' });
    expect((await publicReviews(s.roomId, first.json().position)).items).toEqual([]);
    expect(await roomOf(s.roomId)).toMatchObject({ rating: null, reviewCount: 0 });

    const second = await guestReview(s);
    expect(second.statusCode, second.body).toBe(201);
    expect(second.json()).toMatchObject({ status: 'published' });
    const list = await publicReviews(s.roomId, second.json().position);
    expect(list.items).toHaveLength(1);
    expect(list.items[0]).toMatchObject({
      id: first.json().id,
      authorId: s.tenant.id,
      rating: 4,
      comment: 'Quiet, bright, a real desk.',
      response: null,
    });
    const { rows } = await t.runtime.pool.query('SELECT published_at FROM reviews WHERE booking_id = $1', [
      s.bookingId,
    ]);
    expect(rows).toHaveLength(2);
    expect(new Set(rows.map((row) => row.published_at.toISOString())).size, 'one publication for both').toBe(1);
  });

  it('publishes a lone review when the window closes, and the other side can no longer review', async () => {
    const s = await stay();
    const only = await guestReview(s);
    expect(only.statusCode, only.body).toBe(201);
    moveClock(13);
    expect(await sweep(), 'the window is still open').toBe(0);
    moveClock(1);
    const late = await roomReview(s);
    expect(late.statusCode, late.body).toBe(422);
    expect(late.json().error).toBe('REVIEW_WINDOW_CLOSED');
    expect(await sweep()).toBe(1);
    expect(await sweep(), 'a second sweep publishes nothing').toBe(0);
    const { rows } = await t.runtime.pool.query(
      'SELECT r.side, r.published_at FROM reviews r JOIN review_windows w USING (booking_id) WHERE booking_id = $1',
      [s.bookingId],
    );
    expect(rows).toMatchObject([{ side: 'landlord' }]);
    expect(rows[0].published_at).not.toBeNull();
    // A guest review is about the tenant: it never shows under the room, nor in its rating.
    expect((await publicReviews(s.roomId)).items).toEqual([]);
    expect(await roomOf(s.roomId)).toMatchObject({ rating: null, reviewCount: 0 });
    const again = await roomReview(s);
    expect(again.statusCode).toBe(422);
  });

  it('refuses a review before check-out, a second review of a side, and a booking of another room', async () => {
    const early = await stay({ complete: false });
    const before = await roomReview(early);
    expect(before.statusCode, before.body).toBe(422);
    expect(before.json()).toMatchObject({ error: 'STAY_NOT_COMPLETED' });
    expect((await guestReview(early)).json().error).toBe('STAY_NOT_COMPLETED');

    const s = await stay();
    expect((await roomReview(s)).statusCode).toBe(201);
    const duplicate = await roomReview(s, s.tenant, { rating: 1, comment: 'changed my mind' });
    expect(duplicate.statusCode, duplicate.body).toBe(409);
    expect(duplicate.json().error).toBe('REVIEW_EXISTS');
    expect((await guestReview(s)).statusCode).toBe(201);
    expect((await guestReview(s)).statusCode, 'no second guest review, no edit after publication').toBe(409);
    const elsewhere = await t.app.inject({
      method: 'POST',
      url: `/api/rooms/${early.roomId}/reviews`,
      headers: s.tenant.headers,
      payload: { bookingId: s.bookingId, rating: 3, comment: 'wrong room' },
    });
    expect(elsewhere.statusCode).toBe(422);
    expect(elsewhere.json().error).toBe('BOOKING_NOT_OF_ROOM');
  });
});

describe('who may review, answer and hide', () => {
  it('answers strangers to the booking 404 and other roles 403', async () => {
    const s = await stay();
    const otherTenant = await register('tenant');
    const otherLandlord = await register('landlord');
    const stranger = await roomReview(s, otherTenant);
    expect(stranger.statusCode, stranger.body).toBe(404);
    expect(stranger.json()).toMatchObject({ error: 'BOOKING_NOT_FOUND' });
    expect((await guestReview(s, otherLandlord)).statusCode).toBe(404);
    const unknown = await guestReview({ ...s, bookingId: randomUUID() });
    expect(unknown.statusCode).toBe(404);
    for (const role of ['landlord', 'official', 'admin', 'auditor', 'support', 'analyst'] as const) {
      const response = await roomReview(s, { id: '', headers: t.as(role) });
      expect(response.statusCode, `${role} on the room review`).toBe(403);
      expect(response.json().error).toBe('FORBIDDEN');
    }
    for (const role of ['tenant', 'official', 'admin', 'auditor', 'support', 'analyst'] as const) {
      expect((await guestReview(s, { id: '', headers: t.as(role) })).statusCode, `${role} on the guest review`).toBe(
        403,
      );
    }
    const anonymous = await t.app.inject({
      method: 'POST',
      url: `/api/rooms/${s.roomId}/reviews`,
      payload: { bookingId: s.bookingId, rating: 4, comment: 'x' },
    });
    expect(anonymous.statusCode).toBe(401);
  });

  it("lets the room's landlord answer a published review once, and nobody else", async () => {
    const s = await stay();
    const review = await roomReview(s);
    const reviewId = review.json().id as string;
    const respond = (by: { authorization: string }, body = 'Thank you, come again!', position?: string) =>
      t.app.inject({
        method: 'POST',
        url: `/api/reviews/${reviewId}/responses`,
        headers: { ...by, ...(position ? { 'x-min-position': position } : {}) },
        payload: { body },
      });
    const hidden = await respond(s.landlord.headers, 'too early', review.json().position);
    expect(hidden.statusCode, 'an unpublished review is not there to answer').toBe(404);
    const both = await guestReview(s);
    const position = both.json().position as string;
    expect((await respond(t.as('tenant'), 'x', position)).statusCode).toBe(403);
    expect((await respond(t.as('admin'), 'x', position)).statusCode).toBe(403);
    const otherLandlord = await respond(t.as('landlord'), 'not my room', position);
    expect(otherLandlord.statusCode, otherLandlord.body).toBe(403);
    expect(otherLandlord.json().error).toBe('RESPONSE_NOT_ALLOWED');
    const answered = await respond(s.landlord.headers, 'Thank you, come again!', position);
    expect(answered.statusCode, answered.body).toBe(201);
    const second = await respond(s.landlord.headers, 'and again');
    expect(second.statusCode).toBe(409);
    expect(second.json().error).toBe('RESPONSE_EXISTS');
    const list = await publicReviews(s.roomId, answered.json().position);
    expect(list.items[0]!.response).toMatchObject({
      id: answered.json().id,
      authorId: s.landlord.id,
      body: 'Thank you, come again!',
    });
    const guestReviewId = both.json().id as string;
    const onGuestReview = await t.app.inject({
      method: 'POST',
      url: `/api/reviews/${guestReviewId}/responses`,
      headers: s.landlord.headers,
      payload: { body: 'answering myself' },
    });
    expect(onGuestReview.statusCode).toBe(404);

    // Admins hide the response: the review stays, the answer goes; who and why stay in the event.
    const admin = t.as('admin');
    const hide = await t.app.inject({
      method: 'POST',
      url: `/api/reviews/${answered.json().id}/hide`,
      headers: admin,
      payload: { reason: 'shares the guest’s phone number' },
    });
    expect(hide.statusCode, hide.body).toBe(200);
    const after = await publicReviews(s.roomId, hide.json().position);
    expect(after.items).toHaveLength(1);
    expect(after.items[0]!.response).toBeNull();
    const events = [];
    for await (const event of t.runtime.rawEventStore.readStream(`BookingReviews-${s.bookingId}`)) events.push(event);
    expect(events.at(-1)).toMatchObject({
      type: 'ReviewResponseHidden',
      data: { hiddenBy: expect.any(String), reason: 'shares the guest’s phone number' },
      metadata: { actorRole: 'admin' },
    });
  });

  it('hides a review only by an admin: before the window ends it publishes hidden and counts nowhere', async () => {
    const s = await stay();
    const review = await roomReview(s, s.tenant, { rating: 1, comment: 'Rude words here' });
    const reviewId = review.json().id as string;
    const hide = (headers: { authorization: string }) =>
      t.app.inject({
        method: 'POST',
        url: `/api/reviews/${reviewId}/hide`,
        headers: { ...headers, 'x-min-position': review.json().position },
        payload: { reason: 'abusive language' },
      });
    for (const role of ['tenant', 'landlord', 'official', 'auditor', 'support', 'analyst'] as const) {
      const response = await hide(t.as(role));
      expect(response.statusCode, role).toBe(403);
    }
    expect((await hide(s.tenant.headers)).statusCode).toBe(403);
    const hidden = await hide(t.as('admin'));
    expect(hidden.statusCode, hidden.body).toBe(200);
    expect(hidden.json()).toMatchObject({ id: reviewId, hidden: true });
    expect((await hide(t.as('admin'))).json().position, 'hiding twice appends nothing').toBeNull();
    const unknown = await t.app.inject({
      method: 'POST',
      url: `/api/reviews/${randomUUID()}/hide`,
      headers: t.as('admin'),
      payload: { reason: 'x' },
    });
    expect(unknown.statusCode).toBe(404);
    expect((await guestReview(s)).json().status).toBe('published');
    expect((await publicReviews(s.roomId)).items).toEqual([]);
    expect(await roomOf(s.roomId)).toMatchObject({ rating: null, reviewCount: 0 });
    expect((await searchHit(s.roomId)).reviewCount).toBe(0);
  });
});

describe('the ranking listens', () => {
  it('moves rating, reviewCount and the review score when a review publishes and when it is hidden', async () => {
    const s = await stay();
    expect(await reviewScore(s.roomId)).toBeCloseTo(expectedScore([]), 9);
    const review = await roomReview(s, s.tenant, { rating: 5 });
    expect(await reviewScore(s.roomId), 'a hidden review does not count').toBeCloseTo(expectedScore([]), 9);
    await guestReview(s, s.landlord, { rating: 2 });
    expect(await roomOf(s.roomId)).toMatchObject({ rating: 5, reviewCount: 1 });
    expect(await searchHit(s.roomId)).toMatchObject({ rating: 5, reviewCount: 1 });
    expect(await reviewScore(s.roomId)).toBeCloseTo(expectedScore([5]), 9);

    const hidden = await t.app.inject({
      method: 'POST',
      url: `/api/reviews/${review.json().id}/hide`,
      headers: { ...t.as('admin'), 'x-min-position': await headPosition() },
      payload: { reason: 'written by the landlord’s cousin' },
    });
    expect(hidden.statusCode, hidden.body).toBe(200);
    expect(await roomOf(s.roomId)).toMatchObject({ rating: null, reviewCount: 0 });
    expect(await searchHit(s.roomId)).toMatchObject({ rating: null, reviewCount: 0 });
    expect(await reviewScore(s.roomId)).toBeCloseTo(expectedScore([]), 9);
    expect((await publicReviews(s.roomId)).items).toEqual([]);
  });

  it('notifies the reviewed parties when the reviews publish, not before', async () => {
    const s = await stay();
    await roomReview(s);
    const notificationsOf = async (person: Person) => {
      const response = await t.app.inject({ method: 'GET', url: '/api/notifications', headers: person.headers });
      expect(response.statusCode, response.body).toBe(200);
      return (response.json().items as Array<{ kind: string; subject: Record<string, string> }>).filter(
        (n) => n.kind === 'review_received',
      );
    };
    await publicReviews(s.roomId);
    expect(await notificationsOf(s.landlord)).toEqual([]);
    await guestReview(s);
    const deadline = Date.now() + 15_000;
    let landlordGot: Awaited<ReturnType<typeof notificationsOf>> = [];
    let tenantGot: typeof landlordGot = [];
    while (Date.now() < deadline && (landlordGot.length === 0 || tenantGot.length === 0)) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      [landlordGot, tenantGot] = await Promise.all([notificationsOf(s.landlord), notificationsOf(s.tenant)]);
    }
    expect(landlordGot).toMatchObject([{ subject: { bookingId: s.bookingId, senderId: s.tenant.id } }]);
    expect(tenantGot).toMatchObject([{ subject: { bookingId: s.bookingId, senderId: s.landlord.id } }]);
  });
});

describe('lists, erasure and hostile input', () => {
  it('pages the published reviews with signed cursors', async () => {
    const first = await stay();
    const second = await stay();
    // The second stay is of another room: book the first room again for a second review of it.
    const again = await t.app.inject({
      method: 'POST',
      url: '/api/bookings',
      headers: second.tenant.headers,
      payload: { roomId: first.roomId, checkIn: dayFromNow(1), checkOut: dayFromNow(2), guests: 1 },
    });
    expect(again.statusCode, again.body).toBe(201);
    const bookingId = again.json().id as string;
    await setStatus(first.landlord, bookingId, 'confirmed');
    moveClock(1);
    await setStatus(first.landlord, bookingId, 'checked_in');
    moveClock(1);
    await runBookingTimer({ store: t.runtime.eventStore }, { kind: 'complete-stay', bookingId }, clock.now());
    const stays = [first, { ...first, tenant: second.tenant, bookingId }];
    for (const s of stays) {
      expect((await roomReview(s)).statusCode).toBe(201);
      expect((await guestReview(s)).statusCode).toBe(201);
    }
    const page1 = await publicReviews(first.roomId, undefined, '?limit=1');
    expect(page1.items).toHaveLength(1);
    expect(page1.nextCursor).toEqual(expect.any(String));
    const page2 = await publicReviews(first.roomId, undefined, `?limit=1&cursor=${page1.nextCursor}`);
    expect(page2.items).toHaveLength(1);
    expect(page2.items[0]!.id).not.toBe(page1.items[0]!.id);
    expect(page2.nextCursor).toBeNull();
    const unknownRoom = await t.app.inject({ method: 'GET', url: `/api/rooms/${randomUUID()}/reviews` });
    expect(unknownRoom.statusCode).toBe(404);
    expect(unknownRoom.json().error).toBe('ROOM_NOT_FOUND');
    const forged = await t.app.inject({
      method: 'GET',
      url: `/api/rooms/${second.roomId}/reviews?cursor=${page1.nextCursor}`,
    });
    expect(forged.statusCode, 'a cursor of another room').toBe(400);
    expect(forged.json().error).toBe('INVALID_CURSOR');
  });

  it("removes an erased author's comment from the list and keeps it out of the store in clear", async () => {
    const s = await stay();
    const secret = `I stayed at Via Zamboni ${randomUUID().slice(0, 8)}`;
    expect((await roomReview(s, s.tenant, { comment: secret })).statusCode).toBe(201);
    expect((await guestReview(s)).statusCode).toBe(201);
    expect((await publicReviews(s.roomId)).items[0]).toMatchObject({ comment: secret, erased: false });
    const { rows: stored } = await t.runtime.pool.query(
      'SELECT count(*)::int AS n FROM event_store.events WHERE data::text ILIKE $1',
      [`%${secret}%`],
    );
    expect(stored[0].n, 'the comment in clear in the event store').toBe(0);
    const erased = await t.app.inject({
      method: 'DELETE',
      url: `/api/admin/users/${s.tenant.id}/personal-data`,
      headers: t.as('admin'),
    });
    expect(erased.statusCode).toBe(202);
    const after = await publicReviews(s.roomId);
    expect(after.items[0]).toMatchObject({ authorId: s.tenant.id, comment: null, erased: true, rating: 4 });
    const { rows } = await t.runtime.pool.query('SELECT count(*)::int AS n FROM reviews WHERE comment ILIKE $1', [
      `%${secret}%`,
    ]);
    expect(rows[0].n, 'the comment in the read model').toBe(0);
  });

  it('answers hostile input with 4xx JSON, never 500', async () => {
    const s = await stay();
    const bodies: unknown[] = [
      { bookingId: s.bookingId, rating: 0, comment: 'x' },
      { bookingId: s.bookingId, rating: 6, comment: 'x' },
      { bookingId: s.bookingId, rating: 2.5, comment: 'x' },
      { bookingId: s.bookingId, rating: 5, comment: '' },
      { bookingId: s.bookingId, rating: 5, comment: '   ' },
      { bookingId: s.bookingId, rating: 5, comment: 'x'.repeat(2001) },
      { bookingId: s.bookingId, rating: 5, comment: 'nul \u0000 inside' },
      { bookingId: s.bookingId, rating: 5, comment: 'lone \uD800 surrogate' },
      { bookingId: 'not-a-uuid', rating: 5, comment: 'x' },
      { bookingId: `${s.bookingId}'; DROP TABLE reviews; --`, rating: 5, comment: 'x' },
      { bookingId: s.bookingId, rating: 5, comment: 'x', extra: true },
      { bookingId: s.bookingId, rating: 5 },
      [],
      'just a string',
    ];
    for (const payload of bodies) {
      const response = await t.app.inject({
        method: 'POST',
        url: `/api/rooms/${s.roomId}/reviews`,
        headers: s.tenant.headers,
        payload: payload as Record<string, unknown>,
      });
      expect(response.statusCode, JSON.stringify(payload).slice(0, 80)).toBeGreaterThanOrEqual(400);
      expect(response.statusCode, JSON.stringify(payload).slice(0, 80)).toBeLessThan(500);
      expect(response.json()).toMatchObject({ error: expect.any(String), message: expect.any(String) });
    }
    const paths = [
      ['POST', `/api/rooms/not-a-uuid/reviews`],
      ['POST', `/api/rooms/${'9'.repeat(5000)}/reviews`],
      ['GET', `/api/rooms/%00%27/reviews`],
      ['GET', `/api/rooms/${encodeURIComponent('ü🏠"<>')}/reviews`],
      ['POST', '/api/bookings/../guest-review'],
      ['POST', `/api/reviews/${encodeURIComponent("1' OR '1'='1")}/responses`],
      ['POST', `/api/reviews/${randomUUID()}x/hide`],
      ['GET', `/api/rooms/${s.roomId}/reviews?limit=0`],
      ['GET', `/api/rooms/${s.roomId}/reviews?limit=101`],
      ['GET', `/api/rooms/${s.roomId}/reviews?cursor=${'a'.repeat(3000)}`],
      ['GET', `/api/rooms/${s.roomId}/reviews?cursor=%F0%9F%8F%A0.abc`],
    ] as const;
    for (const [method, url] of paths) {
      const response = await t.app.inject({
        method,
        url,
        headers: t.as('admin'),
        ...(method === 'POST' ? { payload: { reason: 'x', body: 'x', rating: 5, comment: 'x' } } : {}),
      });
      expect(response.statusCode, `${method} ${url.slice(0, 80)}`).toBeGreaterThanOrEqual(400);
      expect(response.statusCode, `${method} ${url.slice(0, 80)}`).toBeLessThan(500);
      expect(response.json()).toMatchObject({ error: expect.any(String), message: expect.any(String) });
    }
    // Unicode and punctuation are text like any other.
    const fine = await roomReview(s, s.tenant, { comment: 'Ottimo! «Silenzioso» — 5⭐ 🏠 e\u0301' });
    expect(fine.statusCode, fine.body).toBe(201);
  });
});
