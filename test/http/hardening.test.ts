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
