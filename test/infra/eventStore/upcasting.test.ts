import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toArray } from '../../../infra/eventStore/eventStore.js';
import { verifyChain } from '../../../infra/eventStore/hashChain.js';
import { roomsProjection } from '../../../projections/rooms/roomsProjection.js';
import { RoomView } from '../../../projections/rooms/roomView.js';
import { waitForCheckpoint } from '../../../projections/status.js';
import { createTestApp, type TestApp } from '../../support/app.js';
import { NOW, roomDetails } from '../../support/builders/rooms.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

describe('schema evolution', () => {
  it('reads a RoomCreated v1 (before cancellation policies) as v2 without rewriting history', async () => {
    const roomId = randomUUID();
    const { cancellationPolicy: _dropped, ...v1Details } = roomDetails();
    const { position } = await t.runtime.rawEventStore.append(
      `Room-${roomId}`,
      [
        {
          eventId: randomUUID(),
          type: 'RoomCreated',
          schemaVersion: 1,
          data: { roomId, landlordId: randomUUID(), ...v1Details, createdAt: NOW },
          metadata: {
            correlationId: randomUUID(),
            causationId: null,
            actorId: null,
            actorRole: 'landlord',
            occurredAt: NOW,
            requestId: null,
          },
        },
      ],
      { expectedRevision: 'no_stream' },
    );

    const [raw] = await toArray(t.runtime.rawEventStore.readStream(`Room-${roomId}`));
    expect(raw!.schemaVersion).toBe(1);
    expect(raw!.data).not.toHaveProperty('cancellationPolicy');

    const [upcast] = await toArray(t.runtime.eventStore.readStream(`Room-${roomId}`));
    expect(upcast!.schemaVersion).toBe(2);
    expect(upcast!.data).toMatchObject({ cancellationPolicy: 'flexible', title: v1Details.title });

    // The stored event and its hash are untouched.
    expect(verifyChain([raw!])).toEqual({ valid: true, events: 1 });

    // The projection reads the upcast shape too.
    await waitForCheckpoint(t.runtime.pool, roomsProjection, position, 5000);
    const room = await t.runtime.orm.em.fork().findOneOrFail(RoomView, { id: roomId });
    expect(room.cancellationPolicy).toBe('flexible');
  });
});
