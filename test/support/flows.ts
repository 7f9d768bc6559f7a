import { randomUUID } from 'node:crypto';
import type { RoomDetails } from '../../domain/rooms/events.js';
import type { TestApp } from './app.js';
import { roomBody } from './builders/rooms.js';

/** A room created and published over HTTP by a landlord (a new one unless given); its id. */
export async function publishedRoom(
  t: TestApp,
  landlordId: string = randomUUID(),
  overrides: Partial<RoomDetails> = {},
): Promise<string> {
  const headers = t.as('landlord', landlordId);
  const created = await t.app.inject({ method: 'POST', url: '/api/rooms', headers, payload: roomBody(overrides) });
  if (created.statusCode !== 201) throw new Error(`POST /api/rooms answered ${created.statusCode}: ${created.body}`);
  const id = created.json().id as string;
  const published = await t.app.inject({ method: 'POST', url: `/api/rooms/${id}/publish`, headers });
  if (published.statusCode !== 200) throw new Error(`publish answered ${published.statusCode}: ${published.body}`);
  return id;
}

/** Someone registered over HTTP (`POST /api/auth/register`): their id and the header that signs them in. */
export interface Person {
  id: string;
  headers: { authorization: string };
}

export async function registeredPerson(t: TestApp, role: 'tenant' | 'landlord'): Promise<Person> {
  const tag = randomUUID().slice(0, 12);
  const response = await t.app.inject({
    method: 'POST',
    url: '/api/auth/register',
    payload: {
      email: `${role}-${tag}@example.org`,
      password: 'a long and unusual passphrase',
      phone: `+39${Math.floor(1e9 + Math.random() * 8e9)}`,
      role,
      fullName: `${role} ${tag}`,
    },
  });
  if (response.statusCode !== 201) throw new Error(`register: ${response.statusCode} ${response.body}`);
  const { user, accessToken } = response.json();
  return { id: user.id, headers: { authorization: `Bearer ${accessToken}` } };
}
