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
