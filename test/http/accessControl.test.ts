import { randomUUID } from 'node:crypto';
import { createSigner } from 'fast-jwt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Roles } from '../../domain/shared/decider.js';
import { createTestApp, TEST_JWT_SECRET, type TestApp } from '../support/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ projections: false, config: { MIN_POSITION_WAIT_MS: '100' } });
});
afterAll(async () => {
  await t?.close();
});

const fill = (url: string) => url.replace(/:[A-Za-z]+/g, randomUUID());

describe('access control of every route', () => {
  it('walks every registered route against every role', async () => {
    const routes = t.app.routeAccess.filter((r) => !r.url.startsWith('/docs'));
    expect(routes.length).toBeGreaterThan(5);
    let checked = 0;
    for (const route of routes) {
      const url = fill(route.url);
      const inject = (headers: Record<string, string>) =>
        t.app.inject({
          method: route.method as 'GET',
          url,
          headers,
          ...(route.method === 'GET' ? {} : { payload: {} }),
        });

      const badToken = await inject({ authorization: 'Bearer not.a.token' });
      expect(badToken.statusCode, `${route.method} ${route.url} with a bad token`).toBe(401);
      checked++;
      if (route.access === 'public') continue;

      const anonymous = await inject({});
      expect(anonymous.statusCode, `${route.method} ${route.url} without a token`).toBe(401);
      expect(anonymous.json().error).toBe('UNAUTHENTICATED');
      checked++;

      for (const role of Roles) {
        const response = await inject(t.as(role));
        const allowed = route.access === 'authenticated' || route.access.includes(role);
        if (allowed) {
          expect(response.statusCode, `${route.method} ${route.url} as ${role}`).not.toBe(401);
          if (response.statusCode === 403) expect(response.json().error).not.toBe('FORBIDDEN');
        } else {
          expect(response.statusCode, `${route.method} ${route.url} as ${role}`).toBe(403);
          expect(response.json().error).toBe('FORBIDDEN');
        }
        checked++;
      }
    }
    console.info(`[access control] ${routes.length} routes, ${checked} route-and-caller pairs checked`);
  });

  it('declares access on every route of the OpenAPI document', async () => {
    const document = (await t.app.inject({ method: 'GET', url: '/docs/json' })).json();
    for (const [path, operations] of Object.entries(
      document.paths as Record<string, Record<string, { description?: string }>>,
    )) {
      for (const [method, operation] of Object.entries(operations)) {
        expect(operation.description, `${method.toUpperCase()} ${path}`).toMatch(/Access: /);
      }
    }
  });
});

describe('tampered and stale tokens', () => {
  const claims = () => ({ sub: randomUUID(), role: 'admin', email: 'a@example.test', jti: randomUUID() });
  const signer = (options: Record<string, unknown>) =>
    createSigner(options as never) as unknown as (payload: object) => string;
  const sign = (options: Record<string, unknown>) => signer(options)(claims());
  const opsWith = (token: string) =>
    t.app.inject({ method: 'GET', url: '/api/ops/projections', headers: { authorization: `Bearer ${token}` } });

  it('accepts a properly signed token', async () => {
    const response = await opsWith(t.token('admin'));
    expect(response.statusCode).toBe(200);
  });

  it.each([
    ['alg none', () => sign({ algorithm: 'none', iss: 'roomline', aud: 'roomline-api', expiresIn: 60_000 })],
    [
      'a wrong key',
      () =>
        sign({
          key: 'another-secret-that-is-long-enough-123456',
          iss: 'roomline',
          aud: 'roomline-api',
          expiresIn: 60_000,
        }),
    ],
    [
      'a wrong issuer',
      () => sign({ key: TEST_JWT_SECRET, iss: 'someone-else', aud: 'roomline-api', expiresIn: 60_000 }),
    ],
    ['a wrong audience', () => sign({ key: TEST_JWT_SECRET, iss: 'roomline', aud: 'other-api', expiresIn: 60_000 })],
    [
      'an expired token',
      () =>
        sign({
          key: TEST_JWT_SECRET,
          iss: 'roomline',
          aud: 'roomline-api',
          expiresIn: 1,
          clockTimestamp: Date.now() - 60_000,
        }),
    ],
    [
      'an unknown role',
      () =>
        signer({ key: TEST_JWT_SECRET, iss: 'roomline', aud: 'roomline-api', expiresIn: 60_000 })({
          ...claims(),
          role: 'superuser',
        }),
    ],
  ])('refuses %s with 401', async (_name, token) => {
    const response = await opsWith(token());
    expect(response.statusCode).toBe(401);
    expect(response.json().error).toBe('INVALID_TOKEN');
  });

  it('refuses a token whose payload was edited', async () => {
    const [header, payload, signature] = t.token('tenant').split('.');
    const edited = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(payload!, 'base64url').toString()), role: 'admin' }),
    ).toString('base64url');
    const response = await opsWith(`${header}.${edited}.${signature}`);
    expect(response.statusCode).toBe(401);
  });
});
