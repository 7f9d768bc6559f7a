import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toArray } from '../../infra/eventStore/eventStore.js';
import { verifyChain } from '../../infra/eventStore/hashChain.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { capturedLogger } from '../support/capturedLogger.js';

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
    const { rows: tables } = await t.runtime.pool.query<{ schema: string; table: string }>(
      `SELECT table_schema AS schema, table_name AS table FROM information_schema.tables
        WHERE table_schema IN ('public', 'event_store') AND table_type = 'BASE TABLE'`,
    );
    for (const { schema, table } of tables) {
      const { rows } = await t.runtime.pool.query(
        `SELECT count(*)::int AS n FROM "${schema}"."${table}" t WHERE t::text ILIKE $1`,
        [`%${email}%`],
      );
      expect(rows[0].n, `${schema}.${table}`).toBe(0);
    }
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
});
