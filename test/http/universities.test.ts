import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../support/app.js';

/** Calendar dates of an exam session two months from today: `day(0)` is its first day. */
const day = (offset: number) => new Date(Date.now() + (60 + offset) * 86_400_000).toISOString().slice(0, 10);

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

type Headers = Record<string, string>;
const admin = () => t.as('admin');

async function university(name = `Università ${randomUUID().slice(0, 6)}`) {
  const response = await t.app.inject({
    method: 'POST',
    url: '/api/universities',
    headers: admin(),
    payload: { name, city: 'Bologna', country: 'it', location: { lat: 44.4969, lng: 11.3525 } },
  });
  expect(response.statusCode).toBe(201);
  return response.json() as { id: string; position: string; country: string };
}

/** A registered account made an official of the university by an admin; its headers. */
async function officialOf(universityId: string): Promise<Headers> {
  const registered = await t.app.inject({
    method: 'POST',
    url: '/api/auth/register',
    payload: {
      email: `official-${randomUUID().slice(0, 8)}@unibo.example`,
      password: 'correct horse battery staple',
      phone: `+39${Math.floor(1e9 + Math.random() * 8e9)}`,
      role: 'tenant',
      fullName: 'Paola Bianchi',
    },
  });
  const userId = registered.json().user.id as string;
  const granted = await t.app.inject({
    method: 'PUT',
    url: `/api/admin/users/${userId}/role`,
    headers: admin(),
    payload: { role: 'official', universityId },
  });
  expect(granted.statusCode).toBe(200);
  return t.as('official', userId);
}

const venue = (headers: Headers, universityId: string, name: string, location = { lat: 44.4939, lng: 11.3428 }) =>
  t.app.inject({
    method: 'POST',
    url: '/api/exam-venues',
    headers,
    payload: { universityId, name, address: 'Piazza Scaravilli 1, Bologna', location, capacity: 300 },
  });

describe('universities, exam venues and sessions', () => {
  it('lets an admin register a university, its official add venues and a session, and anyone read them', async () => {
    const u = await university();
    expect(u.country).toBe('IT');
    const official = await officialOf(u.id);
    const law = await venue(official, u.id, 'Aula Magna, Faculty of Law');
    const eng = await venue(official, u.id, 'Engineering Hall', { lat: 44.4877, lng: 11.3297 });
    expect([law.statusCode, eng.statusCode]).toEqual([201, 201]);
    const session = await t.app.inject({
      method: 'POST',
      url: '/api/exam-sessions',
      headers: official,
      payload: {
        universityId: u.id,
        name: 'State exam, June 2027',
        startsOn: day(0),
        endsOn: day(4),
        venueIds: [law.json().id, eng.json().id],
      },
    });
    expect(session.statusCode).toBe(201);
    const seen = { 'x-min-position': session.json().position };

    const list = await t.app.inject({ method: 'GET', url: '/api/universities?limit=100', headers: seen });
    expect(list.json().items.map((x: { id: string }) => x.id)).toContain(u.id);
    const venues = await t.app.inject({ method: 'GET', url: `/api/exam-venues?universityId=${u.id}`, headers: seen });
    expect(venues.json().items.map((v: { name: string }) => v.name)).toEqual([
      'Aula Magna, Faculty of Law',
      'Engineering Hall',
    ]);
    const sessions = await t.app.inject({
      method: 'GET',
      url: `/api/universities/${u.id}/exam-sessions`,
      headers: seen,
    });
    const [only] = sessions.json().items;
    expect(only).toMatchObject({ name: 'State exam, June 2027', startsOn: day(0), endsOn: day(4) });
    expect(only.venues.map((v: { name: string; location: object }) => [v.name, v.location])).toEqual([
      ['Aula Magna, Faculty of Law', { lat: 44.4939, lng: 11.3428 }],
      ['Engineering Hall', { lat: 44.4877, lng: 11.3297 }],
    ]);
  });

  it('keeps officials to their own university, and sessions to the university’s venues', async () => {
    const mine = await university();
    const theirs = await university();
    const official = await officialOf(mine.id);
    const elsewhere = await venue(official, theirs.id, 'Not mine');
    expect([elsewhere.statusCode, elsewhere.json().error]).toEqual([403, 'NOT_YOUR_UNIVERSITY']);
    // An official whose account names no university (a signed token alone) acts for none.
    const stranger = await venue(t.as('official'), mine.id, 'Nobody’s');
    expect(stranger.statusCode).toBe(403);
    const foreign = await venue(admin(), theirs.id, 'Their hall');
    const session = await t.app.inject({
      method: 'POST',
      url: '/api/exam-sessions',
      headers: official,
      payload: {
        universityId: mine.id,
        name: 'Mixed',
        startsOn: day(0),
        endsOn: day(1),
        venueIds: [foreign.json().id],
      },
    });
    expect([session.statusCode, session.json().error]).toEqual([422, 'UNKNOWN_VENUES']);
    const backwards = await t.app.inject({
      method: 'POST',
      url: '/api/exam-sessions',
      headers: admin(),
      payload: {
        universityId: theirs.id,
        name: 'Backwards',
        startsOn: day(1),
        endsOn: day(0),
        venueIds: [foreign.json().id],
      },
    });
    expect(backwards.json().error).toBe('INVALID_SESSION_DATES');
    const missing = await venue(admin(), randomUUID(), 'Nowhere');
    expect([missing.statusCode, missing.json().error]).toEqual([404, 'UNIVERSITY_NOT_FOUND']);
    const noLocation = await t.app.inject({
      method: 'POST',
      url: '/api/exam-venues',
      headers: admin(),
      payload: { universityId: mine.id, name: 'Hall', address: 'Via Zamboni 33, Bologna' },
    });
    expect([noLocation.statusCode, noLocation.json().error]).toEqual([422, 'LOCATION_REQUIRED']);
  });

  it('records where a tenant sits an exam, and lets the university’s official assign candidates in bulk', async () => {
    const u = await university();
    const official = await officialOf(u.id);
    const a = (await venue(official, u.id, 'Hall A')).json().id as string;
    const b = (await venue(official, u.id, 'Hall B')).json().id as string;
    const other = (await venue(official, u.id, 'Hall C')).json().id as string;
    const session = await t.app.inject({
      method: 'POST',
      url: '/api/exam-sessions',
      headers: official,
      payload: { universityId: u.id, name: 'Finals', startsOn: day(17), endsOn: day(19), venueIds: [a, b] },
    });
    const sessionId = session.json().id as string;
    const seen = { 'x-min-position': session.json().position };
    const tenantId = randomUUID();
    const own = await t.app.inject({
      method: 'POST',
      url: `/api/exam-sessions/${sessionId}/assignments`,
      headers: { ...t.as('tenant', tenantId), ...seen },
      payload: { venueId: a },
    });
    expect(own.statusCode).toBe(200);
    const wrongVenue = await t.app.inject({
      method: 'POST',
      url: `/api/exam-sessions/${sessionId}/assignments`,
      headers: t.as('tenant'),
      payload: { venueId: other },
    });
    expect([wrongVenue.statusCode, wrongVenue.json().error]).toEqual([422, 'VENUE_NOT_IN_SESSION']);
    const others = [randomUUID(), randomUUID(), randomUUID()];
    const bulk = await t.app.inject({
      method: 'POST',
      url: `/api/exam-sessions/${sessionId}/assignments`,
      headers: official,
      payload: { assignments: [...others.map((id) => ({ tenantId: id, venueId: b })), { tenantId, venueId: b }] },
    });
    expect(bulk.statusCode).toBe(200);
    expect(bulk.json().assignments).toHaveLength(4);
    const tenantBulk = await t.app.inject({
      method: 'POST',
      url: `/api/exam-sessions/${sessionId}/assignments`,
      headers: t.as('tenant'),
      payload: { assignments: [{ tenantId, venueId: a }] },
    });
    expect(tenantBulk.statusCode).toBe(403);
    const mine = await t.app.inject({
      method: 'GET',
      url: '/api/user/exam-assignments',
      headers: { ...t.as('tenant', tenantId), 'x-min-position': bulk.json().position },
    });
    // The official's later assignment replaced the tenant's own for this session.
    expect(
      mine.json().items.map((x: { session: { id: string }; venue: { id: string } }) => [x.session.id, x.venue.id]),
    ).toEqual([[sessionId, b]]);
  });
});
