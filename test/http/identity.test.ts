import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../support/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

const phone = () => `+39${Math.floor(1e9 + Math.random() * 8e9)}`;
const person = (overrides: Record<string, unknown> = {}) => ({
  email: `giulia-${randomUUID().slice(0, 8)}@example.org`,
  password: 'correct horse battery staple',
  phone: phone(),
  role: 'tenant',
  fullName: 'Giulia Rossi',
  universityName: 'Università di Bologna',
  ...overrides,
});
const register = (body: object) => t.app.inject({ method: 'POST', url: '/api/auth/register', payload: body });
const login = (email: string, password: string, ip = '203.0.113.7') =>
  t.app.inject({ method: 'POST', url: '/api/auth/login', payload: { email, password }, remoteAddress: ip });
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('register, sign in, refresh, sign out', () => {
  it('registers and answers with the user and a token pair, never the password', async () => {
    const body = person();
    const response = await register(body);
    expect(response.statusCode).toBe(201);
    const session = response.json();
    expect(session.user).toMatchObject({ email: body.email, role: 'tenant', fullName: 'Giulia Rossi' });
    expect(session.accessToken).toEqual(expect.any(String));
    expect(session.refreshToken).toEqual(expect.any(String));
    expect(session.expiresIn).toBe(900);
    expect(response.body).not.toContain(body.password);
    const me = await t.app.inject({ method: 'GET', url: '/api/auth/me', headers: bearer(session.accessToken) });
    expect(me.statusCode).toBe(200);
    expect(me.json()).toMatchObject({ id: session.user.id, email: body.email, phone: body.phone });
  });

  it('refuses weak passwords and bad fields with clear errors', async () => {
    expect((await register(person({ password: 'short' }))).json().error).toBe('PASSWORD_TOO_SHORT');
    expect((await register(person({ password: 'password123' }))).json().error).toBe('PASSWORD_TOO_COMMON');
    expect((await register(person({ role: 'admin' }))).statusCode).toBe(400);
    expect((await register(person({ email: 'nope' }))).json().error).toBe('INVALID_EMAIL');
  });

  it('gives exactly one 201 and 49 409s for 50 concurrent registrations with one email', async () => {
    const email = `same-${randomUUID().slice(0, 8)}@example.org`;
    const responses = await Promise.all(Array.from({ length: 50 }, () => register(person({ email, phone: phone() }))));
    const statuses = responses.map((r) => r.statusCode);
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(49);
    for (const r of responses.filter((x) => x.statusCode === 409)) expect(r.json().error).toBe('EMAIL_TAKEN');
  }, 60_000);

  it('signs in, and says the same thing for a wrong password and an unknown email', async () => {
    const body = person();
    await register(body);
    const ok = await login(body.email.toUpperCase(), body.password);
    expect(ok.statusCode).toBe(200);
    const wrong = await login(body.email, 'not the right password at all');
    const unknown = await login(`nobody-${randomUUID()}@example.org`, body.password);
    expect(wrong.statusCode).toBe(401);
    expect(unknown.statusCode).toBe(401);
    expect(wrong.json()).toEqual(unknown.json());
  });

  it('locks sign-in after 10 failures per email and address, with Retry-After', async () => {
    const body = person();
    await register(body);
    for (let i = 0; i < 10; i++)
      expect((await login(body.email, 'wrong password number x', '198.51.100.9')).statusCode).toBe(401);
    const locked = await login(body.email, body.password, '198.51.100.9');
    expect(locked.statusCode).toBe(429);
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
    // Another address is not locked out.
    expect((await login(body.email, body.password, '198.51.100.10')).statusCode).toBe(200);
  });

  it('rotates refresh tokens, and a reused one revokes the whole family', async () => {
    const first = (await register(person())).json();
    const second = await t.app.inject({
      method: 'POST',
      url: '/api/auth/refresh',
      payload: { refreshToken: first.refreshToken },
    });
    expect(second.statusCode).toBe(200);
    const reuse = await t.app.inject({
      method: 'POST',
      url: '/api/auth/refresh',
      payload: { refreshToken: first.refreshToken },
    });
    expect(reuse.statusCode).toBe(401);
    expect(reuse.json().error).toBe('REFRESH_REUSED');
    // The legitimate next token died with its family.
    const next = await t.app.inject({
      method: 'POST',
      url: '/api/auth/refresh',
      payload: { refreshToken: second.json().refreshToken },
    });
    expect(next.statusCode).toBe(401);
  });

  it('signs out: the access token and the refresh family stop working', async () => {
    const session = (await register(person())).json();
    const out = await t.app.inject({
      method: 'POST',
      url: '/api/auth/logout',
      headers: bearer(session.accessToken),
      payload: { refreshToken: session.refreshToken },
    });
    expect(out.statusCode).toBe(204);
    const me = await t.app.inject({ method: 'GET', url: '/api/auth/me', headers: bearer(session.accessToken) });
    expect(me.statusCode).toBe(401);
    expect(me.json().error).toBe('TOKEN_REVOKED');
    const refresh = await t.app.inject({
      method: 'POST',
      url: '/api/auth/refresh',
      payload: { refreshToken: session.refreshToken },
    });
    expect(refresh.statusCode).toBe(401);
  });
});

describe('profile and roles', () => {
  it('changes the own profile and refuses a phone number someone else holds', async () => {
    const taken = person();
    await register(taken);
    const session = (await register(person())).json();
    const update = await t.app.inject({
      method: 'PUT',
      url: '/api/auth/profile',
      headers: bearer(session.accessToken),
      payload: { fullName: 'Giulia M. Rossi', businessName: null },
    });
    expect(update.statusCode).toBe(200);
    expect(update.json().fullName).toBe('Giulia M. Rossi');
    const clash = await t.app.inject({
      method: 'PUT',
      url: '/api/auth/profile',
      headers: bearer(session.accessToken),
      payload: { phone: taken.phone },
    });
    expect(clash.statusCode).toBe(409);
    expect(clash.json().error).toBe('PHONE_TAKEN');
  });

  it('lets an admin make an official of a university, as an event', async () => {
    const session = (await register(person())).json();
    const universityId = randomUUID();
    const grant = await t.app.inject({
      method: 'PUT',
      url: `/api/admin/users/${session.user.id}/role`,
      headers: t.as('admin'),
      payload: { role: 'official', universityId },
    });
    expect(grant.statusCode).toBe(200);
    expect(grant.json()).toMatchObject({ role: 'official', universityId });
    const missing = await t.app.inject({
      method: 'PUT',
      url: `/api/admin/users/${session.user.id}/role`,
      headers: t.as('admin'),
      payload: { role: 'official' },
    });
    expect(missing.statusCode).toBe(422);
    const events = [];
    for await (const e of t.runtime.eventStore.readStream(`User-${session.user.id}`)) events.push(e.type);
    expect(events).toEqual(['UserRegistered', 'RoleGranted']);
    // A new sign-in carries the new role.
    const again = await t.app.inject({
      method: 'POST',
      url: '/api/auth/refresh',
      payload: { refreshToken: session.refreshToken },
    });
    expect(again.json().user.role).toBe('official');
  });
});

describe('first admin from configuration', () => {
  it('is created once at start-up and can sign in as admin', async () => {
    const email = `admin-${randomUUID().slice(0, 8)}@roomline.example`;
    const configured = await createTestApp({
      projections: false,
      config: { ROOMLINE_ADMIN_EMAIL: email, ROOMLINE_ADMIN_PASSWORD: 'blue harbour quiet morning' },
    });
    try {
      const { bootstrapAdmin } = await import('../../read-api/routes/identity.js');
      expect(await bootstrapAdmin(configured.runtime)).toBe('created');
      expect(await bootstrapAdmin(configured.runtime)).toBe('present');
      const session = await configured.app.inject({
        method: 'POST',
        url: '/api/auth/login',
        payload: { email, password: 'blue harbour quiet morning' },
      });
      expect(session.statusCode).toBe(200);
      expect(session.json().user.role).toBe('admin');
      const ops = await configured.app.inject({
        method: 'GET',
        url: '/api/ops/projections',
        headers: bearer(session.json().accessToken),
      });
      expect(ops.statusCode).toBe(200);
    } finally {
      await configured.close();
    }
  });
});

describe('secrets stay secret', () => {
  it('keeps the password out of events and stored tables', async () => {
    const body = person({ password: 'zebra piano lantern orbit' });
    expect((await register(body)).statusCode).toBe(201);
    const { rows } = await t.runtime.pool.query(
      `SELECT (SELECT count(*) FROM event_store.events e WHERE e::text ILIKE $1)::int AS events,
              (SELECT count(*) FROM credentials c WHERE c::text ILIKE $1)::int AS credentials,
              (SELECT count(*) FROM idempotency_keys k WHERE k::text ILIKE $1)::int AS stored_answers`,
      ['%zebra piano%'],
    );
    expect(rows[0]).toEqual({ events: 0, credentials: 0, stored_answers: 0 });
  });
});
