import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../support/app.js';
import { roomBody } from '../support/builders/rooms.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

const landlordId = randomUUID();

async function createRoom(overrides = {}, headers: Record<string, string> = {}) {
  return t.app.inject({
    method: 'POST',
    url: '/api/rooms',
    headers: { ...t.as('landlord', landlordId), ...headers },
    payload: roomBody(overrides),
  });
}

const dayFromNow = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);

describe('POST /api/rooms', () => {
  it('creates a draft and answers with its id and position', async () => {
    const response = await createRoom();
    expect(response.statusCode).toBe(201);
    const body = response.json();
    expect(body).toMatchObject({ status: 'draft', revision: '0' });
    expect(body.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(body.position).toMatch(/^\d+$/);
    expect(response.headers.location).toBe(`/api/rooms/${body.id}`);
  });

  it('is readable at once with X-Min-Position', async () => {
    const created = (await createRoom({ title: 'Sunny room by the station' })).json();
    const response = await t.app.inject({
      method: 'GET',
      url: `/api/rooms/${created.id}`,
      headers: { ...t.as('landlord', landlordId), 'x-min-position': created.position },
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({
      id: created.id,
      landlordId,
      status: 'draft',
      title: 'Sunny room by the station',
      location: { lat: 44.4949, lng: 11.3426 },
      pricePerNight: 4500,
      currency: 'EUR',
      amenities: ['desk', 'quiet_hours', 'wifi'],
      rating: null,
      reviewCount: 0,
      photos: [],
      revision: '0',
    });
    expect(response.headers.etag).toBe('"0"');
  });

  it.each([
    ['a missing title', { title: undefined }],
    ['a float price', { pricePerNight: 45.5 }],
    ['latitude out of range', { location: { lat: 95, lng: 11 } }],
    ['an unknown amenity', { amenities: ['jacuzzi'] }],
    ['an unknown field', { colour: 'blue' }],
    ['a lower-case currency', { currency: 'eur' }],
  ])('answers 400 with details for %s', async (_name, overrides) => {
    const response = await createRoom(overrides);
    expect(response.statusCode).toBe(400);
    const body = response.json();
    expect(body.error).toBe('VALIDATION_FAILED');
    expect(body.message).toEqual(expect.any(String));
    expect(body.details.length).toBeGreaterThan(0);
  });

  it('answers 400 for malformed JSON and 415 for another media type, never 500', async () => {
    const malformed = await t.app.inject({
      method: 'POST',
      url: '/api/rooms',
      headers: { ...t.as('landlord'), 'content-type': 'application/json' },
      payload: '{"title": ',
    });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().error).toBe('MALFORMED_JSON');
    const text = await t.app.inject({
      method: 'POST',
      url: '/api/rooms',
      headers: { ...t.as('landlord'), 'content-type': 'text/plain' },
      payload: 'hello',
    });
    expect(text.statusCode).toBe(415);
    expect(text.json().error).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('answers 413 for a body over the limit', async () => {
    const response = await createRoom({ description: 'x'.repeat(1_100_000) });
    expect(response.statusCode).toBe(413);
    expect(response.json().error).toBe('PAYLOAD_TOO_LARGE');
  });

  it('answers 401 without a token and 403 for a tenant', async () => {
    const anonymous = await t.app.inject({ method: 'POST', url: '/api/rooms', payload: roomBody() });
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.json().error).toBe('UNAUTHENTICATED');
    const tenant = await t.app.inject({
      method: 'POST',
      url: '/api/rooms',
      headers: t.as('tenant'),
      payload: roomBody(),
    });
    expect(tenant.statusCode).toBe(403);
    expect(tenant.json().error).toBe('FORBIDDEN');
  });

  it('with the same Idempotency-Key returns the first answer and creates one room', async () => {
    const key = randomUUID();
    const responses = await Promise.all([
      createRoom({}, { 'idempotency-key': key }),
      createRoom({}, { 'idempotency-key': key }),
    ]);
    const statuses = responses.map((r) => r.statusCode).sort();
    // Both at once: one runs, the other is told it is in progress (or gets the replay if it came second).
    expect(statuses[0]).toBe(201);
    const first = responses.find((r) => r.statusCode === 201)!.json();
    const again = await createRoom({}, { 'idempotency-key': key });
    expect(again.statusCode).toBe(201);
    expect(again.json()).toEqual(first);
    expect(again.headers['idempotent-replayed']).toBe('true');
    let streams = 0;
    for await (const _event of t.runtime.eventStore.readStream(`Room-${first.id}`)) streams++;
    expect(streams).toBe(1);
  });

  it('refuses the same Idempotency-Key for a different request with 422', async () => {
    const key = randomUUID();
    expect((await createRoom({}, { 'idempotency-key': key })).statusCode).toBe(201);
    const other = await createRoom({ title: 'Something else entirely' }, { 'idempotency-key': key });
    expect(other.statusCode).toBe(422);
    expect(other.json().error).toBe('IDEMPOTENCY_KEY_REUSED');
  });
});

describe('changing a room', () => {
  it('updates, publishes and unpublishes with the landlord, and refuses another landlord with 403', async () => {
    const { id } = (await createRoom()).json();
    const update = await t.app.inject({
      method: 'PUT',
      url: `/api/rooms/${id}`,
      headers: t.as('landlord', landlordId),
      payload: { pricePerNight: 5200 },
    });
    expect(update.statusCode).toBe(200);
    expect(update.json()).toMatchObject({ id, status: 'draft', revision: '1' });

    const stranger = await t.app.inject({
      method: 'PUT',
      url: `/api/rooms/${id}`,
      headers: t.as('landlord'),
      payload: { pricePerNight: 1 },
    });
    expect(stranger.statusCode).toBe(403);
    expect(stranger.json().error).toBe('NOT_ROOM_OWNER');

    const publish = await t.app.inject({
      method: 'POST',
      url: `/api/rooms/${id}/publish`,
      headers: t.as('landlord', landlordId),
    });
    expect(publish.statusCode).toBe(200);
    expect(publish.json().status).toBe('published');

    const publicView = await t.app.inject({
      method: 'GET',
      url: `/api/rooms/${id}`,
      headers: { 'x-min-position': publish.json().position },
    });
    expect(publicView.statusCode).toBe(200);
    expect(publicView.json()).toMatchObject({ status: 'published', pricePerNight: 5200 });

    const unpublish = await t.app.inject({
      method: 'POST',
      url: `/api/rooms/${id}/unpublish`,
      headers: t.as('landlord', landlordId),
    });
    expect(unpublish.json().status).toBe('unpublished');
    const hidden = await t.app.inject({
      method: 'GET',
      url: `/api/rooms/${id}`,
      headers: { 'x-min-position': unpublish.json().position },
    });
    expect(hidden.statusCode).toBe(404);
  });

  it('refuses to publish an incomplete room with 422 naming what is missing', async () => {
    const { id } = (await createRoom({ description: null, amenities: [] })).json();
    const response = await t.app.inject({
      method: 'POST',
      url: `/api/rooms/${id}/publish`,
      headers: t.as('landlord', landlordId),
    });
    expect(response.statusCode).toBe(422);
    expect(response.json().error).toBe('ROOM_INCOMPLETE');
    expect(response.json().details.missing).toEqual(expect.arrayContaining(['amenities (at least one)']));
  });

  it('honours If-Match with 412 when the room moved on', async () => {
    const { id } = (await createRoom()).json();
    const stale = await t.app.inject({
      method: 'PUT',
      url: `/api/rooms/${id}`,
      headers: { ...t.as('landlord', landlordId), 'if-match': '"3"' },
      payload: { maxOccupants: 2 },
    });
    expect(stale.statusCode).toBe(412);
    const fresh = await t.app.inject({
      method: 'PUT',
      url: `/api/rooms/${id}`,
      headers: { ...t.as('landlord', landlordId), 'if-match': '"0"' },
      payload: { maxOccupants: 2 },
    });
    expect(fresh.statusCode).toBe(200);
  });

  it('blocks dates and shows them on the room', async () => {
    const { id } = (await createRoom()).json();
    const response = await t.app.inject({
      method: 'PUT',
      url: `/api/rooms/${id}/availability`,
      headers: t.as('landlord', landlordId),
      payload: {
        blocked: [
          { from: dayFromNow(94), to: dayFromNow(97) },
          { from: dayFromNow(90), to: dayFromNow(94) },
        ],
      },
    });
    expect(response.statusCode).toBe(200);
    expect(response.json().blocked).toEqual([{ from: dayFromNow(90), to: dayFromNow(97) }]);
    const room = await t.app.inject({
      method: 'GET',
      url: `/api/rooms/${id}`,
      headers: { ...t.as('admin'), 'x-min-position': response.json().position },
    });
    expect(room.json().blocked).toEqual([{ from: dayFromNow(90), to: dayFromNow(97) }]);
  });

  it('refuses blocks before today or beyond the horizon with 422 naming the range', async () => {
    const { id } = (await createRoom()).json();
    const put = (blocked: Array<{ from: string; to: string }>) =>
      t.app.inject({
        method: 'PUT',
        url: `/api/rooms/${id}/availability`,
        headers: t.as('landlord', landlordId),
        payload: { blocked },
      });
    const everything = await put([{ from: '0100-01-01', to: '9999-12-31' }]);
    expect(everything.statusCode).toBe(422);
    expect(everything.json()).toMatchObject({
      error: 'BLOCK_IN_PAST',
      details: { today: dayFromNow(0), ranges: [{ from: '0100-01-01', to: dayFromNow(0) }] },
    });
    const far = await put([{ from: dayFromNow(10), to: dayFromNow(800) }]);
    expect(far.statusCode).toBe(422);
    expect(far.json()).toMatchObject({
      error: 'BLOCK_BEYOND_HORIZON',
      details: {
        horizonDays: 730,
        latestTo: dayFromNow(730),
        ranges: [{ from: dayFromNow(730), to: dayFromNow(800) }],
      },
    });
    expect((await put([{ from: dayFromNow(0), to: dayFromNow(730) }])).statusCode).toBe(200);
  });

  it('answers 404 for an unknown room and a draft seen by someone else', async () => {
    expect((await t.app.inject({ method: 'GET', url: `/api/rooms/${randomUUID()}` })).statusCode).toBe(404);
    const { id, position } = (await createRoom()).json();
    const asTenant = await t.app.inject({
      method: 'GET',
      url: `/api/rooms/${id}`,
      headers: { ...t.as('tenant'), 'x-min-position': position },
    });
    expect(asTenant.statusCode).toBe(404);
    const badId = await t.app.inject({ method: 'GET', url: '/api/rooms/not-a-uuid' });
    expect(badId.statusCode).toBe(400);
  });

  it('applies concurrent updates one after the other, each exactly once', async () => {
    const { id } = (await createRoom()).json();
    const prices = Array.from({ length: 12 }, (_, i) => 6000 + i);
    const responses = await Promise.all(
      prices.map((pricePerNight) =>
        t.app.inject({
          method: 'PUT',
          url: `/api/rooms/${id}`,
          headers: t.as('landlord', landlordId),
          payload: { pricePerNight },
        }),
      ),
    );
    for (const r of responses) expect([200, 409]).toContain(r.statusCode);
    const succeeded = responses.filter((r) => r.statusCode === 200);
    const revisions = succeeded.map((r) => r.json().revision);
    expect(new Set(revisions).size).toBe(succeeded.length);
    let events = 0;
    for await (const _e of t.runtime.eventStore.readStream(`Room-${id}`)) events++;
    expect(events).toBe(1 + succeeded.length);
  });

  it('waits for X-Min-Position at most the configured time, then answers 503', async () => {
    // The rooms projection held back (its checkpoint row locked): a real write's position is not reached in time.
    const lock = await t.db.pool.connect();
    try {
      await lock.query('BEGIN');
      await lock.query("SELECT 1 FROM projection_checkpoints WHERE name = 'rooms' FOR UPDATE");
      const created = await t.app.inject({
        method: 'POST',
        url: '/api/rooms',
        headers: t.as('landlord'),
        payload: roomBody(),
      });
      const response = await t.app.inject({
        method: 'GET',
        url: `/api/rooms/${created.json().id}`,
        headers: { 'x-min-position': created.json().position },
      });
      expect(response.statusCode).toBe(503);
      expect(response.json().error).toBe('NOT_CAUGHT_UP');
      expect(response.headers['retry-after']).toBe('1');
    } finally {
      await lock.query('ROLLBACK');
      lock.release();
    }
  }, 15_000);

  it('answers 400 at once for an X-Min-Position beyond the newest event', async () => {
    const response = await t.app.inject({
      method: 'GET',
      url: `/api/rooms/${randomUUID()}`,
      headers: { 'x-min-position': '9223372036854775000' },
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toBe('MIN_POSITION_AHEAD');
  });
});
