import { randomUUID } from 'node:crypto';
import type { CreateRoom } from '../../../domain/rooms/commands.js';
import type { RoomCreated, RoomDetails, RoomPublished } from '../../../domain/rooms/events.js';
import type { CommandContext } from '../../../domain/shared/decider.js';

export const NOW = '2026-11-25T10:00:00.000Z';

export function landlordContext(actorId = randomUUID(), now = NOW): CommandContext {
  return { actorId, actorRole: 'landlord', now };
}

export function roomDetails(overrides: Partial<RoomDetails> = {}): RoomDetails {
  return {
    title: 'Quiet room near the Faculty of Law',
    description: 'Bright single room with a large desk, ten minutes on foot from the exam hall.',
    address: 'Via Roma 12, Bologna',
    location: { lat: 44.4949, lng: 11.3426 },
    pricePerNight: 4500,
    currency: 'EUR',
    maxOccupants: 1,
    amenities: ['desk', 'quiet_hours', 'wifi'],
    cancellationPolicy: 'moderate',
    ...overrides,
  };
}

/** The body of POST /api/rooms for these details. */
export function roomBody(overrides: Partial<RoomDetails> = {}) {
  const { cancellationPolicy: _policy, ...details } = roomDetails(overrides);
  return details;
}

export function createRoomCommand(
  roomId: string,
  context: CommandContext,
  overrides: Partial<RoomDetails> = {},
): CreateRoom {
  return { type: 'CreateRoom', data: { roomId, ...roomDetails(overrides) }, context };
}

export function roomCreated(roomId: string, landlordId: string, overrides: Partial<RoomDetails> = {}): RoomCreated {
  return { type: 'RoomCreated', data: { roomId, landlordId, ...roomDetails(overrides), createdAt: NOW } };
}

export function roomPublished(roomId: string): RoomPublished {
  return { type: 'RoomPublished', data: { roomId, publishedAt: NOW } };
}
