import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  holderOf,
  type IdentityDeps,
  loadUser,
  registerUser,
  reservationStream,
  runUserCommand,
} from '../../commands/identity.js';
import { DomainError } from '../../domain/shared/errors.js';
import { PostgresEventStore } from '../../infra/eventStore/postgres/postgresEventStore.js';
import { context, registration } from '../support/builders/users.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

let db: TestDatabase;
let deps: IdentityDeps;
beforeAll(async () => {
  db = await createTestDatabase(20);
  deps = { store: new PostgresEventStore({ pool: db.pool }), reservationKey: randomBytes(32), maxRetries: 10 };
});
afterAll(async () => {
  await deps?.store.close();
  await db?.drop();
});

const envelope = () => ({
  now: new Date().toISOString(),
  newId: randomUUID,
  metadata: { correlationId: randomUUID(), causationId: null, actorId: null, actorRole: null, requestId: null },
});
const uniqueEmail = () => `person-${randomUUID().slice(0, 8)}@example.org`;
const uniquePhone = () => `+39${Math.floor(1e9 + Math.random() * 8e9)}`;

describe('registration on the write side', () => {
  it('lets exactly one of 50 concurrent registrations with one email through', async () => {
    const email = uniqueEmail();
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, () => {
        const userId = randomUUID();
        return registerUser(
          deps,
          registration(userId, { email, phone: uniquePhone() }),
          envelope(),
          async () => undefined,
        );
      }),
    );
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(49);
    for (const r of lost) {
      expect(r.reason).toBeInstanceOf(DomainError);
      expect(r.reason.code).toBe('EMAIL_TAKEN');
    }
    // The losers released the phone numbers they had reserved.
    expect(await holderOf(deps, 'UserEmail', email.toUpperCase())).not.toBeNull();
  }, 60_000);

  it('refuses a phone number in use and gives the email back', async () => {
    const phone = uniquePhone();
    await registerUser(
      deps,
      registration(randomUUID(), { email: uniqueEmail(), phone }),
      envelope(),
      async () => undefined,
    );
    const email = uniqueEmail();
    const second = registerUser(deps, registration(randomUUID(), { email, phone }), envelope(), async () => undefined);
    await expect(second).rejects.toMatchObject({ code: 'PHONE_TAKEN' });
    expect(await holderOf(deps, 'UserEmail', email)).toBeNull();
  });

  it('names reservation streams by HMAC, never by the email itself', () => {
    const stream = reservationStream(deps, 'UserEmail', 'Giulia.Rossi@Example.org');
    expect(stream).toBe(reservationStream(deps, 'UserEmail', ' giulia.rossi@example.org'));
    expect(stream).not.toMatch(/giulia|example/i);
  });

  it('moves the phone reservation on a profile change, and frees email and phone on erasure', async () => {
    const userId = randomUUID();
    const email = uniqueEmail();
    const oldPhone = uniquePhone();
    const newPhone = uniquePhone();
    await registerUser(deps, registration(userId, { email, phone: oldPhone }), envelope(), async () => undefined);
    await runUserCommand(
      deps,
      { type: 'UpdateProfile', data: { userId, changes: { phone: newPhone } }, context: context('tenant', userId) },
      envelope(),
    );
    expect(await holderOf(deps, 'UserPhone', oldPhone)).toBeNull();
    expect(await holderOf(deps, 'UserPhone', newPhone)).toBe(userId);

    await runUserCommand(deps, { type: 'ErasePersonalData', data: { userId }, context: context('admin') }, envelope());
    expect(await holderOf(deps, 'UserEmail', email)).toBeNull();
    expect(await holderOf(deps, 'UserPhone', newPhone)).toBeNull();
    expect((await loadUser(deps.store, userId)).state.status).toBe('erased');
    // The address can be used again by someone else.
    await registerUser(
      deps,
      registration(randomUUID(), { email, phone: uniquePhone() }),
      envelope(),
      async () => undefined,
    );
  });

  it('releases both reservations when storing the credential fails', async () => {
    const email = uniqueEmail();
    const phone = uniquePhone();
    const failing = registerUser(deps, registration(randomUUID(), { email, phone }), envelope(), async () => {
      throw new Error('credential store down');
    });
    await expect(failing).rejects.toThrow('credential store down');
    expect(await holderOf(deps, 'UserEmail', email)).toBeNull();
    expect(await holderOf(deps, 'UserPhone', phone)).toBeNull();
  });
});
