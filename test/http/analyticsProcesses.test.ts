import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyticsOwner } from '../../infra/runtime.js';
import { createTestApp, type TestApp } from '../support/app.js';

describe('who owns the warehouse', () => {
  it('on chDB, the one process that runs the analytics projection; on ClickHouse, every API and projector process', () => {
    const chdb = { ANALYTICS_BACKEND: 'chdb' as const, PROJECTIONS: undefined };
    expect(analyticsOwner({ ...chdb, ROOMLINE_PROCESS: 'all' }).owns).toBe(true);
    expect(analyticsOwner({ ...chdb, ROOMLINE_PROCESS: 'projector' }).owns).toBe(true);
    expect(analyticsOwner({ ...chdb, ROOMLINE_PROCESS: 'api' }).owns).toBe(false);
    expect(analyticsOwner({ ...chdb, ROOMLINE_PROCESS: 'worker' }).owns).toBe(false);
    expect(analyticsOwner({ ...chdb, ROOMLINE_PROCESS: 'projector', PROJECTIONS: 'feed' }).owns).toBe(false);
    expect(analyticsOwner({ ...chdb, ROOMLINE_PROCESS: 'projector', PROJECTIONS: 'feed,analytics' }).owns).toBe(true);
    const clickhouse = { ANALYTICS_BACKEND: 'clickhouse' as const, PROJECTIONS: 'feed' };
    expect(analyticsOwner({ ...clickhouse, ROOMLINE_PROCESS: 'api' }).owns).toBe(true);
    expect(analyticsOwner({ ...clickhouse, ROOMLINE_PROCESS: 'projector' }).owns).toBe(true);
    expect(analyticsOwner({ ...clickhouse, ROOMLINE_PROCESS: 'worker' }).owns).toBe(false);
  });
});

describe('an API process on chDB (split deployment)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ projections: false, config: { ROOMLINE_PROCESS: 'api' } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('opens no warehouse: the analytics routes answer 503 with the reason, searches still answer', async () => {
    expect(t.runtime.analytics.store).toBeNull();
    for (const url of [
      '/api/analytics/dashboard',
      `/api/analytics/landlord/${crypto.randomUUID()}`,
      '/api/analytics/export/csv?dataset=bookings',
    ]) {
      const response = await t.app.inject({ method: 'GET', url, headers: t.as('admin') });
      expect(response.statusCode, url).toBe(503);
      expect(response.json()).toMatchObject({ error: 'ANALYTICS_UNAVAILABLE', message: expect.stringMatching(/chDB/) });
    }
    const search = await t.app.inject({ method: 'GET', url: '/api/rooms/search?lat=45&lng=9' });
    expect(search.statusCode).toBe(200);
  });

  it('still shows support the analytics projection (run by the warehouse’s process), and its lag in /metrics', async () => {
    const list = await t.app.inject({ method: 'GET', url: '/api/ops/projections', headers: t.as('support') });
    expect(list.statusCode).toBe(200);
    const analytics = list.json().find((p: { name: string }) => p.name === 'analytics');
    // Rebuildable from here too: the request waits in PostgreSQL for the process that runs it (blue/green copies).
    expect(analytics).toMatchObject({ name: 'analytics', version: 1, active: false, rebuildable: true });
    const metrics = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toMatch(/projection_lag_positions\{projection="analytics"\}/);
  });
});
