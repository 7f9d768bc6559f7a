import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toArray } from '../../infra/eventStore/eventStore.js';
import { verifyChain } from '../../infra/eventStore/hashChain.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { capturedLogger } from '../support/capturedLogger.js';
import { publishedRoom } from '../support/flows.js';

const { logger, lines: logLines } = capturedLogger('debug');
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ logger });
});
afterAll(async () => {
  await t?.close();
});

async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`not reached in time: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Every table of the app's schemas (events, read models, stored answers, keys) whose rows mention `value`. */
async function tablesHolding(value: string): Promise<string[]> {
  const { rows: tables } = await t.runtime.pool.query<{ schema: string; table: string }>(
    `SELECT table_schema AS schema, table_name AS table FROM information_schema.tables
      WHERE table_schema IN ('public', 'event_store') AND table_type = 'BASE TABLE'`,
  );
  const holding: string[] = [];
  for (const { schema, table } of tables) {
    const { rows } = await t.runtime.pool.query(
      `SELECT count(*)::int AS n FROM "${schema}"."${table}" t WHERE t::text ILIKE $1`,
      [`%${value}%`],
    );
    if (rows[0].n > 0) holding.push(`${schema}.${table}`);
  }
  return holding;
}

async function register(payload: Record<string, unknown>): Promise<{ id: string; accessToken: string }> {
  const response = await t.app.inject({
    method: 'POST',
    url: '/api/auth/register',
    payload: {
      password: 'a long and unusual passphrase',
      phone: `+39${Math.floor(1e9 + Math.random() * 8e9)}`,
      ...payload,
    },
  });
  expect(response.statusCode, response.body).toBe(201);
  return { id: response.json().user.id, accessToken: response.json().accessToken };
}

const dayFromNow = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);

describe('right to erasure by crypto-shredding', () => {
  it('erases a person: their email is then in no read model, event, stored answer or log, and history still verifies', async () => {
    const email = `erase-me-${randomUUID().slice(0, 8)}@example.org`;
    const phone = `+39${Math.floor(1e9 + Math.random() * 8e9)}`;
    const password = 'a long and unusual passphrase';
    const registered = await t.app.inject({
      method: 'POST',
      url: '/api/auth/register',
      headers: { 'idempotency-key': randomUUID() },
      payload: {
        email,
        password,
        phone,
        role: 'landlord',
        fullName: 'Erika Mustermann',
        businessName: 'Zimmer Mustermann',
      },
    });
    expect(registered.statusCode).toBe(201);
    const { user, accessToken } = registered.json();
    await t.app.inject({ method: 'POST', url: '/api/auth/login', payload: { email, password } });
    await t.app.inject({ method: 'GET', url: '/api/auth/me', headers: { authorization: `Bearer ${accessToken}` } });

    // Personal data never sits in the event store in clear.
    const { rows: rawHits } = await t.runtime.pool.query(
      'SELECT count(*)::int AS n FROM event_store.events WHERE data::text ILIKE $1',
      [`%${email}%`],
    );
    expect(rawHits[0].n).toBe(0);

    const erased = await t.app.inject({
      method: 'DELETE',
      url: `/api/admin/users/${user.id}/personal-data`,
      headers: t.as('admin'),
    });
    expect(erased.statusCode).toBe(202);

    const view = await until(
      async () =>
        (await t.runtime.pool.query('SELECT email, phone, full_name, erased_at FROM users WHERE id = $1', [user.id]))
          .rows[0],
      (row) => row?.erased_at !== null && row?.erased_at !== undefined,
    );
    expect(view).toMatchObject({ email: null, phone: null, full_name: null });

    // Nowhere in PostgreSQL: every text column of every table of the app's schemas.
    expect(await tablesHolding(email)).toEqual([]);
    expect(logLines.join('\n')).not.toContain(email);
    expect(logLines.join('\n')).not.toContain(phone.slice(3));

    // The events stay and still fold; the hash chain of the stored stream is intact.
    const events = await toArray(t.runtime.eventStore.readStream(`User-${user.id}`));
    expect(events.map((e) => e.type)).toEqual(['UserRegistered', 'PersonalDataErased']);
    expect(events[0]!.data).toMatchObject({ email: null, phone: null, fullName: null, personalDataErased: true });
    expect(verifyChain(await toArray(t.runtime.rawEventStore.readStream(`User-${user.id}`)))).toMatchObject({
      valid: true,
    });

    // The person can no longer sign in, and the address is free again.
    expect(
      (await t.app.inject({ method: 'POST', url: '/api/auth/login', payload: { email, password } })).statusCode,
    ).toBe(401);
    const again = await t.app.inject({
      method: 'POST',
      url: '/api/auth/register',
      payload: { email, password, phone, role: 'tenant', fullName: 'Someone Else' },
    });
    expect(again.statusCode).toBe(201);
  });

  it('leaves no business name, university name, profile picture or booking reason of an erased person anywhere', async () => {
    const tag = randomUUID().slice(0, 8);
    const businessName = `Zimmervermietung ${tag}`;
    const universityName = `Universität ${tag}`;
    const pictureUrl = `https://pictures.example.org/${tag}/me.jpg`;
    const rejectionReason = `Sorry, we renovate the bathroom that week (${tag}-r)`;
    const cancellationReason = `My exam was moved to another city (${tag}-c)`;
    const noShowReason = `Guest never came and did not answer the phone (${tag}-n)`;
    const landlord = await register({
      email: `landlord-${tag}@example.org`,
      role: 'landlord',
      fullName: 'Lena Landlord',
      businessName,
    });
    const tenant = await register({
      email: `tenant-${tag}@example.org`,
      role: 'tenant',
      fullName: 'Tim Tenant',
      universityName,
    });
    const profile = await t.app.inject({
      method: 'PUT',
      url: '/api/auth/profile',
      headers: { authorization: `Bearer ${tenant.accessToken}` },
      payload: { profilePictureUrl: pictureUrl, universityName },
    });
    expect(profile.statusCode, profile.body).toBe(200);
    const landlordProfile = await t.app.inject({
      method: 'PUT',
      url: '/api/auth/profile',
      headers: { authorization: `Bearer ${landlord.accessToken}` },
      payload: { businessName: `${businessName} GmbH` },
    });
    expect(landlordProfile.statusCode, landlordProfile.body).toBe(200);

    const roomId = await publishedRoom(t, landlord.id);
    const book = async (from: number) => {
      const response = await t.app.inject({
        method: 'POST',
        url: '/api/bookings',
        headers: t.as('tenant', tenant.id),
        payload: { roomId, checkIn: dayFromNow(from), checkOut: dayFromNow(from + 2), guests: 1 },
      });
      expect(response.statusCode, response.body).toBe(201);
      return response.json().id as string;
    };
    const rejected = await book(20);
    const cancelled = await book(30);
    const rejection = await t.app.inject({
      method: 'PUT',
      url: `/api/bookings/${rejected}/status`,
      headers: t.as('landlord', landlord.id),
      payload: { status: 'rejected', reason: rejectionReason },
    });
    expect(rejection.statusCode, rejection.body).toBe(200);
    const cancellation = await t.app.inject({
      method: 'PUT',
      url: `/api/bookings/${cancelled}/status`,
      headers: t.as('tenant', tenant.id),
      payload: { status: 'cancelled', reason: cancellationReason },
    });
    expect(cancellation.statusCode, cancellation.body).toBe(200);
    const missed = await book(0);
    const landlordSays = (status: string, reason?: string) =>
      t.app.inject({
        method: 'PUT',
        url: `/api/bookings/${missed}/status`,
        headers: t.as('landlord', landlord.id),
        payload: reason ? { status, reason } : { status },
      });
    expect((await landlordSays('confirmed')).statusCode).toBe(200);
    const noShow = await landlordSays('no_show', noShowReason);
    expect(noShow.statusCode, noShow.body).toBe(200);

    // Readable while the people are there: the read model shows the reasons, the store holds them sealed.
    const history = await t.app.inject({
      method: 'GET',
      url: `/api/bookings/${cancelled}`,
      headers: { ...t.as('tenant', tenant.id), 'x-min-position': cancellation.json().position },
    });
    expect(history.json().statusHistory.at(-1)).toMatchObject({ status: 'cancelled', reason: cancellationReason });
    const missedView = await t.app.inject({
      method: 'GET',
      url: `/api/bookings/${missed}`,
      headers: { ...t.as('landlord', landlord.id), 'x-min-position': noShow.json().position },
    });
    expect(missedView.json().statusHistory.at(-1)).toMatchObject({ status: 'no_show', reason: noShowReason });
    for (const value of [businessName, universityName, pictureUrl, rejectionReason, cancellationReason, noShowReason]) {
      const { rows } = await t.runtime.pool.query(
        'SELECT count(*)::int AS n FROM event_store.events WHERE data::text ILIKE $1',
        [`%${value}%`],
      );
      expect(rows[0].n, `${value} in clear in the event store`).toBe(0);
    }

    for (const person of [landlord, tenant]) {
      const erased = await t.app.inject({
        method: 'DELETE',
        url: `/api/admin/users/${person.id}/personal-data`,
        headers: t.as('admin'),
      });
      expect(erased.statusCode).toBe(202);
    }
    await until(
      async () =>
        (
          await t.runtime.pool.query(
            'SELECT count(*)::int AS n FROM users WHERE id = ANY($1) AND erased_at IS NOT NULL',
            [[landlord.id, tenant.id]],
          )
        ).rows[0].n,
      (n) => n === 2,
    );
    const search = [businessName, universityName, pictureUrl, rejectionReason, cancellationReason, noShowReason];
    const found = await until(
      async () => {
        const hits: Record<string, string[]> = {};
        for (const value of search) {
          const tables = await tablesHolding(value);
          if (tables.length > 0) hits[value] = tables;
        }
        return hits;
      },
      (hits) => Object.keys(hits).length === 0,
      3000,
    ).catch((error: Error) => error.message);
    expect(found).toEqual({});
    for (const value of search) expect(logLines.join('\n'), 'in the logs').not.toContain(value);

    // The bookings stay, anonymised: the history keeps who did what and when, not why.
    const after = await t.app.inject({ method: 'GET', url: `/api/bookings/${rejected}`, headers: t.as('admin') });
    expect(after.statusCode).toBe(200);
    expect(after.json().statusHistory.map((change: { status: string }) => change.status)).toEqual([
      'pending',
      'rejected',
    ]);
    expect(after.json().statusHistory[1].reason ?? null).toBeNull();
    const events = await toArray(t.runtime.eventStore.readStream(`Booking-${cancelled}`));
    expect(events.at(-1)!.data).toMatchObject({ reason: null, personalDataErased: true });
  });
});
