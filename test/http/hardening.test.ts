import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../support/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({
    projections: false,
    config: { RATE_LIMIT_PER_MINUTE: '5', CORS_ORIGINS: 'https://app.roomline.example' },
  });
});
afterAll(async () => {
  await t?.close();
});

describe('rate limits, security headers, CORS', () => {
  it('answers 429 with Retry-After once a user has used up the minute, per user', async () => {
    const sub = randomUUID();
    const call = (user = sub) =>
      t.app.inject({ method: 'GET', url: '/api/ops/projections', headers: t.as('support', user) });
    for (let i = 0; i < 5; i++) expect((await call()).statusCode).toBe(200);
    const limited = await call();
    expect(limited.statusCode).toBe(429);
    expect(limited.json().error).toBe('RATE_LIMITED');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    // Another user still has their own budget; health checks are never limited.
    expect((await call(randomUUID())).statusCode).toBe(200);
    for (let i = 0; i < 8; i++)
      expect((await t.app.inject({ method: 'GET', url: '/health/live' })).statusCode).toBe(200);
  });

  it('never stores a 429 for an Idempotency-Key, and counts replays against the limit', async () => {
    const sub = randomUUID();
    const create = (key: string) =>
      t.app.inject({
        method: 'POST',
        url: '/api/rooms',
        headers: { ...t.as('landlord', sub), 'idempotency-key': key },
        payload: {
          title: 'Quiet room by the station',
          address: 'Via Roma 1, Bologna',
          location: { lat: 44.5, lng: 11.34 },
          pricePerNight: 4500,
          currency: 'EUR',
          maxOccupants: 1,
          amenities: [],
        },
      });
    const [first, refusedKey] = [randomUUID(), randomUUID()];
    expect((await create(first)).statusCode).toBe(201);
    for (let i = 0; i < 4; i++) expect((await create(randomUUID())).statusCode).toBe(201);
    // The minute is used up: a replay is a request like any other, and is refused too.
    const replay = await create(first);
    expect(replay.statusCode).toBe(429);
    expect(replay.headers['idempotent-replayed']).toBeUndefined();
    expect((await create(refusedKey)).statusCode).toBe(429);
    // A new minute (the limiter's counter gone): the refused key runs now, instead of replaying its 429.
    const counters = await t.runtime.redis.keys(`roomline:rate-limit:*${sub}*`);
    expect(counters.length).toBeGreaterThan(0);
    await t.runtime.redis.del(...counters);
    const retried = await create(refusedKey);
    expect(retried.statusCode).toBe(201);
    expect(retried.headers['idempotent-replayed']).toBeUndefined();
    const replayed = await create(refusedKey);
    expect(replayed.statusCode).toBe(201);
    expect(replayed.headers['idempotent-replayed']).toBe('true');
  });

  it('sends security headers', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/health/live' });
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['strict-transport-security']).toMatch(/max-age=/);
    expect(response.headers['content-security-policy']).toMatch(/default-src 'self'/);
    expect(response.headers['x-powered-by']).toBeUndefined();
  });

  it('allows only the configured origins', async () => {
    const allowed = await t.app.inject({
      method: 'OPTIONS',
      url: '/api/rooms',
      headers: { origin: 'https://app.roomline.example', 'access-control-request-method': 'POST' },
    });
    expect(allowed.headers['access-control-allow-origin']).toBe('https://app.roomline.example');
    const other = await t.app.inject({
      method: 'OPTIONS',
      url: '/api/rooms',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });
});
