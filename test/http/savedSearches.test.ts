import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { savedSearchMatcher, savedSearchMatcherName } from '../../commands/savedSearches.js';
import type { RoomDetails } from '../../domain/rooms/events.js';
import { savedSearchStreamId } from '../../domain/savedSearches/events.js';
import type { GeoPoint } from '../../domain/shared/values.js';
import { type RecordedEvent, toArray } from '../../infra/eventStore/eventStore.js';
import { TransientProjectionError } from '../../projections/projection.js';
import { createSavedSearchQueries } from '../../projections/savedSearches/savedSearchQueries.js';
import { waitForCheckpoint } from '../../projections/status.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { roomBody } from '../support/builders/rooms.js';
import { notificationEventsOf } from '../support/notificationFlows.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

// Dates from the clock: nothing here goes stale as the calendar moves on.
const daysFromNow = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
/** Each test its own part of the map, hundreds of km from the others: their rooms never meet their searches. */
let areas = 0;
const newArea = (): GeoPoint => ({ lat: -40 + 3 * areas++, lng: 20 });
/** A point `km` north of `at`. */
const north = (at: GeoPoint, km: number): GeoPoint => ({ lat: at.lat + km / 111.195, lng: at.lng });

const tenantHeaders = (tenantId: string, extra: Record<string, string> = {}) => ({
  ...t.as('tenant', tenantId),
  ...extra,
});

async function save(tenantId: string, payload: Record<string, unknown>, extra: Record<string, string> = {}) {
  return t.app.inject({ method: 'POST', url: '/api/saved-searches', headers: tenantHeaders(tenantId, extra), payload });
}
async function saved(tenantId: string, payload: Record<string, unknown>): Promise<{ id: string; position: string }> {
  const response = await save(tenantId, payload);
  expect(response.statusCode, response.body).toBe(201);
  return response.json();
}
/** A read of the tenant's list once it has `position` (a loaded machine may need more than one wait of 5 s). */
async function list(tenantId: string, position: string, query = '') {
  const read = () =>
    t.app.inject({
      method: 'GET',
      url: `/api/saved-searches${query}`,
      headers: tenantHeaders(tenantId, { 'x-min-position': position }),
    });
  let response = await read();
  for (let i = 0; i < 5 && response.statusCode === 503; i++) response = await read();
  return response;
}
const remove = (tenantId: string, id: string) =>
  t.app.inject({ method: 'DELETE', url: `/api/saved-searches/${id}`, headers: tenantHeaders(tenantId) });

const matcher = () => t.runtime.projections.find((p) => p.name === savedSearchMatcherName)!;
/** Waits until the matcher has considered everything up to `position`. */
const matched = (position: string) => waitForCheckpoint(t.runtime.pool, matcher(), BigInt(position), 15_000);
async function matchesOf(searchId: string): Promise<RecordedEvent[]> {
  const events = await toArray(t.runtime.eventStore.readStream(savedSearchStreamId(searchId)));
  return events.filter((e) => e.type === 'SavedSearchMatched');
}

interface Room {
  id: string;
  landlord: Record<string, string>;
  position: string;
}
async function room(overrides: Partial<RoomDetails>, publish = true): Promise<Room> {
  const landlord = t.as('landlord', randomUUID());
  const created = await t.app.inject({
    method: 'POST',
    url: '/api/rooms',
    headers: landlord,
    payload: roomBody({ maxOccupants: 2, ...overrides }),
  });
  expect(created.statusCode, created.body).toBe(201);
  const id = created.json().id as string;
  if (!publish) return { id, landlord, position: created.json().position };
  return { id, landlord, position: await roomAction({ id, landlord, position: '0' }, 'publish') };
}
async function roomAction(r: Room, action: 'publish' | 'unpublish'): Promise<string> {
  const response = await t.app.inject({ method: 'POST', url: `/api/rooms/${r.id}/${action}`, headers: r.landlord });
  expect(response.statusCode, response.body).toBe(200);
  return response.json().position ?? r.position;
}
async function book(roomId: string, checkIn: string, checkOut: string, tenantId = randomUUID()) {
  const response = await t.app.inject({
    method: 'POST',
    url: '/api/bookings',
    headers: t.as('tenant', tenantId),
    payload: { roomId, checkIn, checkOut, guests: 1 },
  });
  expect(response.statusCode, response.body).toBe(201);
  return { id: response.json().id as string, tenantId };
}
async function setStatus(bookingId: string, status: string, headers: Record<string, string>): Promise<string> {
  const response = await t.app.inject({
    method: 'PUT',
    url: `/api/bookings/${bookingId}/status`,
    headers,
    payload: { status },
  });
  expect(response.statusCode, response.body).toBe(200);
  return response.json().position;
}

describe('saving, listing and deleting', () => {
  it('saves a search around a point, lists the tenant’s own newest first in pages, and deletes it', async () => {
    const tenantId = randomUUID();
    const at = newArea();
    const first = await saved(tenantId, { name: '  Exam week  ', lat: at.lat, lng: at.lng });
    const second = await saved(tenantId, {
      lat: at.lat,
      lng: at.lng,
      radius: 12.5,
      checkIn: daysFromNow(20),
      checkOut: daysFromNow(23),
      guests: 2,
      minPrice: 1000,
      maxPrice: 6000,
      amenities: ['wifi', 'desk', 'wifi'],
    });
    const page = await list(tenantId, second.position);
    expect(page.statusCode, page.body).toBe(200);
    expect(page.json().items.map((s: { id: string }) => s.id)).toEqual([second.id, first.id]);
    expect(page.json().items[1]).toMatchObject({
      name: 'Exam week',
      matchCount: 0,
      criteria: { location: at, radiusKm: 5, checkIn: null, examLocationId: null, amenities: [] },
    });
    expect(page.json().items[0].criteria).toEqual({
      location: at,
      radiusKm: 12.5,
      examLocationId: null,
      checkIn: daysFromNow(20),
      checkOut: daysFromNow(23),
      guests: 2,
      minPrice: 1000,
      maxPrice: 6000,
      amenities: ['desk', 'wifi'],
    });
    const one = await list(tenantId, second.position, '?limit=1');
    expect(one.json().items).toHaveLength(1);
    const next = await list(tenantId, second.position, `?limit=1&cursor=${one.json().nextCursor}`);
    expect(next.json().items.map((s: { id: string }) => s.id)).toEqual([first.id]);
    expect(next.json().nextCursor).toBeNull();
    expect((await list(tenantId, second.position, '?cursor=YQB4')).statusCode).toBe(400);

    const deleted = await remove(tenantId, first.id);
    expect(deleted.statusCode).toBe(204);
    const after = await list(tenantId, deleted.headers['x-position'] as string);
    expect(after.json().items.map((s: { id: string }) => s.id)).toEqual([second.id]);
    // Deleting again changes nothing and says so the same way; an unknown search is 404.
    expect((await remove(tenantId, first.id)).statusCode).toBe(204);
    const unknown = await remove(tenantId, randomUUID());
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error).toBe('SAVED_SEARCH_NOT_FOUND');
  });

  it('centres a search on an exam venue as the universities read model has it', async () => {
    const admin = t.as('admin');
    const at = newArea();
    const university = await t.app.inject({
      method: 'POST',
      url: '/api/universities',
      headers: admin,
      payload: { name: 'Università di Prova', city: 'Bologna', country: 'IT', location: at },
    });
    const venue = await t.app.inject({
      method: 'POST',
      url: '/api/exam-venues',
      headers: admin,
      payload: { universityId: university.json().id, name: 'Aula Magna', address: 'Via Zamboni 33', location: at },
    });
    expect(venue.statusCode, venue.body).toBe(201);
    const tenantId = randomUUID();
    const response = await save(
      tenantId,
      { examLocationId: venue.json().id, radius: 3 },
      { 'x-min-position': venue.json().position },
    );
    expect(response.statusCode, response.body).toBe(201);
    const page = await list(tenantId, response.json().position);
    expect(page.json().items[0].criteria).toMatchObject({ location: at, radiusKm: 3, examLocationId: venue.json().id });

    const unknown = await save(tenantId, { examLocationId: randomUUID() });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error).toBe('EXAM_VENUE_NOT_FOUND');
    const both = await save(tenantId, { examLocationId: venue.json().id, lat: at.lat, lng: at.lng });
    expect(both.json()).toMatchObject({ error: 'AMBIGUOUS_LOCATION' });
    expect(both.statusCode).toBe(400);
  });

  it('answers a retry with the same Idempotency-Key with the same search, saved once', async () => {
    const tenantId = randomUUID();
    const at = newArea();
    const key = { 'idempotency-key': `save-${randomUUID()}` };
    const first = await save(tenantId, { lat: at.lat, lng: at.lng }, key);
    const again = await save(tenantId, { lat: at.lat, lng: at.lng }, key);
    expect(first.statusCode).toBe(201);
    expect(again.json().id).toBe(first.json().id);
    const page = await list(tenantId, first.json().position);
    expect(page.json().items).toHaveLength(1);
  });

  it(`keeps at most 20 searches per tenant (422 SAVED_SEARCH_LIMIT), and a deleted one frees a place`, async () => {
    const tenantId = randomUUID();
    const at = newArea();
    let last = { id: '', position: '0' };
    for (let i = 0; i < 20; i++) last = await saved(tenantId, { lat: at.lat, lng: at.lng, radius: 1 + i });
    const over = await save(tenantId, { lat: at.lat, lng: at.lng }, { 'x-min-position': last.position });
    expect(over.statusCode).toBe(422);
    expect(over.json().error).toBe('SAVED_SEARCH_LIMIT');
    const deleted = await remove(tenantId, last.id);
    const again = await save(
      tenantId,
      { lat: at.lat, lng: at.lng },
      { 'x-min-position': deleted.headers['x-position'] as string },
    );
    expect(again.statusCode, again.body).toBe(201);
  });
});

describe('who may', () => {
  it('is for tenants: landlords, officials and admins get 403 on every route', async () => {
    const at = newArea();
    for (const role of ['landlord', 'official', 'admin'] as const) {
      const headers = t.as(role);
      const post = await t.app.inject({
        method: 'POST',
        url: '/api/saved-searches',
        headers,
        payload: { lat: at.lat, lng: at.lng },
      });
      expect(post.statusCode, role).toBe(403);
      expect((await t.app.inject({ method: 'GET', url: '/api/saved-searches', headers })).statusCode, role).toBe(403);
      const del = await t.app.inject({ method: 'DELETE', url: `/api/saved-searches/${randomUUID()}`, headers });
      expect(del.statusCode, role).toBe(403);
    }
    expect((await t.app.inject({ method: 'GET', url: '/api/saved-searches' })).statusCode).toBe(401);
  });

  it('hides a tenant’s searches from another tenant: absent from their list, 404 on their delete', async () => {
    const owner = randomUUID();
    const other = randomUUID();
    const at = newArea();
    const search = await saved(owner, { lat: at.lat, lng: at.lng });
    const theirs = await list(other, search.position);
    expect(theirs.json().items).toEqual([]);
    const stolen = await remove(other, search.id);
    expect(stolen.statusCode).toBe(404);
    expect(stolen.json().error).toBe('SAVED_SEARCH_NOT_FOUND');
    expect((await list(owner, search.position)).json().items.map((s: { id: string }) => s.id)).toEqual([search.id]);
  });
});

describe('hostile input', () => {
  const at = { lat: 44.4949, lng: 11.3426 };
  it.each<[string, Record<string, unknown>, number, string | null]>([
    ['NaN as a latitude', { lat: 'NaN', lng: at.lng }, 400, null],
    ['a huge latitude', { lat: 1e308, lng: at.lng }, 400, null],
    ['a longitude beyond 180', { lat: at.lat, lng: 180.0001 }, 400, null],
    ['a latitude alone', { lat: at.lat }, 400, 'INCOMPLETE_LOCATION'],
    ['no location at all', { radius: 3 }, 400, 'LOCATION_REQUIRED'],
    ['radius 0', { ...at, radius: 0 }, 400, null],
    ['radius 51', { ...at, radius: 51 }, 400, null],
    ['a malformed date', { ...at, checkIn: '20-1-1', checkOut: daysFromNow(3) }, 400, null],
    ['a date that does not exist', { ...at, checkIn: '2031-02-30', checkOut: '2031-03-03' }, 400, 'INVALID_DATE'],
    ['dates reversed', { ...at, checkIn: daysFromNow(10), checkOut: daysFromNow(8) }, 400, 'INVALID_STAY'],
    ['check-out alone', { ...at, checkOut: daysFromNow(8) }, 400, 'INCOMPLETE_STAY'],
    ['a stay over 60 nights', { ...at, checkIn: daysFromNow(10), checkOut: daysFromNow(71) }, 400, 'STAY_TOO_LONG'],
    ['a check-in before today', { ...at, checkIn: daysFromNow(-1), checkOut: daysFromNow(2) }, 422, 'CHECK_IN_IN_PAST'],
    ['minPrice over maxPrice', { ...at, minPrice: 5000, maxPrice: 4000 }, 400, 'INVALID_PRICE_RANGE'],
    ['a negative price', { ...at, minPrice: -1 }, 400, null],
    ['an unknown amenity', { ...at, amenities: ['wifi', 'jacuzzi'] }, 400, 'UNKNOWN_AMENITY'],
    ['0 guests', { ...at, guests: 0 }, 400, null],
    ['a 10,000-character name', { ...at, name: 'x'.repeat(10_000) }, 400, null],
    ['NUL in the name', { ...at, name: 'exam\u0000week' }, 400, 'VALIDATION_FAILED'],
    ['a control character in the name', { ...at, name: 'exam\u0007week' }, 400, 'INVALID_NAME'],
    [
      'a lone surrogate in the name (refused at the door, as NUL is)',
      { ...at, name: 'exam \ud800 week' },
      400,
      'VALIDATION_FAILED',
    ],
    ['an unknown field', { ...at, sort: 'price' }, 400, null],
  ])('refuses %s', async (_case, payload, status, code) => {
    const response = await save(randomUUID(), payload);
    expect(response.statusCode, response.body).toBe(status);
    expect(response.json()).toMatchObject({ error: expect.any(String), message: expect.any(String) });
    if (code) expect(response.json().error).toBe(code);
  });

  it('keeps a Unicode name, normalised to NFC', async () => {
    const tenantId = randomUUID();
    const search = await saved(tenantId, { ...at, name: 'Cafe\u0301 vicino all’aula 🎓' });
    expect((await list(tenantId, search.position)).json().items[0].name).toBe('Café vicino all’aula 🎓');
  });

  it('refuses a body that is not a JSON object', async () => {
    const response = await t.app.inject({
      method: 'POST',
      url: '/api/saved-searches',
      headers: { ...t.as('tenant'), 'content-type': 'application/json' },
      payload: '{"lat":',
    });
    expect(response.statusCode).toBe(400);
  });
});

describe('alerts', () => {
  it('announces a room published inside the circle once; outside it or over the price, never', async () => {
    const at = newArea();
    const tenantId = randomUUID();
    const search = await saved(tenantId, { lat: at.lat, lng: at.lng, radius: 5, maxPrice: 5000 });
    const inside = await room({ location: north(at, 2), pricePerNight: 4500 });
    const outside = await room({ location: north(at, 6), pricePerNight: 4500 });
    const dear = await room({ location: north(at, 1), pricePerNight: 5001 });
    await matched(dear.position);
    const matches = await matchesOf(search.id);
    expect(matches.map((e) => e.data)).toEqual([
      {
        searchId: search.id,
        tenantId,
        roomId: inside.id,
        reason: 'published',
        sourceEventId: expect.any(String),
        matchedAt: expect.any(String),
      },
    ]);
    expect(matches[0]!.metadata).toMatchObject({ actorRole: 'system' });
    expect(outside.id).not.toBe(inside.id);

    // Unpublished and published again: still announced once.
    await roomAction(inside, 'unpublish');
    await matched(await roomAction(inside, 'publish'));
    expect(await matchesOf(search.id)).toHaveLength(1);
    const page = await list(tenantId, (await matchesOf(search.id))[0]!.position.toString());
    expect(page.json().items[0].matchCount).toBe(1);

    // The tenant is notified once, of that room.
    const notified = async () => {
      const raised = await notificationEventsOf(t.runtime.eventStore, tenantId);
      return raised.filter((e) => (e.data as { kind: string }).kind === 'saved_search_match');
    };
    const deadline = Date.now() + 15_000;
    while ((await notified()).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect((await notified()).map((e) => (e.data as { subject: unknown }).subject)).toEqual([
      { savedSearchId: search.id, roomId: inside.id },
    ]);
  });

  it('never announces to a deleted search, nor rooms published before a search was saved', async () => {
    const at = newArea();
    const tenantId = randomUUID();
    const before = await room({ location: north(at, 1) });
    const search = await saved(tenantId, { lat: at.lat, lng: at.lng });
    const gone = await saved(tenantId, { lat: at.lat, lng: at.lng });
    expect((await remove(tenantId, gone.id)).statusCode).toBe(204);
    const after = await room({ location: north(at, 1) });
    await matched(after.position);
    expect((await matchesOf(search.id)).map((e) => (e.data as { roomId: string }).roomId)).toEqual([after.id]);
    expect(await matchesOf(gone.id)).toEqual([]);
    expect(before.id).not.toBe(after.id);
  });

  it('announces a room whose nights are freed (a booking rejected, then another cancelled) once to a dated search', async () => {
    const at = newArea();
    const r = await room({ location: north(at, 1) });
    const nights = { checkIn: daysFromNow(30), checkOut: daysFromNow(33) };
    const pending = await book(r.id, nights.checkIn, nights.checkOut);
    const tenantId = randomUUID();
    const dated = await saved(tenantId, { lat: at.lat, lng: at.lng, ...nights });
    const elsewhen = await saved(tenantId, {
      lat: at.lat,
      lng: at.lng,
      checkIn: daysFromNow(50),
      checkOut: daysFromNow(52),
    });
    const undated = await saved(tenantId, { lat: at.lat, lng: at.lng });
    await matched(undated.position);
    expect(await matchesOf(dated.id)).toEqual([]);

    await matched(await setStatus(pending.id, 'rejected', r.landlord));
    const matches = await matchesOf(dated.id);
    expect(matches.map((e) => e.data)).toEqual([expect.objectContaining({ roomId: r.id, reason: 'freed', tenantId })]);
    // A freed night concerns only searches whose dates hold it.
    expect(await matchesOf(elsewhen.id)).toEqual([]);
    expect(await matchesOf(undated.id)).toEqual([]);

    const second = await book(r.id, nights.checkIn, nights.checkOut);
    await matched(await setStatus(second.id, 'cancelled', t.as('tenant', second.tenantId)));
    expect(await matchesOf(dated.id)).toHaveLength(1);
  });

  it('announces nights a landlord unblocks to a dated search, and not while they stay blocked', async () => {
    const at = newArea();
    const r = await room({ location: north(at, 1) });
    const nights = { checkIn: daysFromNow(40), checkOut: daysFromNow(42) };
    const availability = (blocked: Array<{ from: string; to: string }>) =>
      t.app.inject({
        method: 'PUT',
        url: `/api/rooms/${r.id}/availability`,
        headers: r.landlord,
        payload: { blocked },
      });
    const blocking = await availability([{ from: nights.checkIn, to: daysFromNow(45) }]);
    expect(blocking.statusCode, blocking.body).toBe(200);
    const tenantId = randomUUID();
    const search = await saved(tenantId, { lat: at.lat, lng: at.lng, ...nights });
    // Unblocking nights beside the stay frees none of its nights.
    const partly = await availability([{ from: nights.checkIn, to: nights.checkOut }]);
    await matched(partly.json().position);
    expect(await matchesOf(search.id)).toEqual([]);
    const cleared = await availability([]);
    await matched(cleared.json().position);
    expect((await matchesOf(search.id)).map((e) => e.data)).toEqual([
      expect.objectContaining({ roomId: r.id, reason: 'freed' }),
    ]);
  });

  it('waits for the saved searches read model: a batch it has not reached yet is retried, not applied', async () => {
    const at = newArea();
    await saved(randomUUID(), { lat: at.lat, lng: at.lng });
    const r = await room({ location: north(at, 1) });
    const published = (await toArray(t.runtime.eventStore.readStream(`Room-${r.id}`))).filter(
      (e) => e.type === 'RoomPublished',
    );
    const queries = createSavedSearchQueries(t.runtime.pool);
    const behind = savedSearchMatcher({
      store: t.runtime.eventStore,
      clock: t.runtime.clock,
      searches: { candidatesCovering: queries.candidatesCovering, caughtUp: async () => false },
      readModelWaitMs: 10,
    });
    await expect(behind.apply(t.runtime.orm.em.fork(), published)).rejects.toBeInstanceOf(TransientProjectionError);
  });

  it('appends nothing new when the matcher is replayed from position 0', async () => {
    const at = newArea();
    const search = await saved(randomUUID(), { lat: at.lat, lng: at.lng });
    const r = await room({ location: north(at, 1) });
    await matched(r.position);
    expect(await matchesOf(search.id)).toHaveLength(1);
    const countMatches = async () =>
      (await toArray(t.runtime.eventStore.readAll({ filter: { eventTypes: ['SavedSearchMatched'] } }))).length;
    const before = await countMatches();
    expect(before).toBeGreaterThan(0);

    const replay = savedSearchMatcher({
      store: t.runtime.eventStore,
      clock: t.runtime.clock,
      searches: createSavedSearchQueries(t.runtime.pool),
    });
    const history = await toArray(t.runtime.eventStore.readAll({ filter: replay.filter }));
    expect(history.length).toBeGreaterThan(5);
    for (let i = 0; i < history.length; i += 50) {
      await replay.apply(t.runtime.orm.em.fork(), history.slice(i, i + 50));
    }
    expect(await countMatches()).toBe(before);
  });
});
