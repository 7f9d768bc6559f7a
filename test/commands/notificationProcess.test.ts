import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { describe, expect, it } from 'vitest';
import { notificationIdFor, notificationProcessManager } from '../../commands/notifications.js';
import { conversationStreamId } from '../../domain/messaging/events.js';
import { notificationStreamId } from '../../domain/notifications/events.js';
import { systemClock } from '../../infra/clock/clock.js';
import { type RecordedEvent, toArray } from '../../infra/eventStore/eventStore.js';
import { MemoryEventStore } from '../../infra/eventStore/memory/memoryEventStore.js';

const DAY_MS = 86_400_000;
const at = (minutes: number) => new Date(Date.now() - DAY_MS + minutes * 60_000).toISOString();

/** A conversation between a tenant and a landlord, written event by event, run through the process manager. */
function conversation() {
  const store = new MemoryEventStore();
  const process = notificationProcessManager({ store, clock: systemClock });
  const conversationId = randomUUID();
  const tenant = randomUUID();
  const landlord = randomUUID();
  const stream = conversationStreamId(conversationId);
  let minute = 0;
  const append = async (type: string, data: Record<string, unknown>): Promise<RecordedEvent> => {
    const metadata = {
      correlationId: randomUUID(),
      causationId: null,
      actorId: tenant,
      actorRole: 'tenant' as const,
      requestId: null,
      occurredAt: at(minute++),
    };
    await store.append(stream, [{ eventId: randomUUID(), type, schemaVersion: 1, data, metadata }], {
      expectedRevision: 'any',
    });
    const [recorded] = await toArray(store.readStream(stream, { direction: 'backwards', maxCount: 1 }));
    // As the runner does: the process manager is given the events its filter names.
    if (process.filter?.eventTypes?.includes(type))
      await process.apply(undefined as unknown as EntityManager, [recorded!]);
    return recorded!;
  };
  const send = async (from: string, to: string) => {
    const messageId = randomUUID();
    const event = await append('MessageSent', {
      conversationId,
      messageId,
      senderId: from,
      recipientId: to,
      body: 'hello',
      photoIds: [],
      sentAt: at(minute),
    });
    return { messageId, notificationId: notificationIdFor(event.eventId, 'message_received') };
  };
  const read = (reader: string, upToMessageId: string) =>
    append('MessagesRead', {
      conversationId,
      readerId: reader,
      senderId: reader === tenant ? landlord : tenant,
      upToMessageId,
      readAt: at(minute),
    });
  const isRead = async (notificationId: string) => {
    const events = await toArray(store.readStream(notificationStreamId(notificationId)));
    expect(events[0]?.type, `notification ${notificationId} raised`).toBe('NotificationRaised');
    return events.some((event) => event.type === 'NotificationRead');
  };
  const start = () =>
    append('ConversationStarted', {
      conversationId,
      participantIds: [tenant, landlord],
      roomId: null,
      bookingId: null,
    });
  return { store, conversationId, tenant, landlord, append, start, send, read, isRead };
}

describe('the notification process manager', () => {
  it('raises each notification in a stream of its own, once however often the message is replayed', async () => {
    const c = conversation();
    await c.start();
    const message = await c.send(c.tenant, c.landlord);
    const process = notificationProcessManager({ store: c.store, clock: systemClock });
    const all = (await toArray(c.store.readStream(conversationStreamId(c.conversationId)))).filter(
      (event) => event.type === 'MessageSent',
    );
    await process.apply(undefined as unknown as EntityManager, all);
    await process.apply(undefined as unknown as EntityManager, all);
    const raised = await toArray(c.store.readStream(notificationStreamId(message.notificationId)));
    expect(raised.map((event) => event.type)).toEqual(['NotificationRaised']);
    expect(raised[0]!.data).toMatchObject({ userId: c.landlord, kind: 'message_received' });
  });

  it('a read receipt marks read the reader’s messages up to the one it names, back to the previous receipt', async () => {
    const c = conversation();
    await c.start();
    const first = await c.send(c.landlord, c.tenant);
    const second = await c.send(c.landlord, c.tenant);
    const toLandlord = await c.send(c.tenant, c.landlord);
    const third = await c.send(c.landlord, c.tenant);
    const fourth = await c.send(c.landlord, c.tenant);

    // Read up to the second: the first two are read; the third and fourth (after it) and the landlord's are not.
    await c.read(c.tenant, second.messageId);
    expect(await c.isRead(first.notificationId)).toBe(true);
    expect(await c.isRead(second.notificationId)).toBe(true);
    expect(await c.isRead(third.notificationId)).toBe(false);
    expect(await c.isRead(fourth.notificationId)).toBe(false);
    expect(await c.isRead(toLandlord.notificationId)).toBe(false);

    // The next receipt covers the third and fourth, and marks nothing twice.
    const fifth = await c.send(c.landlord, c.tenant);
    await c.read(c.tenant, fourth.messageId);
    expect(await c.isRead(third.notificationId)).toBe(true);
    expect(await c.isRead(fourth.notificationId)).toBe(true);
    expect(await c.isRead(fifth.notificationId)).toBe(false);
    for (const { notificationId } of [first, second, third, fourth]) {
      const events = await toArray(c.store.readStream(notificationStreamId(notificationId)));
      expect(events.filter((event) => event.type === 'NotificationRead')).toHaveLength(1);
    }

    // The landlord's receipt marks only the landlord's.
    await c.read(c.landlord, toLandlord.messageId);
    expect(await c.isRead(toLandlord.notificationId)).toBe(true);
    expect(await c.isRead(fifth.notificationId)).toBe(false);
  });

  it('finds the messages a receipt covers across many pages of the conversation', async () => {
    const c = conversation();
    await c.start();
    const sent: Array<{ messageId: string; notificationId: string }> = [];
    for (let i = 0; i < 150; i++) sent.push(await c.send(c.landlord, c.tenant));
    await c.read(c.tenant, sent.at(-1)!.messageId);
    for (const { notificationId } of sent) expect(await c.isRead(notificationId)).toBe(true);
  });
});
