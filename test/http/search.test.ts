import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { offset } from '../contracts/roomIndex.contract.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { roomBody } from '../support/builders/rooms.js';
import { waitFor } from '../workers/support.js';

/** Calendar dates around an exam two months from today: `day(0)` is its first day. */
const day = (offset: number) => new Date(Date.now() + (60 + offset) * 86_400_000).toISOString().slice(0, 10);

let t: TestApp;
const landlordId = randomUUID();
let venueId: string;
let sessionId: string;
/** Every test works in its own area, far from the others. */
const VENUE = { lat: 45.4642, lng: 9.19 };
let lastPosition = '0';

beforeAll(async () => {
  // Reads wait for the search projection (X-Min-Position); beside the whole suite on 2 cores it has been seen
  // more than 5 s behind, so this file allows it 15 s.
  t = await createTestApp({ config: { MIN_POSITION_WAIT_MS: '15000' } });
  const admin = t.as('admin');
  const university = (
    await t.app.inject({
      method: 'POST',
      url: '/api/universities',
      headers: admin,
      payload: { name: 'Politecnico di Milano', city: 'Milano', country: 'IT', location: VENUE },
    })
  ).json();
  venueId = (
    await t.app.inject({
      method: 'POST',
      url: '/api/exam-venues',
      headers: admin,
      payload: { universityId: university.id, name: 'Aula Rogers', address: 'Via Ampère 2, Milano', location: VENUE },
    })
  ).json().id;
  const session = await t.app.inject({
    method: 'POST',
    url: '/api/exam-sessions',
    headers: admin,
    payload: {
      universityId: university.id,
      name: 'Admission test',
      startsOn: day(0),
      endsOn: day(1),
      venueIds: [venueId],
    },
  });
  sessionId = session.json().id;
  lastPosition = session.json().position;
});
afterAll(async () => {
  await t?.close();
});

async function room(overrides: Parameters<typeof roomBody>[0] = {}, publish = true): Promise<string> {
  const headers = t.as('landlord', landlordId);
  const created = await t.app.inject({ method: 'POST', url: '/api/rooms', headers, payload: roomBody(overrides) });
  expect(created.statusCode).toBe(201);
  lastPosition = created.json().position;
  if (publish) {
    const published = await t.app.inject({ method: 'POST', url: `/api/rooms/${created.json().id}/publish`, headers });
    lastPosition = published.json().position;
  }
  return created.json().id;
}

type Hit = { id: string; distanceMeters: number; rankingScore: number; pricePerNight: number };
const search = (params: Record<string, string | number>, headers: Record<string, string> = {}) =>
  t.app.inject({
    method: 'GET',
    url: `/api/rooms/search?${new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, String(v)]))}`,
    headers: { 'x-min-position': lastPosition, ...headers },
  });
const ids = async (params: Record<string, string | number>) => {
  const response = await search(params);
  expect(response.statusCode, response.body).toBe(200);
  return (response.json().items as Hit[]).map((h) => h.id);
};
const at = (point: { lat: number; lng: number }) => ({ lat: point.lat, lng: point.lng });

describe('GET /api/rooms/search', () => {
  it('never shows a room outside the radius, nor an unpublished one', async () => {
    const centre = offset(VENUE, 100_000);
    const inside = await room({ location: offset(centre, 2_000) });
    const outside = await room({ location: offset(centre, 3_200) });
    const draft = await room({ location: offset(centre, 500) }, false);
    const found = await ids({ ...at(centre), radius: 3 });
    expect(found).toContain(inside);
    expect(found).not.toContain(outside);
    expect(found).not.toContain(draft);
  });

  it('never shows a room booked, held or blocked on one of the requested nights', async () => {
    const centre = offset(VENUE, 200_000);
    const booked = await room({ location: offset(centre, 100) });
    const blocked = await room({ location: offset(centre, 200) });
    const free = await room({ location: offset(centre, 300) });
    const tenantId = randomUUID();
    const booking = await t.app.inject({
      method: 'POST',
      url: '/api/bookings',
      headers: t.as('tenant', tenantId),
      payload: { roomId: booked, checkIn: day(-1), checkOut: day(1), guests: 1 },
    });
    expect(booking.statusCode).toBe(201);
    const block = await t.app.inject({
      method: 'PUT',
      url: `/api/rooms/${blocked}/availability`,
      headers: t.as('landlord', landlordId),
      payload: { blocked: [{ from: day(0), to: day(1) }] },
    });
    lastPosition = block.json().position;
    expect(await ids({ ...at(centre), checkIn: day(0), checkOut: day(2) })).toEqual([free]);
    // The night of checkOut is not needed.
    expect(await ids({ ...at(centre), checkIn: day(-3), checkOut: day(-1), sort: 'distance' })).toEqual([
      booked,
      blocked,
      free,
    ]);
    // Cancelled: the nights are free again.
    const cancelled = await t.app.inject({
      method: 'PUT',
      url: `/api/bookings/${booking.json().id}/status`,
      headers: t.as('tenant', tenantId),
      payload: { status: 'cancelled' },
    });
    expect(cancelled.statusCode).toBe(200);
    lastPosition = cancelled.json().position;
    expect(await ids({ ...at(centre), checkIn: day(0), checkOut: day(2), sort: 'distance' })).toEqual([booked, free]);
  });

  it('sorts by distance and price monotonically, and pages through every room exactly once', async () => {
    const centre = offset(VENUE, 300_000);
    const rooms = [];
    for (let i = 0; i < 9; i++) {
      rooms.push(
        await room({ location: offset(centre, 250 * (i + 1), 90 * (i % 3)), pricePerNight: 3_000 + (i % 3) * 500 }),
      );
    }
    for (const sort of ['distance', 'price', 'ranking']) {
      const seen: Hit[] = [];
      let cursor: string | null = null;
      do {
        const response = await search({ ...at(centre), sort, limit: 2, ...(cursor ? { cursor } : {}) });
        expect(response.statusCode).toBe(200);
        seen.push(...response.json().items);
        cursor = response.json().nextCursor;
      } while (cursor);
      expect(seen.map((h) => h.id).sort(), sort).toEqual([...rooms].sort());
      for (let i = 1; i < seen.length; i++) {
        if (sort === 'distance') expect(seen[i]!.distanceMeters).toBeGreaterThanOrEqual(seen[i - 1]!.distanceMeters);
        if (sort === 'price') expect(seen[i]!.pricePerNight).toBeGreaterThanOrEqual(seen[i - 1]!.pricePerNight);
        if (sort === 'ranking') expect(seen[i]!.rankingScore).toBeLessThanOrEqual(seen[i - 1]!.rankingScore);
      }
    }
  });

  it('finds "quiet room" when asked for "quite room", with amenity and price filters', async () => {
    const centre = offset(VENUE, 400_000);
    const quiet = await room({
      location: offset(centre, 100),
      title: 'Quiet room near the library',
      amenities: ['desk', 'wifi'],
    });
    const other = await room({ location: offset(centre, 200), title: 'Sunny attic studio', amenities: ['wifi'] });
    expect(await ids({ ...at(centre), q: 'quite room' })).toEqual([quiet]);
    expect(await ids({ ...at(centre), amenities: 'desk,wifi' })).toEqual([quiet]);
    expect(await ids({ ...at(centre), amenities: 'wifi', sort: 'distance' })).toEqual([quiet, other]);
    expect(await ids({ ...at(centre), maxPrice: 4_000 })).toEqual([]);
  });

  it('answers any text with 200: a draft’s words or query syntax never reach the text query', async () => {
    const centre = offset(VENUE, 700_000);
    const quiet = await room({
      location: offset(centre, 100),
      title: 'Quiet room & garden',
      description: 'A desk by the window (and fast wifi!)',
    });
    await room(
      { location: offset(centre, 150), title: 'Draft', description: "see example.com/quiet) & !room :* (x | 'y' <->" },
      false,
    );
    expect(await ids({ ...at(centre), q: 'quiet' })).toEqual([quiet]);
    expect(await ids({ ...at(centre), q: 'quite' })).toEqual([quiet]);
    for (const q of ['quiet)', 'quiet:*', '!garden', '(quiet & garden', "room'", 'garden | x']) {
      const response = await search({ ...at(centre), q });
      expect(response.statusCode, `${q}: ${response.body}`).toBe(200);
    }
    for (const q of ['&', '!', ':*', '(', ')', '|', "'", '\\', '<->', 'example.com/quiet)']) {
      const response = await search({ ...at(centre), q });
      expect(response.statusCode, `${q}: ${response.body}`).toBe(200);
    }
  });

  it('searches around a tenant’s assigned venue when no location is given, and proposes the session’s nights', async () => {
    const tenantId = randomUUID();
    const near = await room({ location: offset(VENUE, 800) });
    const assigned = await t.app.inject({
      method: 'POST',
      url: `/api/exam-sessions/${sessionId}/assignments`,
      headers: { ...t.as('tenant', tenantId), 'x-min-position': lastPosition },
      payload: { venueId },
    });
    lastPosition = assigned.json().position;
    const response = await search({}, t.as('tenant', tenantId));
    expect(response.statusCode).toBe(200);
    expect(response.json().items.map((h: Hit) => h.id)).toContain(near);
    expect(response.json().context).toMatchObject({
      examVenue: { id: venueId, name: 'Aula Rogers' },
      examSession: { id: sessionId, startsOn: day(0), endsOn: day(1) },
      proposedStay: { checkIn: day(-1), checkOut: day(2) },
    });
    const byVenue = await search({ examLocationId: venueId });
    expect(byVenue.json().items.map((h: Hit) => h.id)).toContain(near);
    const score = await t.app.inject({
      method: 'GET',
      url: `/api/rooms/${near}/ranking-score?examLocationId=${venueId}`,
    });
    const breakdown = score.json();
    for (const part of ['overall', 'distance', 'amenity', 'review']) {
      expect(breakdown[part]).toBeGreaterThanOrEqual(0);
      expect(breakdown[part]).toBeLessThanOrEqual(1);
    }
    // No reviews yet: the review score is the prior's, (3.5 - 1) / 4.
    expect(breakdown.review).toBeCloseTo(0.625, 9);
    expect(breakdown.distanceMeters).toBeGreaterThan(790);
    expect(breakdown.distanceMeters).toBeLessThan(810);
    const hit = byVenue.json().items.find((h: Hit) => h.id === near);
    expect(hit.rankingScore).toBeCloseTo(breakdown.overall, 6);
  });

  it('caches a result, keeps it over changes elsewhere, and never serves it after a room it covers changed', async () => {
    const centre = offset(VENUE, 500_000);
    const first = await room({ location: offset(centre, 100), pricePerNight: 5_000 });
    const miss = await search({ ...at(centre) });
    const hit = await search({ ...at(centre) });
    expect([miss.headers['x-cache'], hit.headers['x-cache']]).toEqual(['miss', 'hit']);
    expect(hit.json().items).toEqual(miss.json().items);
    // A change far away leaves the result cached...
    await room({ location: offset(VENUE, 600_000) });
    const stillCached = await search({ ...at(centre) });
    expect(stillCached.headers['x-cache']).toBe('hit');
    // ...a change to a room it covers never lets it be served again.
    const updated = await t.app.inject({
      method: 'PUT',
      url: `/api/rooms/${first}`,
      headers: t.as('landlord', landlordId),
      payload: { pricePerNight: 5_500 },
    });
    lastPosition = updated.json().position;
    const after = await search({ ...at(centre) });
    expect(after.headers['x-cache']).toBe('miss');
    expect(after.json().items[0].pricePerNight).toBe(5_500);
  });

  it('serves nothing cached from the old index once a blue/green rebuild has switched the new one in', async () => {
    const centre = offset(VENUE, 700_000);
    await room({ location: offset(centre, 100) });
    const before = await search({ ...at(centre) });
    expect((await search({ ...at(centre) })).headers['x-cache']).toBe('hit');
    const asked = await t.app.inject({
      method: 'POST',
      url: '/api/ops/projections/room-search/rebuild',
      headers: t.as('support'),
    });
    expect(asked.statusCode).toBe(202);
    await waitFor(
      'the rebuilt index switched in',
      async () => {
        const list = await t.app.inject({ method: 'GET', url: '/api/ops/projections', headers: t.as('support') });
        return list.json().find((p: { name: string }) => p.name === 'room-search')?.rebuild?.status === 'done';
      },
      60_000,
    );
    // The same cells may carry the same versions in the new build: the key must still change with the build.
    const after = await search({ ...at(centre) });
    expect(after.headers['x-cache']).toBe('miss');
    expect(after.json().items).toEqual(before.json().items);
    expect((await search({ ...at(centre) })).headers['x-cache']).toBe('hit');
  }, 90_000);

  it('answers bad parameters with a clear 400 or 404', async () => {
    const cases: Array<[Record<string, string | number>, number, string]> = [
      [{ ...at(VENUE), radius: 51 }, 400, 'VALIDATION_FAILED'],
      [{ lat: 91, lng: 9 }, 400, 'VALIDATION_FAILED'],
      [{ lat: 45 }, 400, 'INCOMPLETE_LOCATION'],
      [{ examLocationId: randomUUID() }, 404, 'EXAM_VENUE_NOT_FOUND'],
      [{ ...at(VENUE), checkIn: day(2), checkOut: day(0) }, 400, 'INVALID_STAY'],
      [{ ...at(VENUE), checkIn: day(2) }, 400, 'INCOMPLETE_STAY'],
      [{ ...at(VENUE), amenities: 'desk,jacuzzi' }, 400, 'UNKNOWN_AMENITY'],
      [{ ...at(VENUE), minPrice: 500, maxPrice: 100 }, 400, 'INVALID_PRICE_RANGE'],
      [{ ...at(VENUE), cursor: 'bogus' }, 400, 'INVALID_CURSOR'],
      [{}, 400, 'LOCATION_REQUIRED'],
    ];
    for (const [params, status, error] of cases) {
      const response = await search(params);
      expect([response.statusCode, response.json().error], JSON.stringify(params)).toEqual([status, error]);
      expect(typeof response.json().message).toBe('string');
    }
  });
});
