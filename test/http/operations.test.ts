import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../support/app.js';
import { roomBody, roomCreated } from '../support/builders/rooms.js';
import { capturedLogger } from '../support/capturedLogger.js';

const { logger, lines: logLines } = capturedLogger('info');
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ logger });
});
afterAll(async () => {
  await t?.close();
});

describe('health, metrics, docs', () => {
  it('is live and ready when PostgreSQL and Redis answer', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/health/live' })).json()).toEqual({ status: 'ok' });
    const ready = await t.app.inject({ method: 'GET', url: '/health/ready' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ status: 'ready', checks: { postgres: { status: 'ok' }, redis: { status: 'ok' } } });
  });

  it('serves Prometheus metrics with HTTP latency, append latency and projection lag', async () => {
    await t.app.inject({ method: 'POST', url: '/api/rooms', headers: t.as('landlord'), payload: roomBody() });
    const response = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/text\/plain/);
    expect(response.body).toMatch(/http_request_duration_seconds_bucket\{.*route="\/api\/rooms".*\} \d+/);
    expect(response.body).toMatch(/event_store_append_duration_seconds_count [1-9]/);
    expect(response.body).toMatch(/projection_lag_positions\{projection="rooms"\} \d+/);
  });

  it('serves the OpenAPI document and its UI at /docs, describing every room route', async () => {
    const ui = await t.app.inject({ method: 'GET', url: '/docs/' });
    expect(ui.statusCode).toBe(200);
    expect(ui.headers['content-type']).toMatch(/text\/html/);
    const document = (await t.app.inject({ method: 'GET', url: '/docs/json' })).json();
    expect(document.openapi).toMatch(/^3\./);
    for (const path of [
      '/api/rooms',
      '/api/rooms/{id}',
      '/api/rooms/{id}/publish',
      '/api/rooms/{id}/unpublish',
      '/api/rooms/{id}/availability',
    ]) {
      expect(Object.keys(document.paths)).toContain(path);
    }
    const createRoom = document.paths['/api/rooms'].post.requestBody.content['application/json'].schema;
    expect(createRoom.required).toEqual(expect.arrayContaining(['title', 'address', 'pricePerNight']));
    // The location may be left out: the configured geocoder finds it from the address (422 without one).
    expect(Object.keys(createRoom.properties)).toContain('location');
    for (const path of ['/api/rooms/search', '/api/rooms/{id}/ranking-score', '/api/exam-venues']) {
      expect(Object.keys(document.paths)).toContain(path);
    }
  });

  it('shows projection status to support staff', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/api/ops/projections', headers: t.as('support') });
    expect(response.statusCode).toBe(200);
    const [rooms] = response.json();
    expect(rooms).toMatchObject({ name: 'rooms', version: 1, parkedEvents: 0, active: true });
    expect(rooms.checkpoint).toMatch(/^\d+$/);
  });
});

describe('logs', () => {
  it('carry request and correlation ids, never the token or an email', async () => {
    const token = t.token('landlord');
    const response = await t.app.inject({
      method: 'POST',
      url: '/api/rooms',
      headers: { authorization: `Bearer ${token}`, 'x-correlation-id': 'corr-123', 'x-request-id': 'req-abc' },
      payload: roomBody(),
    });
    expect(response.statusCode).toBe(201);
    expect(response.headers['x-request-id']).toBe('req-abc');
    expect(response.headers['x-correlation-id']).toBe('corr-123');
    const lines = logLines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const mine = lines.filter((l) => l.reqId === 'req-abc');
    expect(mine.length).toBeGreaterThan(0);
    expect(mine.some((l) => l.correlationId === 'corr-123')).toBe(true);
    const all = logLines.join('\n');
    expect(all).not.toContain(token);
    expect(all).not.toMatch(/@example\.test/);
  });
});

describe('readiness when a dependency is down', () => {
  it('answers 503 naming Redis when Redis does not answer', async () => {
    const broken = await createTestApp({ projections: false, config: { REDIS_URL: 'redis://127.0.0.1:1' } });
    try {
      const response = await broken.app.inject({ method: 'GET', url: '/health/ready' });
      expect(response.statusCode).toBe(503);
      expect(response.json()).toMatchObject({
        status: 'unavailable',
        checks: { postgres: { status: 'ok' }, redis: { status: 'down' } },
      });
      // Anyone may ask: the answer names no address, port or error text of the dependency.
      expect(response.json().checks.redis).toEqual({ status: 'down' });
      expect(response.body).not.toMatch(/127\.0\.0\.1|ECONNREFUSED|connect|:1\b/i);
    } finally {
      await broken.close();
    }
  });
});

describe('GET /metrics under lag', () => {
  const METRICS_TOKEN = 'metrics-test-token-0123456789';
  let lagging: TestApp;
  beforeAll(async () => {
    lagging = await createTestApp({ projections: false, config: { METRICS_TOKEN } });
  });
  afterAll(async () => {
    await lagging?.close();
  });
  const scrape = (headers: Record<string, string> = { authorization: `Bearer ${METRICS_TOKEN}` }) =>
    lagging.app.inject({ method: 'GET', url: '/metrics', headers });

  it('needs the METRICS_TOKEN when one is configured', async () => {
    expect((await scrape({})).statusCode).toBe(401);
    expect((await scrape({ authorization: 'Bearer not-the-metrics-token' })).statusCode).toBe(401);
    // An access token of the app is no metrics token, even an admin's.
    const admin = await scrape({ authorization: `Bearer ${lagging.token('admin')}` });
    expect(admin.statusCode).toBe(401);
    expect(admin.json().error).toBe('UNAUTHENTICATED');
    expect((await scrape()).statusCode).toBe(200);
  });

  it('answers in under 100 ms with 20,000 events of lag: a fixed number of queries, one event read a checkpoint', async () => {
    await scrape(); // opens the pool's connections
    const landlordId = randomUUID();
    for (let stream = 0; stream < 40; stream++) {
      const roomId = randomUUID();
      const events = Array.from({ length: 500 }, (_, i) => ({
        eventId: randomUUID(),
        type: i === 0 ? 'RoomCreated' : 'RoomUpdated',
        schemaVersion: 1,
        data: i === 0 ? roomCreated(roomId, landlordId).data : { roomId, changes: { title: `Room ${i}` } },
        metadata: {
          correlationId: randomUUID(),
          causationId: null,
          actorId: landlordId,
          actorRole: 'landlord',
          occurredAt: new Date().toISOString(),
          requestId: null,
        },
      }));
      await lagging.runtime.eventStore.append(`Room-${roomId}`, events, { expectedRevision: 'no_stream' });
    }
    const started = performance.now();
    const response = await scrape();
    const elapsedMs = performance.now() - started;
    expect(response.statusCode).toBe(200);
    const behind = Number(/projection_lag_positions\{projection="rooms"\} (\d+)/.exec(response.body)?.[1]);
    expect(behind).toBeGreaterThanOrEqual(20_000);
    // The age of the first event it has not applied: the events were appended a moment ago.
    const seconds = Number(/projection_lag_seconds\{projection="rooms"\} ([\d.e-]+)/.exec(response.body)?.[1]);
    expect(seconds).toBeGreaterThan(0);
    expect(seconds).toBeLessThan(600);
    expect(elapsedMs).toBeLessThan(100);
  });
});
