import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EntityManager } from '@mikro-orm/postgresql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DomainEvent } from '../../domain/shared/decider.js';
import type { AnalyticsStore } from '../../infra/analytics/analyticsStore.js';
import { createChdbAnalyticsStore } from '../../infra/analytics/chdb/chdbAnalyticsStore.js';
import { PERSON_COLUMNS } from '../../infra/analytics/schema.js';
import { type RecordedEvent, toArray } from '../../infra/eventStore/eventStore.js';
import { MemoryEventStore } from '../../infra/eventStore/memory/memoryEventStore.js';
import { analyticsProjection } from '../../projections/analytics/analyticsProjection.js';
import { analyticsQueries } from '../../projections/analytics/analyticsQueries.js';

/** The analytics projection against a real chDB: given events (in batches of the test's choosing), then rows. */
const DAY_MS = 86_400_000;
const day = (n: number) => new Date(Date.now() + n * DAY_MS).toISOString().slice(0, 10);
const at = (n: number) => new Date(Date.now() + n * DAY_MS).toISOString();
const em = undefined as unknown as EntityManager;

let dir: string;
let store: AnalyticsStore;
const events = new MemoryEventStore();
const landlord = randomUUID();
const tenant = randomUUID();
const roomId = randomUUID();
const bookingId = randomUUID();
const conversationId = randomUUID();
const paymentId = randomUUID();

async function append(streamId: string, role: string, ...domainEvents: DomainEvent[]): Promise<void> {
  await events.append(
    streamId,
    domainEvents.map((event) => ({
      eventId: randomUUID(),
      type: event.type,
      schemaVersion: 1,
      data: event.data,
      metadata: {
        correlationId: randomUUID(),
        causationId: null,
        actorId: null,
        actorRole: role,
        occurredAt: at(0),
        requestId: null,
      },
    })),
    { expectedRevision: 'any' },
  );
}

const review = (reviewId: string, side: 'tenant' | 'landlord', rating: number, hidden = false) => ({
  type: 'ReviewPublished',
  data: {
    bookingId,
    roomId,
    reviewId,
    side,
    authorId: side === 'tenant' ? tenant : landlord,
    subjectId: side === 'tenant' ? landlord : tenant,
    rating,
    hidden,
    reason: 'both_submitted',
    publishedAt: at(0),
  },
});

let all: RecordedEvent[];
const liked = randomUUID();
const disliked = randomUUID();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'roomline-analytics-projection-'));
  store = createChdbAnalyticsStore({ path: dir });
  await store.migrate();
  await append(`User-${tenant}`, 'tenant', {
    type: 'UserRegistered',
    data: { userId: tenant, role: 'tenant', registeredAt: at(0), email: null, phone: null, fullName: null },
  });
  await append(
    `Room-${roomId}`,
    'landlord',
    { type: 'RoomCreated', data: { roomId, landlordId: landlord, title: 'A room', createdAt: at(0) } },
    { type: 'RoomPublished', data: { roomId, publishedAt: at(0) } },
  );
  await append(`Booking-${bookingId}`, 'tenant', {
    type: 'BookingRequested',
    data: {
      bookingId,
      roomId,
      tenantId: tenant,
      landlordId: landlord,
      checkIn: day(3),
      checkOut: day(5),
      nights: 2,
      guests: 1,
      pricePerNight: 5000,
      totalAmount: 10_000,
      currency: 'EUR',
      cancellationPolicy: 'flexible',
      reference: 'RL-AAAAAA',
      holdExpiresAt: at(1),
      requestedAt: at(0),
    },
  });
  await append(`Booking-${bookingId}`, 'landlord', {
    type: 'BookingConfirmed',
    data: { bookingId, by: landlord, confirmedAt: at(0) },
  });
  await append(`Payment-${bookingId}`, 'landlord', {
    type: 'CashPaymentReceived',
    data: { bookingId, paymentId, amount: 4000, method: 'cash', recordedBy: landlord, paidAt: at(0), balanceDue: 6000 },
  });
  await append(
    `Conversation-${conversationId}`,
    'tenant',
    {
      type: 'ConversationStarted',
      data: {
        conversationId,
        participantIds: [tenant, landlord].sort(),
        roomId,
        bookingId: null,
        startedBy: tenant,
        startedAt: at(0),
      },
    },
    {
      type: 'MessageSent',
      data: {
        conversationId,
        messageId: randomUUID(),
        senderId: tenant,
        recipientId: landlord,
        body: 'a secret text',
        photoIds: [],
        sentAt: at(0),
      },
    },
  );
  await append(`Conversation-${conversationId}`, 'landlord', {
    type: 'MessageSent',
    data: {
      conversationId,
      messageId: randomUUID(),
      senderId: landlord,
      recipientId: tenant,
      body: 'another secret text',
      photoIds: [],
      sentAt: at(0),
    },
  });
  await append(
    `BookingReviews-${bookingId}`,
    'system',
    review(liked, 'tenant', 4),
    review(randomUUID(), 'landlord', 5),
    review(disliked, 'tenant', 2),
  );
  await append(`BookingReviews-${bookingId}`, 'landlord', {
    type: 'ReviewResponded',
    data: {
      bookingId,
      roomId,
      reviewId: liked,
      responseId: randomUUID(),
      authorId: landlord,
      body: 'thanks',
      respondedAt: at(0),
    },
  });
  await append(`BookingReviews-${bookingId}`, 'admin', {
    type: 'ReviewHidden',
    data: {
      bookingId,
      roomId,
      reviewId: disliked,
      side: 'tenant',
      rating: 2,
      wasPublished: true,
      hiddenBy: randomUUID(),
      reason: 'abuse',
      hiddenAt: at(0),
    },
  });
  await append(`User-${tenant}`, 'admin', {
    type: 'PersonalDataErased',
    data: { userId: tenant, erasedBy: randomUUID(), erasedAt: at(0) },
  });
  all = await toArray(events.readAll());
});

afterAll(async () => {
  await store?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const count = async (sql: string, params = {}) => (await store.query<{ n: number }>(sql, params))[0]!.n;

async function snapshot() {
  return {
    events: await count('SELECT count() AS n FROM events FINAL'),
    bookings: await store.query('SELECT * FROM bookings FINAL ORDER BY booking_id'),
    payments: await store.query('SELECT * FROM payments FINAL ORDER BY payment_id'),
    messages: await store.query('SELECT * FROM messages FINAL ORDER BY message_id'),
    reviews: await store.query('SELECT * FROM reviews FINAL ORDER BY review_id'),
    figures: await analyticsQueries(store).figures({ from: day(-1), to: day(10) }),
  };
}

async function holding(person: string): Promise<string[]> {
  const tables: string[] = [];
  for (const [table, columns] of Object.entries(PERSON_COLUMNS)) {
    if (columns.length === 0) continue;
    const matches = columns.map((column) => `${column} = {p:String}`);
    if (table === 'events') matches.push("stream_id = concat('User-', {p:String})");
    if ((await count(`SELECT count() AS n FROM ${table} WHERE ${matches.join(' OR ')}`, { p: person })) > 0) {
      tables.push(table);
    }
  }
  return tables;
}

describe('analytics projection', () => {
  const projection = () => analyticsProjection({ store, eventStore: events });

  it('writes every event, bookings, payments, message and review counts (no text), and erases in the same batch', async () => {
    await projection().apply(em, all);
    const rows = await snapshot();
    expect(rows.events).toBe(all.length);
    expect(rows.bookings).toEqual([
      expect.objectContaining({
        booking_id: bookingId,
        status: 'confirmed',
        tenant_id: '',
        landlord_id: landlord,
        nights: 2,
        amount: 10_000,
        lead_time_days: 3,
        version: 1,
      }),
    ]);
    expect(rows.payments).toEqual([
      expect.objectContaining({
        payment_id: paymentId,
        booking_id: bookingId,
        room_id: roomId,
        amount: 4000,
        currency: 'EUR',
        tenant_id: '',
      }),
    ]);
    expect(rows.messages).toHaveLength(2);
    expect(rows.messages.map((m) => (m as { sender_role: string }).sender_role).sort()).toEqual(['landlord', 'tenant']);
    expect(JSON.stringify(rows)).not.toMatch(/secret text|thanks/);
    // Room reviews only: the landlord's review of the guest is not one; the hidden one counts nowhere.
    expect(rows.reviews).toEqual([
      expect.objectContaining({ review_id: [liked, disliked].sort()[0], room_id: roomId }),
      expect.objectContaining({ review_id: [liked, disliked].sort()[1], room_id: roomId }),
    ]);
    expect(rows.reviews.find((r) => (r as { review_id: string }).review_id === liked)).toMatchObject({
      rating: 4,
      has_response: true,
    });
    expect(rows.reviews.find((r) => (r as { review_id: string }).review_id === disliked)).toMatchObject({ rating: 0 });
    expect(rows.figures.ratingDistribution).toEqual([
      { rating: 1, count: 0 },
      { rating: 2, count: 0 },
      { rating: 3, count: 0 },
      { rating: 4, count: 1 },
      { rating: 5, count: 0 },
    ]);
    expect(rows.figures).toMatchObject({ nightsBooked: 2, revenue: [{ currency: 'EUR', amount: 10_000 }] });
    expect(await holding(tenant)).toEqual([]);
    expect(await holding(landlord)).not.toEqual([]);
  });

  it('applies a retried batch once (the deduplication token drops it whole) and a replay in other batches the same', async () => {
    const before = await snapshot();
    const raw = await count('SELECT count() AS n FROM events');
    await projection().apply(em, all);
    expect(await count('SELECT count() AS n FROM events')).toBe(raw);
    expect(await snapshot()).toEqual(before);

    // In batches of 2 and of 3: a conversation's start and its messages, a booking's request and its confirmation,
    // fall in different batches one way or the other.
    for (const size of [2, 3]) {
      const rebuilt = projection();
      await rebuilt.reset(em);
      expect(await count('SELECT count() AS n FROM events')).toBe(0);
      for (let i = 0; i < all.length; i += size) await rebuilt.apply(em, all.slice(i, i + size));
      expect(await snapshot(), `in batches of ${size}`).toEqual(before);
      expect(await holding(tenant)).toEqual([]);
    }
  });

  it('ends with the same rows when two batches overlap, as the runner applies it (the erasure waits for the rows before it)', async () => {
    const whole = projection();
    await whole.reset(em);
    await whole.apply(em, all);
    const before = await snapshot();
    const overlapped = projection();
    expect(overlapped.overlapBatches).toBe(true);
    await overlapped.reset(em);
    // Batches of two: a booking's request and its confirmation, a review and its answer, land in different batches;
    // the erasure is in the last one, while the batch before it, which names the person, may still be writing.
    let inFlight: Promise<void> = Promise.resolve();
    for (let i = 0; i < all.length; i += 2) {
      const applying = overlapped.apply(em, all.slice(i, i + 2));
      await inFlight;
      inFlight = applying;
    }
    await inFlight;
    expect(await snapshot()).toEqual(before);
    expect(await holding(tenant)).toEqual([]);
  });

  it('writes no id of a person erased earlier, even in a batch after the erasure, from a fresh process', async () => {
    const fresh = projection();
    const later = randomUUID();
    await append(`Booking-${later}`, 'tenant', {
      type: 'BookingRequested',
      data: {
        ...(all.find((e) => e.type === 'BookingRequested')!.data as object),
        bookingId: later,
        checkIn: day(7),
        checkOut: day(8),
        nights: 1,
      },
    });
    const [event] = await toArray(events.readAll({ fromPosition: all.at(-1)!.position }));
    await fresh.apply(em, [event!]);
    expect(await holding(tenant)).toEqual([]);
    const [row] = await store.query<{ tenant_id: string }>(
      'SELECT tenant_id FROM bookings FINAL WHERE booking_id = {id:String}',
      {
        id: later,
      },
    );
    expect(row).toEqual({ tenant_id: '' });
  });
  it('keeps what it wrote for later batches, and writes no id of someone erased in between from what it kept', async () => {
    const same = projection();
    const guest = randomUUID();
    const booking = randomUUID();
    const since = all.at(-1)!.position;
    const request = all.find((e) => e.type === 'BookingRequested')!.data as object;
    await append(`Booking-${booking}`, 'tenant', {
      type: 'BookingRequested',
      data: { ...request, bookingId: booking, tenantId: guest, checkIn: day(4), checkOut: day(6), nights: 2 },
    });
    // Applied as they come, in one process: the request before the erasure exists, the rest after it.
    let applied = since;
    const applyNew = async () => {
      const fresh = await toArray(events.readAll({ fromPosition: applied }));
      await same.apply(em, fresh);
      applied = fresh.at(-1)!.position;
    };
    await applyNew();
    expect(await holding(guest)).not.toEqual([]);
    await append(`User-${guest}`, 'admin', {
      type: 'PersonalDataErased',
      data: { userId: guest, erasedBy: randomUUID(), erasedAt: at(0) },
    });
    await applyNew();
    await append(`Booking-${booking}`, 'landlord', {
      type: 'BookingConfirmed',
      data: { bookingId: booking, by: landlord, confirmedAt: at(0) },
    });
    await append(`Payment-${booking}`, 'landlord', {
      type: 'CashPaymentReceived',
      data: {
        bookingId: booking,
        paymentId: randomUUID(),
        amount: 1000,
        method: 'cash',
        recordedBy: landlord,
        paidAt: at(0),
        balanceDue: 0,
      },
    });
    await applyNew();
    expect(await holding(guest)).toEqual([]);
    const [row] = await store.query<{ tenant_id: string; status: string; room_id: string; amount: number }>(
      'SELECT tenant_id, status, room_id, amount FROM bookings FINAL WHERE booking_id = {id:String}',
      { id: booking },
    );
    expect(row).toMatchObject({ tenant_id: '', status: 'confirmed', room_id: roomId });
    const [payment] = await store.query<{ room_id: string; tenant_id: string }>(
      "SELECT room_id, tenant_id FROM events FINAL WHERE booking_id = {id:String} AND type = 'CashPaymentReceived'",
      { id: booking },
    );
    expect(payment).toEqual({ room_id: roomId, tenant_id: '' });
  });
});
