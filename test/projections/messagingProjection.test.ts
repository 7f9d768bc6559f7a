import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BookingEvent } from '../../domain/bookings/events.js';
import { conversationId } from '../../domain/messaging/conversationId.js';
import type { ConversationEvent } from '../../domain/messaging/events.js';
import { messagingProjection } from '../../projections/messaging/messagingProjection.js';
import { createMessagingQueries, type MessagingQueries } from '../../projections/messaging/messagingQueries.js';
import { projectionSpec, recordedEvent } from '../support/projectionSpec.js';

/** The messaging projection: given conversation, booking and erasure events, then rows and query answers. */
const spec = projectionSpec(messagingProjection);
let pool: pg.Pool;
let queries: MessagingQueries;
beforeAll(() => {
  pool = new pg.Pool({ connectionString: spec.db.url, max: 2 });
  queries = createMessagingQueries(pool);
});
afterAll(async () => {
  await pool?.end();
});

// Data only: nothing in the projection compares with the time.
const AT = new Date().toISOString();

function pair() {
  const tenantId = randomUUID();
  const landlordId = randomUUID();
  const roomId = randomUUID();
  const id = conversationId(tenantId, landlordId, roomId);
  const stream = `Conversation-${id}`;
  let revision = -1;
  const next = (event: ConversationEvent) => recordedEvent(stream, ++revision, event);
  const started = () =>
    next({
      type: 'ConversationStarted',
      data: {
        conversationId: id,
        participantIds: [tenantId, landlordId].sort() as [string, string],
        roomId,
        bookingId: null,
        startedBy: tenantId,
        startedAt: AT,
      },
    });
  const message = (from: 'tenant' | 'landlord', body: string, messageId = randomUUID()) =>
    next({
      type: 'MessageSent',
      data: {
        conversationId: id,
        messageId,
        senderId: from === 'tenant' ? tenantId : landlordId,
        recipientId: from === 'tenant' ? landlordId : tenantId,
        body,
        photoIds: [],
        sentAt: AT,
      },
    });
  const read = (readerId: string, upToMessageId: string) =>
    next({
      type: 'MessagesRead',
      data: {
        conversationId: id,
        readerId,
        senderId: readerId === tenantId ? landlordId : tenantId,
        upToMessageId,
        readAt: AT,
      },
    });
  const booking = (bookingId = randomUUID()) => {
    const requested: BookingEvent = {
      type: 'BookingRequested',
      data: {
        bookingId,
        reference: 'RL-TEST',
        roomId,
        tenantId,
        landlordId,
        checkIn: '2027-04-01',
        checkOut: '2027-04-03',
        nights: 2,
        guests: 1,
        pricePerNight: 4500,
        totalAmount: 9000,
        currency: 'EUR',
        cancellationPolicy: 'moderate',
        holdExpiresAt: AT,
        requestedAt: AT,
      },
    };
    const confirmed: BookingEvent = { type: 'BookingConfirmed', data: { bookingId, by: landlordId, confirmedAt: AT } };
    return {
      requested: recordedEvent(`Booking-${bookingId}`, 0, requested),
      confirmed: recordedEvent(`Booking-${bookingId}`, 1, confirmed),
    };
  };
  return { tenantId, landlordId, roomId, id, started, message, read, booking };
}

describe('messaging projection', () => {
  it('keeps messages in order with unread counts per participant; a replayed batch changes nothing', async () => {
    const p = pair();
    const events = [
      p.started(),
      p.message('tenant', 'one'),
      p.message('tenant', 'two'),
      p.message('landlord', 'three'),
    ];
    await spec.apply(events);
    await spec.apply(events);
    const forLandlord = await queries.conversation(p.id, p.landlordId);
    expect(forLandlord).toMatchObject({ messageCount: 3, unreadCount: 2, contactUnlocked: false });
    expect(forLandlord!.lastMessage).toMatchObject({ body: 'three', senderId: p.landlordId });
    expect((await queries.conversation(p.id, p.tenantId))!.unreadCount).toBe(1);
    const listed = await queries.messagesOf(p.id, { limit: 10, beforeSeq: null });
    expect(listed.map((m) => m.body)).toEqual(['three', 'two', 'one']);
    expect(listed.map((m) => m.seq)).toEqual([2, 1, 0]);
    expect(await queries.participantsOf(p.id)).toEqual([p.tenantId, p.landlordId].sort());
    expect(await queries.conversationPartnersOf(p.tenantId)).toEqual([p.landlordId]);
    expect(await queries.participantsOf(randomUUID())).toBeNull();
    expect(await queries.participantsOf('not-a-uuid')).toBeNull();
  });

  it('gives the same rows for a batch applied at once (messages written together) as one event at a time', async () => {
    const state = async (c: ReturnType<typeof pair>) => ({
      forTenant: await queries.conversation(c.id, c.tenantId),
      forLandlord: await queries.conversation(c.id, c.landlordId),
      messages: (await queries.messagesOf(c.id, { limit: 50, beforeSeq: null })).map((m) => ({ ...m, id: '' })),
    });
    // Two conversations interleaved, a receipt between messages, replayed with a repeat in the middle.
    const script = () => {
      const a = pair();
      const b = pair();
      const aStarted = a.started();
      const aFirst = a.message('tenant', 'a one');
      const events = [
        aStarted,
        aFirst,
        b.started(),
        a.message('tenant', 'a two'),
        b.message('landlord', 'b one'),
        a.read(a.landlordId, (aFirst.data as { messageId: string }).messageId),
        a.message('landlord', 'a three'),
        b.message('tenant', 'b two'),
        a.message('tenant', 'a four'),
      ];
      return { a, b, events };
    };
    const atOnce = script();
    await spec.apply(atOnce.events);
    await spec.apply([...atOnce.events.slice(3), ...atOnce.events]);
    const oneByOne = script();
    for (const event of oneByOne.events) await spec.apply([event]);
    for (const key of ['a', 'b'] as const) {
      const [got, want] = [await state(atOnce[key]), await state(oneByOne[key])];
      expect(got.messages.map((m) => [m.body, m.seq, m.readAt !== null])).toEqual(
        want.messages.map((m) => [m.body, m.seq, m.readAt !== null]),
      );
      expect([got.forTenant?.unreadCount, got.forLandlord?.unreadCount, got.forTenant?.messageCount]).toEqual([
        want.forTenant?.unreadCount,
        want.forLandlord?.unreadCount,
        want.forTenant?.messageCount,
      ]);
      expect(got.forTenant?.lastMessage?.body).toBe(want.forTenant?.lastMessage?.body);
    }
    expect((await state(atOnce.a)).forLandlord).toMatchObject({ messageCount: 4, unreadCount: 2 });
  });

  it('counts unread messages down on a read receipt, and marks what was read as delivered', async () => {
    const p = pair();
    const started = p.started();
    const first = p.message('tenant', 'one');
    const second = p.message('tenant', 'two');
    const third = p.message('tenant', 'three');
    await spec.apply([started, first, second, third]);
    await spec.apply([p.read(p.landlordId, (second.data as { messageId: string }).messageId)]);
    expect((await queries.conversation(p.id, p.landlordId))!.unreadCount).toBe(1);
    const listed = await queries.messagesOf(p.id, { limit: 10, beforeSeq: null });
    expect(listed.map((m) => [m.body, m.readAt !== null, m.deliveredAt !== null])).toEqual([
      ['three', false, false],
      ['two', true, true],
      ['one', true, true],
    ]);
  });

  it('unlocks contact details when the pair’s booking is confirmed, and starts unlocked after one was', async () => {
    const p = pair();
    const { requested, confirmed } = p.booking();
    await spec.apply([p.started(), requested]);
    expect(await queries.contactUnlocked(p.id)).toBe(false);
    await spec.apply([confirmed]);
    expect(await queries.contactUnlocked(p.id)).toBe(true);

    const q = pair();
    const booked = q.booking();
    await spec.apply([booked.requested, booked.confirmed, q.started()]);
    expect(await queries.contactUnlocked(q.id)).toBe(true);
    // A confirmation of a booking the projection never saw requested unlocks nothing (and does not fail).
    await spec.apply([
      recordedEvent(`Booking-${randomUUID()}`, 1, {
        type: 'BookingConfirmed',
        data: { bookingId: randomUUID(), by: randomUUID(), confirmedAt: AT },
      }),
    ]);
  });

  it('drops an erased sender’s bodies, keeping the messages', async () => {
    const p = pair();
    await spec.apply([p.started(), p.message('tenant', 'my address is secret'), p.message('landlord', 'thanks')]);
    await spec.apply([
      recordedEvent(`User-${p.tenantId}`, 3, {
        type: 'PersonalDataErased',
        data: { userId: p.tenantId, erasedBy: randomUUID(), erasedAt: AT },
      }),
    ]);
    const listed = await queries.messagesOf(p.id, { limit: 10, beforeSeq: null });
    expect(listed.map((m) => [m.body, m.erased])).toEqual([
      ['thanks', false],
      [null, true],
    ]);
  });

  it('lists a person’s conversations, latest activity first, in pages', async () => {
    const tenantId = randomUUID();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const landlordId = randomUUID();
      const id = conversationId(tenantId, landlordId, null);
      ids.push(id);
      await spec.apply([
        recordedEvent(`Conversation-${id}`, 0, {
          type: 'ConversationStarted',
          data: {
            conversationId: id,
            participantIds: [tenantId, landlordId].sort() as [string, string],
            roomId: null,
            bookingId: null,
            startedBy: tenantId,
            startedAt: new Date(Date.parse(AT) + i * 60_000).toISOString(),
          },
        }),
      ]);
    }
    const first = await queries.conversationsOf(tenantId, { limit: 2, after: null });
    expect(first.map((c) => c.id)).toEqual([ids[2], ids[1]]);
    const rest = await queries.conversationsOf(tenantId, {
      limit: 2,
      after: { activityAt: first[1]!.activityAt, id: first[1]!.id },
    });
    expect(rest.map((c) => c.id)).toEqual([ids[0]]);
  });

  it('empties everything on reset', async () => {
    const p = pair();
    await spec.apply([p.started()]);
    await spec.reset();
    expect(await queries.participantsOf(p.id)).toBeNull();
  });
});
