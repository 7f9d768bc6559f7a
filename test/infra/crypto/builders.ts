import { randomBytes, randomUUID } from 'node:crypto';
import type { PersonalDataPolicy } from '../../../infra/crypto/personalDataStore.js';
import type { NewEvent } from '../../../infra/eventStore/eventStore.js';

/** A key-encryption key for one test file (each file has its own database, so its own keys). */
export const testKeyEncryptionKey = (): Buffer => randomBytes(32);

export interface Person {
  userId: string;
  email: string;
  phone: string;
  fullName: string;
}

export function person(overrides: Partial<Person> = {}): Person {
  const userId = overrides.userId ?? randomUUID();
  const tag = userId.slice(0, 8);
  return {
    userId,
    email: `giulia.rossi.${tag}@example.org`,
    phone: `+39 051 ${tag.slice(0, 3)} ${tag.slice(3, 7)}`,
    fullName: `Giulia Rossi ${tag}`,
    ...overrides,
  };
}

/** The policy the store tests use: flat and nested personal fields, and an event type without any. */
export const testPolicy: PersonalDataPolicy = {
  AccountOpened: {
    subject: (data) => (data as { userId: string }).userId,
    fields: ['email', 'fullName', 'profile.phone'],
  },
  ProfileChanged: {
    subject: (data) => (data as { userId: string }).userId,
    fields: ['changes.phone', 'changes.fullName'],
  },
  AccountErased: { subject: (data) => (data as { userId: string }).userId, fields: [] },
};

function envelope(type: string, data: Record<string, unknown>): NewEvent {
  return {
    eventId: randomUUID(),
    type,
    schemaVersion: 1,
    data,
    metadata: {
      correlationId: randomUUID(),
      causationId: null,
      actorId: null,
      actorRole: 'tenant',
      occurredAt: '2026-11-25T10:00:00.000Z',
      requestId: null,
    },
  };
}

export function accountOpened(p: Person): NewEvent {
  return envelope('AccountOpened', {
    userId: p.userId,
    role: 'tenant',
    email: p.email,
    fullName: p.fullName,
    profile: { phone: p.phone, universityName: 'Università di Bologna' },
  });
}

export function profileChanged(userId: string, changes: Record<string, unknown>): NewEvent {
  return envelope('ProfileChanged', { userId, changes });
}

export function accountErased(userId: string): NewEvent {
  return envelope('AccountErased', { userId });
}

export function somethingElse(data: Record<string, unknown> = {}): NewEvent {
  return envelope('RoomViewed', { roomId: randomUUID(), ...data });
}
