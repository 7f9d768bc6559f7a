import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  fixture,
  type LocalGeocodingServer,
  startLocalGeocodingServer,
} from '../infra/geocoding/localGeocodingServer.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { roomBody } from '../support/builders/rooms.js';

/**
 * Rooms and venues given an address and no location, located through the Nominatim adapter. A real local
 * HTTP server answers in Nominatim's format (no internet here); test/infra/geocoding/live.test.ts runs the
 * adapter against a real Nominatim when NOMINATIM_URL is set.
 */
let t: TestApp;
let nominatim: LocalGeocodingServer;
beforeAll(async () => {
  nominatim = await startLocalGeocodingServer(() => ({ body: fixture('nominatim-search-piazza-maggiore.json') }));
  t = await createTestApp({
    config: { GEOCODER: 'nominatim', NOMINATIM_URL: nominatim.origin, NOMINATIM_MIN_INTERVAL_MS: '0' },
  });
});
afterAll(async () => {
  await t?.close();
  await nominatim?.close();
});

const { location: _location, ...withoutLocation } = roomBody({ address: 'Piazza Maggiore 1, Bologna' });

describe('addresses without a location', () => {
  it('locates a new room through the geocoder', async () => {
    const created = await t.app.inject({
      method: 'POST',
      url: '/api/rooms',
      headers: t.as('landlord'),
      payload: withoutLocation,
    });
    expect(created.statusCode).toBe(201);
    const room = await t.app.inject({
      method: 'GET',
      url: `/api/rooms/${created.json().id}`,
      headers: { ...t.as('admin'), 'x-min-position': created.json().position },
    });
    expect(room.json().location.lat).toBeCloseTo(44.4939, 2);
    expect(room.json().location.lng).toBeCloseTo(11.3428, 2);
    expect(nominatim.requests.at(-1)!.url.searchParams.get('q')).toBe('Piazza Maggiore 1, Bologna');
  });

  it('asks for the location when the address is not found, and answers 503 when the geocoder is down', async () => {
    nominatim.answer(() => ({ body: [] }));
    const unknown = await t.app.inject({
      method: 'POST',
      url: '/api/rooms',
      headers: t.as('landlord'),
      payload: { ...withoutLocation, address: `Nowhere street ${randomUUID()}` },
    });
    expect([unknown.statusCode, unknown.json().error]).toEqual([422, 'ADDRESS_NOT_FOUND']);
    nominatim.answer(() => ({ status: 503, body: 'maintenance' }));
    const down = await t.app.inject({
      method: 'POST',
      url: '/api/rooms',
      headers: t.as('landlord'),
      payload: { ...withoutLocation, address: `Via Down ${randomUUID()}` },
    });
    expect([down.statusCode, down.json().error]).toEqual([503, 'GEOCODER_UNAVAILABLE']);
    expect(down.headers['retry-after']).toBeDefined();
  });
});
