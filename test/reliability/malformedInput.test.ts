import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cursorCodec, encodeKeyset } from '../../read-api/cursor.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { publishedRoom } from '../support/flows.js';

/** Issue 9, item 5: malformed ids, cursors and positions are the caller's error (4xx), never a 500. */
let t: TestApp;
let roomId: string;
const landlordId = randomUUID();
const b64 = (text: string) => Buffer.from(text).toString('base64url');

beforeAll(async () => {
  t = await createTestApp({ projections: false });
  roomId = await publishedRoom(t, landlordId);
});
afterAll(async () => {
  await t?.close();
});

describe('ids are canonical UUIDs', () => {
  const id = randomUUID();
  it.each([
    ['urn:uuid: prefix', `urn:uuid:${id}`],
    ['braces', `{${id}}`],
    ['no hyphens', id.replaceAll('-', '')],
    ['hyphens only', '-'.repeat(36)],
  ])('GET /api/rooms/{id} with %s is 400', async (_, bad) => {
    const response = await t.app.inject({ method: 'GET', url: `/api/rooms/${encodeURIComponent(bad)}` });
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toBe('VALIDATION_FAILED');
  });

  it('an upper-case canonical UUID is still an id (404, not 400)', async () => {
    const response = await t.app.inject({ method: 'GET', url: `/api/rooms/${id.toUpperCase()}` });
    expect(response.statusCode).toBe(404);
  });
});

describe('URLs the router cannot read', () => {
  it('answers a bad percent-encoding and an overlong path parameter with our codes', async () => {
    const badUrl = await t.app.inject({ method: 'GET', url: '/api/rooms/%zz' });
    expect(badUrl.statusCode).toBe(400);
    expect(badUrl.json()).toMatchObject({ error: 'BAD_URL', message: expect.any(String) });
    const long = await t.app.inject({ method: 'GET', url: `/api/rooms/${'a'.repeat(5000)}` });
    expect(long.statusCode).toBe(414);
    expect(long.json()).toMatchObject({ error: 'URI_TOO_LONG', message: expect.any(String) });
  });
});

describe('cursors are the ones the API gave', () => {
  const nonsense = [
    ['YQB4 (decodes to a NUL-separated pair)', 'YQB4'],
    ['a forged pair', b64(`zzz\u0000not-a-uuid`)],
    ['a forged booking key', b64(`${new Date().toISOString()}|not-a-uuid`)],
    ['a forged search key', b64(JSON.stringify(['ranking', '1', '-'.repeat(36)]))],
    ['a forged meilisearch key', b64(JSON.stringify({ s: 'ranking', k: 1, id: '-'.repeat(36) }))],
    ['garbage', '!!!'],
  ];
  const routes: Array<[string, () => Record<string, string>]> = [
    ['/api/universities', () => ({})],
    ['/api/exam-venues', () => ({})],
    ['/api/user/bookings', () => t.as('tenant')],
    ['/api/user/bookings?status=pending', () => t.as('landlord', landlordId)],
    ['/api/rooms/search?lat=44.4949&lng=11.3426', () => ({})],
    ['/api/rooms/search?lat=44.4949&lng=11.3426&sort=price', () => ({})],
  ];
  for (const [url, headers] of routes) {
    it.each(nonsense)(`${url} with %s is 400 INVALID_CURSOR`, async (_, cursor) => {
      const sep = url.includes('?') ? '&' : '?';
      const response = await t.app.inject({
        method: 'GET',
        url: `${url}${sep}cursor=${encodeURIComponent(cursor)}`,
        headers: headers(),
      });
      expect(response.statusCode, response.body).toBe(400);
      expect(response.json().error).toBe('INVALID_CURSOR');
    });
  }

  it('a cursor of one list is refused by another, and an edited one by its own', async () => {
    const codec = cursorCodec(t.runtime.config);
    const search = codec.encode('room-search:ranking', 'anything');
    const other = await t.app.inject({ method: 'GET', url: `/api/universities?cursor=${search}` });
    expect(other.statusCode).toBe(400);
    expect(other.json().error).toBe('INVALID_CURSOR');
    const price = await t.app.inject({
      method: 'GET',
      url: `/api/rooms/search?lat=44.4949&lng=11.3426&sort=price&cursor=${search}`,
    });
    expect(price.json().error).toBe('INVALID_CURSOR');
    const own = encodeKeyset(codec, 'universities', 'A', randomUUID());
    const edited = `${own.slice(0, 4)}${own[4] === 'A' ? 'B' : 'A'}${own.slice(5)}`;
    expect((await t.app.inject({ method: 'GET', url: `/api/universities?cursor=${own}` })).statusCode).toBe(200);
    const refused = await t.app.inject({ method: 'GET', url: `/api/universities?cursor=${edited}` });
    expect(refused.json().error).toBe('INVALID_CURSOR');
  });
});

describe('X-Min-Position', () => {
  it('beyond the event store head is 400 at once, not a 5 s wait and a 503', async () => {
    const head = await t.runtime.eventStore.headPosition();
    const started = Date.now();
    const response = await t.app.inject({
      method: 'GET',
      url: `/api/rooms/${roomId}`,
      headers: { 'x-min-position': String(head + 1000n) },
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toBe('MIN_POSITION_AHEAD');
    expect(Date.now() - started).toBeLessThan(1000);
  });
});

describe('numbers that are not finite', () => {
  // Ajv coerced these to ±Infinity, which passed `integer` and `maximum` and reached SQL (found by the fuzz test).
  const routes: Array<[string, () => Record<string, string>]> = [
    ['/api/notifications', () => t.as('tenant')],
    ['/api/conversations', () => t.as('tenant')],
    ['/api/universities', () => ({})],
    ['/api/user/bookings', () => t.as('tenant')],
  ];
  for (const [url, headers] of routes) {
    it.each(['Infinity', '-Infinity', '1e400', '+Infinity'])(`${url}?limit=%s is 400`, async (value) => {
      const response = await t.app.inject({
        method: 'GET',
        url: `${url}?limit=${encodeURIComponent(value)}`,
        headers: headers(),
      });
      expect(response.statusCode, response.body).toBe(400);
      expect(response.json()).toMatchObject({
        error: 'VALIDATION_FAILED',
        message: 'querystring: limit must be a finite number',
      });
    });
  }

  it('a finite limit still works, and text parameters may say Infinity', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/api/universities?limit=5' })).statusCode).toBe(200);
    const search = await t.app.inject({ method: 'GET', url: '/api/rooms/search?lat=44.49&lng=11.34&q=Infinity' });
    expect(search.statusCode, search.body).toBe(200);
  });
});

describe('text PostgreSQL cannot store', () => {
  // The event store's json column takes "\u0000"; each projection writing it to a text column then fails on it.
  it.each([
    ['a NUL character', 'Uni\u0000versity'],
    ['a NUL character in a nested field', 'University'],
  ])('a body string with %s is 400, not a poisoned projection', async (label, name) => {
    const response = await t.app.inject({
      method: 'POST',
      url: '/api/universities',
      headers: { ...t.as('admin'), 'content-type': 'application/json' },
      payload: JSON.stringify({
        name,
        city: 'Bologna',
        country: 'IT',
        location: label.includes('nested') ? { lat: 44, lng: 11, '\u0000': 1 } : { lat: 44, lng: 11 },
      }),
    });
    expect(response.statusCode, response.body).toBe(400);
    expect(response.json().error).toBe('VALIDATION_FAILED');
  });

  it.each([
    ['a lone high surrogate', 'Bolo\\ud800gna'],
    ['a lone low surrogate', '\\udc00Bologna'],
    ['two high surrogates', '\\ud83d\\ud83dBologna'],
  ])('a body string with %s is 400 (PostgreSQL json refuses it), not 500', async (_, escaped) => {
    // Written as JSON escapes: a JavaScript string with a lone surrogate cannot be encoded as UTF-8 on the way.
    const response = await t.app.inject({
      method: 'POST',
      url: '/api/universities',
      headers: { ...t.as('admin'), 'content-type': 'application/json' },
      payload: `{"name":"Università ${randomUUID()}","city":"${escaped}","country":"IT","location":{"lat":44,"lng":11}}`,
    });
    expect(response.statusCode, response.body).toBe(400);
    expect(response.json()).toMatchObject({ error: 'VALIDATION_FAILED' });
    expect(response.json().message).toContain('surrogate');
  });

  it('a well-formed pair of surrogates (an emoji) is kept', async () => {
    const response = await t.app.inject({
      method: 'POST',
      url: '/api/universities',
      headers: { ...t.as('admin'), 'content-type': 'application/json' },
      payload: `{"name":"Università ${randomUUID()} \\ud83c\\udf93","city":"Bologna","country":"IT","location":{"lat":44,"lng":11}}`,
    });
    expect(response.statusCode, response.body).toBe(201);
    expect(response.json().name).toContain('🎓');
  });

  it('a query string with a NUL character is 400, not 500', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/api/rooms/search?lat=44&lng=11&q=a%00b' });
    expect(response.statusCode, response.body).toBe(400);
  });
});
