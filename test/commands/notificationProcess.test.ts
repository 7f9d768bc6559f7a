import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import {
  MESSAGE_NOTICE_WINDOW_MS,
  notificationIdFor,
  notificationProcessManager,
} from '../../commands/notifications.js';
import { conversationStreamId } from '../../domain/messaging/events.js';
import { notificationStreamId } from '../../domain/notifications/events.js';
import { systemClock } from '../../infra/clock/clock.js';
import { type RecordedEvent, toArray } from '../../infra/eventStore/eventStore.js';
import { MemoryEventStore } from '../../infra/eventStore/memory/memoryEventStore.js';
import type { PresenceLookup } from '../../infra/notifications/ports.js';
import { RedisPresence } from '../../infra/presence/redisPresence.js';
import { deleteRedisKeys, REDIS_URL } from '../support/redis.js';

const HOUR_MS = 3_600_000;
/** Times in the last hour, a minute apart: recent enough for a message to be news. */
const at = (minutes: number) => new Date(Date.now() - HOUR_MS + minutes * 60_000).toISOString();

/** A conversation between a tenant and a landlord, written event by event, run through the process manager. */
function conversation(presence?: PresenceLookup) {
  const store = new MemoryEventStore();
  const process = notificationProcessManager({ store, clock: systemClock, presence });
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
  const send = async (from: string, to: string, sentMinutesAgo?: number) => {
    if (sentMinutesAgo !== undefined) minute = 60 - sentMinutesAgo;
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
  const raised = async (notificationId: string) =>
    (await toArray(store.readStream(notificationStreamId(notificationId)))).length > 0;
  return { store, conversationId, tenant, landlord, append, start, send, read, isRead, raised };
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

describe('the notification process manager and presence', () => {
  const prefix = `rl-test-presence-${randomUUID().slice(0, 8)}`;
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 2 });
  const presence = new RedisPresence(redis, { prefix, heartbeatMs: 10_000 });
  afterAll(async () => {
    await presence.close();
    await deleteRedisKeys(prefix);
    redis.disconnect();
  });

  it('notifies of a message only a recipient who is offline: the feed shows it to one who is online', async () => {
    const c = conversation(presence);
    await c.start();
    await presence.socketOpened(c.landlord);
    const whileOnline = await c.send(c.tenant, c.landlord);
    expect(await c.raised(whileOnline.notificationId)).toBe(false);
    await presence.socketClosed(c.landlord);
    const whileOffline = await c.send(c.tenant, c.landlord);
    expect(await c.raised(whileOffline.notificationId)).toBe(true);
    // A receipt covering both marks the one there is, and does not trip on the one never raised.
    await c.read(c.landlord, whileOffline.messageId);
    expect(await c.isRead(whileOffline.notificationId)).toBe(true);
  });

  it('counts a recipient as offline when presence cannot be asked (Redis away): notifies rather than stays silent', async () => {
    const away = new Redis('redis://127.0.0.1:1', {
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      retryStrategy: () => null,
      lazyConnect: true,
    });
    away.on('error', () => undefined);
    try {
      const c = conversation(new RedisPresence(away, { prefix, heartbeatMs: 10_000 }));
      await c.start();
      const started = Date.now();
      const messages = [await c.send(c.tenant, c.landlord), await c.send(c.landlord, c.tenant)];
      for (const message of messages) expect(await c.raised(message.notificationId)).toBe(true);
      expect(Date.now() - started).toBeLessThan(2_000);
    } finally {
      away.disconnect();
    }
  });

  it('does not notify of a message that is no longer news (a replay of old messages), online or not', async () => {
    const c = conversation(presence);
    await c.start();
    const minutesAgo = MESSAGE_NOTICE_WINDOW_MS / 60_000 + 5;
    const old = await c.send(c.tenant, c.landlord, minutesAgo);
    expect(await c.raised(old.notificationId)).toBe(false);
    const recent = await c.send(c.tenant, c.landlord, 1);
    expect(await c.raised(recent.notificationId)).toBe(true);
  });
});
