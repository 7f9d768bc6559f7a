import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PersonalDataPolicy, withPersonalData } from '../../../infra/crypto/personalDataStore.js';
import {
  PersonalDataErased,
  PersonalDataUnreadable,
  PostgresPersonalDataVault,
} from '../../../infra/crypto/personalDataVault.js';
import { type EventStore, type RecordedEvent, toArray } from '../../../infra/eventStore/eventStore.js';
import { verifyChain } from '../../../infra/eventStore/hashChain.js';
import { PostgresEventStore } from '../../../infra/eventStore/postgres/postgresEventStore.js';
import { collect } from '../../contracts/eventStore.contract.js';
import { createTestDatabase, type TestDatabase } from '../../support/database.js';
import {
  accountErased,
  accountOpened,
  type Person,
  person,
  profileChanged,
  somethingElse,
  testKeyEncryptionKey,
  testPolicy,
} from './builders.js';

let db: TestDatabase;
let raw: PostgresEventStore;
let vault: PostgresPersonalDataVault;
let store: EventStore;

beforeAll(async () => {
  db = await createTestDatabase(20);
  raw = new PostgresEventStore({ pool: db.pool, connectionString: db.url, pollIntervalMs: 500 });
  vault = new PostgresPersonalDataVault({ pool: db.pool, keyEncryptionKey: testKeyEncryptionKey() });
  store = withPersonalData(raw, vault, testPolicy);
});
afterAll(async () => {
  await raw?.close();
  await db?.drop();
});

const userStream = (p: Person) => `User-${p.userId}`;
const dataOf = (events: RecordedEvent[]) => events.map((e) => e.data);
const plaintextOf = (p: Person) => [p.email, p.phone, p.fullName];

interface ProfileState {
  email: unknown;
  phone: unknown;
  fullName: unknown;
  erased: boolean;
  events: number;
}

/** A tiny evolve, as a decider's would be: the person's current profile. */
function evolve(state: ProfileState, event: RecordedEvent): ProfileState {
  const data = event.data as Record<string, unknown> & { changes?: object; profile?: { phone?: unknown } };
  const next = { ...state, erased: state.erased || data.personalDataErased === true, events: state.events + 1 };
  if (event.type === 'AccountOpened')
    return { ...next, email: data.email, phone: data.profile?.phone, fullName: data.fullName };
  if (event.type === 'ProfileChanged') return { ...next, ...data.changes };
  return next;
}

function profileOf(events: RecordedEvent[]): ProfileState {
  let state: ProfileState = { email: undefined, phone: undefined, fullName: undefined, erased: false, events: 0 };
  for (const event of events) state = evolve(state, event);
  return state;
}

async function openedAs(p: Person, phone: string) {
  const stream = userStream(p);
  const events = [accountOpened(p), profileChanged(p.userId, { phone }), somethingElse({ viewer: p.userId })];
  await store.append(stream, events, { expectedRevision: 'no_stream' });
  return { stream, events };
}

describe('withPersonalData over the PostgreSQL event store', () => {
  it('reads back exactly what was appended, through readStream and readAll', async () => {
    const p = person();
    const { stream, events } = await openedAs(p, '+39 333 000 1111');
    expect(dataOf(await toArray(store.readStream(stream)))).toEqual(events.map((e) => e.data));
    expect(dataOf(await toArray(store.readAll({ filter: { streamPrefixes: [stream] } })))).toEqual(
      events.map((e) => e.data),
    );
    const backwards = await toArray(store.readStream(stream, { direction: 'backwards', maxCount: 2 }));
    expect(dataOf(backwards)).toEqual([events[2]!.data, events[1]!.data]);
  });

  it('stores only ciphertext: neither the raw store nor the events table holds the plaintext', async () => {
    const p = person();
    const { stream } = await openedAs(p, '+39 333 000 2222');
    const secrets = [...plaintextOf(p), '+39 333 000 2222'];

    const [opened, changed, other] = await toArray(raw.readStream(stream));
    const openedData = opened!.data as Record<string, unknown> & { profile: Record<string, unknown> };
    for (const value of [openedData.email, openedData.fullName, openedData.profile.phone]) {
      expect(value).toMatch(/^pd1\./);
    }
    expect(openedData.profile.universityName).toBe('Università di Bologna');
    expect(openedData.role).toBe('tenant');
    expect((changed!.data as { changes: { phone: string } }).changes.phone).toMatch(/^pd1\./);
    expect(other!.data).toEqual({ roomId: expect.any(String), viewer: p.userId });

    const rawText = JSON.stringify(await toArray(raw.readAll()), (_k, v) => (typeof v === 'bigint' ? String(v) : v));
    const { rows } = await db.pool.query<{ row: string }>(
      "SELECT concat_ws(E'\\n', stream_id, data::text, metadata::text) AS row FROM event_store.events",
    );
    const tableText = rows.map((r) => r.row).join('\n');
    expect(tableText).toContain(p.userId);
    for (const secret of secrets) {
      expect(rawText).not.toContain(secret);
      expect(tableText).not.toContain(secret);
    }
  });

  it('leaves null and absent personal fields as they are', async () => {
    const p = person();
    const stream = userStream(p);
    await store.append(stream, [accountOpened(p), profileChanged(p.userId, { phone: null })], {
      expectedRevision: 'no_stream',
    });
    const [, changed] = await toArray(raw.readStream(stream));
    expect(changed!.data).toEqual({ userId: p.userId, changes: { phone: null } });
    const [, opened] = await toArray(store.readStream(stream));
    expect(opened!.data).toEqual({ userId: p.userId, changes: { phone: null } });
  });

  it('after erasure: personal fields read as null and flagged, the events still fold, the chain still verifies', async () => {
    const p = person();
    const bystander = person();
    const { stream } = await openedAs(p, '+39 333 000 3333');
    await openedAs(bystander, '+39 333 000 4444');
    expect(profileOf(await toArray(store.readStream(stream)))).toMatchObject({
      email: p.email,
      phone: '+39 333 000 3333',
      erased: false,
    });
    const rawBefore = await toArray(raw.readStream(stream));

    await vault.destroy(p.userId);

    const events = await toArray(store.readStream(stream));
    expect(events).toHaveLength(3);
    expect(events[0]!.data).toEqual({
      userId: p.userId,
      role: 'tenant',
      email: null,
      fullName: null,
      profile: { phone: null, universityName: 'Università di Bologna' },
      personalDataErased: true,
    });
    expect(events[1]!.data).toEqual({ userId: p.userId, changes: { phone: null }, personalDataErased: true });
    expect(events[2]!.data).not.toHaveProperty('personalDataErased');
    expect(profileOf(events)).toEqual({ email: null, phone: null, fullName: null, erased: true, events: 3 });
    expect(await toArray(store.readAll({ filter: { streamPrefixes: [stream] } }))).toEqual(events);

    const rawAfter = await toArray(raw.readStream(stream));
    expect(rawAfter).toEqual(rawBefore);
    expect(verifyChain(rawAfter)).toEqual({ valid: true, events: 3 });

    expect(profileOf(await toArray(store.readStream(userStream(bystander))))).toMatchObject({
      email: bystander.email,
      erased: false,
    });
  });

  it('refuses personal data for an erased person with PersonalDataErased, and appends nothing', async () => {
    const p = person();
    const { stream } = await openedAs(p, '+39 333 000 5555');
    await vault.destroy(p.userId);

    const error = await store
      .append(stream, [profileChanged(p.userId, { phone: '+39 333 000 6666' })], { expectedRevision: 2n })
      .catch((e) => e);
    expect(error).toBeInstanceOf(PersonalDataErased);
    expect(error).toMatchObject({ kind: 'PersonalDataErased', subjectId: p.userId });
    expect(await toArray(raw.readStream(stream))).toHaveLength(3);

    // Events without personal values (the record of the erasure itself) still append, and read as erased.
    await store.append(stream, [accountErased(p.userId), profileChanged(p.userId, { phone: null })], {
      expectedRevision: 2n,
    });
    const [erasedEvent, noPhone] = (await toArray(store.readStream(stream))).slice(3);
    expect(erasedEvent!.data).toEqual({ userId: p.userId, personalDataErased: true });
    expect(noPhone!.data).toEqual({ userId: p.userId, changes: { phone: null }, personalDataErased: true });
  });

  it('reports a tampered value in the store, naming the event and field, instead of reading it as erased', async () => {
    const p = person();
    const { stream, events } = await openedAs(p, '+39 333 000 7777');
    const [stored] = await toArray(raw.readStream(stream));
    const data = stored!.data as Record<string, string>;
    const [prefix, iv, ciphertext, tag] = data.email!.split('.') as [string, string, string, string];
    const flipped = Buffer.from(ciphertext, 'base64url');
    flipped[0]! ^= 0x20;
    const tampered = { ...data, email: [prefix, iv, flipped.toString('base64url'), tag].join('.') };
    await db.pool.query('UPDATE event_store.events SET data = $1::json WHERE event_id = $2', [
      JSON.stringify(tampered),
      stored!.eventId,
    ]);

    for (const read of [
      () => toArray(store.readStream(stream)),
      () => toArray(store.readAll({ filter: { streamPrefixes: [stream] } })),
    ]) {
      const error = await read().catch((e) => e);
      expect(error).toBeInstanceOf(PersonalDataUnreadable);
      expect(error).toMatchObject({
        reason: 'authentication_failed',
        subjectId: p.userId,
        location: { streamId: stream, eventId: events[0]!.eventId, type: 'AccountOpened', field: 'email' },
      });
      expect(error.message).toContain('field email');
    }
    expect(verifyChain(await toArray(raw.readStream(stream)))).toMatchObject({ valid: false, brokenAt: 0n });
  });

  it('reports a value sealed for another person (the subject is authenticated data)', async () => {
    const p = person();
    const other = person();
    const stream = userStream(p);
    await vault.encrypt(p.userId, 'gives p a key');
    const event = accountOpened(p);
    const sealedForOther = await vault.encrypt(other.userId, p.email);
    await raw.append(
      stream,
      [{ ...event, data: { ...(event.data as object), email: sealedForOther, fullName: null, profile: null } }],
      {
        expectedRevision: 'no_stream',
      },
    );
    const error = await toArray(store.readStream(stream)).catch((e) => e);
    expect(error).toBeInstanceOf(PersonalDataUnreadable);
    expect(error).toMatchObject({ reason: 'authentication_failed', location: { field: 'email' } });
  });

  it('reports plaintext that reached a personal field past the decorator', async () => {
    const p = person();
    const stream = userStream(p);
    await vault.encrypt(p.userId, 'gives p a key');
    await raw.append(stream, [accountOpened(p)], { expectedRevision: 'no_stream' });
    const error = await toArray(store.readStream(stream)).catch((e) => e);
    expect(error).toBeInstanceOf(PersonalDataUnreadable);
    expect(error).toMatchObject({ reason: 'not_sealed', location: { field: 'email' } });
  });

  it('refuses a personal field that is neither a string nor null', async () => {
    const p = person();
    const stream = userStream(p);
    const event = accountOpened(p);
    const error = await store
      .append(stream, [{ ...event, data: { ...(event.data as object), email: 42 } }], { expectedRevision: 'no_stream' })
      .catch((e) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toMatch(/AccountOpened\.email: personal data must be a string or null/);
    expect(await toArray(raw.readStream(stream))).toEqual([]);
  });

  it('keeps appends idempotent by event id although every seal uses a fresh IV', async () => {
    const p = person();
    const stream = userStream(p);
    const events = [accountOpened(p), profileChanged(p.userId, { fullName: 'Giulia R.' })];
    const first = await store.append(stream, events, { expectedRevision: 'no_stream' });
    const retry = await store.append(stream, events, { expectedRevision: 'no_stream' });
    expect(retry).toEqual(first);
    expect(dataOf(await toArray(store.readStream(stream)))).toEqual(events.map((e) => e.data));
  });

  it('delivers opened events to a subscription, in catch-up and live, and erased ones as erased', async () => {
    const p = person();
    const stream = userStream(p);
    const before = accountOpened(p);
    await store.append(stream, [before], { expectedRevision: 'no_stream' });
    const subscription = store.subscribe({ filter: { streamPrefixes: [stream] } });
    const iterator = subscription[Symbol.asyncIterator]();
    try {
      const live = profileChanged(p.userId, { phone: '+39 333 000 8888', fullName: 'Giulia Bianchi' });
      await store.append(stream, [live], { expectedRevision: 0n });
      const delivered = await collect(iterator, (events) => events.length >= 2);
      expect(dataOf(delivered)).toEqual([before.data, live.data]);

      await vault.destroy(p.userId);
      await store.append(stream, [accountErased(p.userId)], { expectedRevision: 1n });
      const [erased] = await collect(iterator, (events) => events.length >= 1);
      expect(erased!.data).toEqual({ userId: p.userId, personalDataErased: true });
    } finally {
      await subscription.close();
    }
    const replay = store.subscribe({ filter: { streamPrefixes: [stream] } });
    try {
      const all = await collect(replay[Symbol.asyncIterator](), (events) => events.length >= 3);
      expect(all.map((e) => (e.data as { personalDataErased?: boolean }).personalDataErased)).toEqual([
        true,
        true,
        true,
      ]);
      expect(JSON.stringify(dataOf(all))).not.toContain(p.email);
    } finally {
      await replay.close();
    }
  });
});

describe('subscriptions sharing a read', () => {
  it('open each event once for all the subscriptions one append wakes, and give each the plaintext', async () => {
    let decrypts = 0;
    const counting = {
      encrypt: (subject: string, plaintext: string) => vault.encrypt(subject, plaintext),
      decrypt: (subject: string, sealed: string) => {
        decrypts++;
        return vault.decrypt(subject, sealed);
      },
      destroy: (subject: string) => vault.destroy(subject),
      isErased: (subject: string) => vault.isErased(subject),
    };
    const shared = withPersonalData(raw, counting, testPolicy);
    const p = person();
    const stream = userStream(p);
    await shared.append(stream, [somethingElse({ viewer: p.userId })], { expectedRevision: 'no_stream' });
    const subscriptions = Array.from({ length: 4 }, () => shared.subscribe({ filter: { streamPrefixes: [stream] } }));
    const iterators = subscriptions.map((subscription) => subscription[Symbol.asyncIterator]());
    try {
      // Each reads the event without personal data first: after it, all four are caught up and wait together.
      for (const iterator of iterators) await collect(iterator, (events) => events.length >= 1);
      decrypts = 0;
      const opened = accountOpened(p);
      await shared.append(stream, [opened], { expectedRevision: 0n });
      const delivered = await Promise.all(iterators.map((it) => collect(it, (events) => events.length >= 1)));
      for (const events of delivered) expect(dataOf(events)).toEqual([opened.data]);
      // Three sealed fields (email, fullName, profile.phone), opened once, not once per subscription.
      expect(decrypts).toBe(3);
    } finally {
      await Promise.all(subscriptions.map((subscription) => subscription.close()));
    }
  });
});

describe('fields that became personal in a later schema version', () => {
  const policy: PersonalDataPolicy = {
    ...testPolicy,
    AccountOpened: {
      ...testPolicy.AccountOpened!,
      fields: [...testPolicy.AccountOpened!.fields, 'profile.universityName'],
      sealedFrom: { 'profile.universityName': 2 },
    },
  };
  const versioned = () => withPersonalData(raw, vault, policy);

  it('seals them in new events, reads older plaintext as it was, and reads both as null once the person is erased', async () => {
    const p = person();
    const stream = userStream(p);
    const legacy = accountOpened(p); // schemaVersion 1: universityName was written in clear
    await store.append(stream, [legacy], { expectedRevision: 'no_stream' });
    const current = { ...accountOpened(p), schemaVersion: 2 };
    await versioned().append(stream, [current], { expectedRevision: 0n });

    const stored = await toArray(raw.readStream(stream));
    expect(JSON.stringify(stored[0]!.data)).toContain('Università di Bologna');
    expect(JSON.stringify(stored[1]!.data)).not.toContain('Università di Bologna');
    expect(dataOf(await toArray(versioned().readStream(stream)))).toEqual([legacy.data, current.data]);

    await vault.destroy(p.userId);
    for (const event of await toArray(versioned().readStream(stream))) {
      expect(event.data).toMatchObject({
        email: null,
        fullName: null,
        profile: { phone: null, universityName: null },
        personalDataErased: true,
      });
    }
  });

  it('still refuses plaintext where the version says the value is sealed', async () => {
    const p = person();
    const stream = userStream(p);
    await raw.append(stream, [{ ...accountOpened(p), schemaVersion: 2 }], { expectedRevision: 'no_stream' });
    await expect(toArray(versioned().readStream(stream))).rejects.toBeInstanceOf(PersonalDataUnreadable);
  });
});
