/**
 * A synthetic platform history (the event mix of `bench/rebuild.ts` and the projection crash test): a platform's history as the commands would have appended it, in rounds
 * (each round at most one append per stream, so a stream's events keep their order whatever the store batches):
 * universities with venues and sessions, landlords and tenants, rooms with photos and calendars, then bookings
 * through their lifecycle (hold, answer, payment record, conversation, stay, cash, reviews) with the notifications
 * they raise, saved searches, exam assignments, a few erasures at the end.
 */
import { randomUUID } from 'node:crypto';
import { calendarDecider } from '../../domain/bookings/calendar.js';
import { bookingSchemaVersions } from '../../domain/bookings/events.js';
import { userSchemaVersions } from '../../domain/identity/events.js';
import { conversationSchemaVersions } from '../../domain/messaging/events.js';
import { paymentSchemaVersions } from '../../domain/payments/events.js';
import { reviewSchemaVersions } from '../../domain/reviews/events.js';
import { Amenities } from '../../domain/rooms/amenities.js';
import { roomSchemaVersions } from '../../domain/rooms/events.js';
import { savedSearchSchemaVersions } from '../../domain/savedSearches/events.js';
import { candidateSchemaVersions, universitySchemaVersions } from '../../domain/universities/events.js';
import type { EventStore, NewEvent } from '../eventStore/eventStore.js';
import { seededRandom } from './demoData.js';

const SCHEMA_VERSIONS: Record<string, number> = {
  ...userSchemaVersions,
  ...roomSchemaVersions,
  ...bookingSchemaVersions,
  ...calendarDecider.schemaVersions,
  ...paymentSchemaVersions,
  ...conversationSchemaVersions,
  ...reviewSchemaVersions,
  ...universitySchemaVersions,
  ...candidateSchemaVersions,
  ...savedSearchSchemaVersions,
  NotificationRaised: 1,
  NotificationRead: 1,
};

const DAY_MS = 86_400_000;
const CITIES = [
  { city: 'Bologna', lat: 44.4949, lng: 11.3426 },
  { city: 'Milano', lat: 45.4642, lng: 9.19 },
  { city: 'Roma', lat: 41.9028, lng: 12.4964 },
  { city: 'Torino', lat: 45.0703, lng: 7.6869 },
  { city: 'Padova', lat: 45.4064, lng: 11.8768 },
];

export type Append = { streamId: string; events: NewEvent[] };

interface Room {
  roomId: string;
  landlordId: string;
  price: number;
  nextFreeDay: number;
}

/**
 * Rounds of appends until about `total` events (the last round may pass it by a few). `startMs` is the first
 * event's time (from the clock); each round moves the simulated time on by `stepMs`.
 */
export function* eventRounds(total: number, startMs: number, stepMs = 10 * 60_000, seed = 13): Generator<Append[]> {
  // Deterministic, so two runs with one seed append the same mix.
  const rnd = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rnd() * items.length)]!;
  let now = startMs;
  let count = 0;
  const iso = (ms = now) => new Date(ms).toISOString();
  const day = (ms: number) => iso(ms).slice(0, 10);
  const event = (type: string, data: unknown, actorId: string, actorRole: string): NewEvent => {
    count++;
    return {
      eventId: randomUUID(),
      type,
      schemaVersion: SCHEMA_VERSIONS[type] ?? 1,
      data,
      metadata: {
        correlationId: randomUUID(),
        causationId: null,
        actorId,
        actorRole,
        occurredAt: iso(),
        requestId: null,
      },
    };
  };
  let round = new Map<string, NewEvent[]>();
  const add = (streamId: string, ...events: NewEvent[]) => {
    const list = round.get(streamId);
    if (list) list.push(...events);
    else round.set(streamId, events);
  };
  const flush = (): Append[] => {
    const appends = [...round].map(([streamId, events]) => ({ streamId, events }));
    round = new Map();
    now += stepMs;
    return appends;
  };
  const notify = (userId: string, kind: string, subject: Record<string, string>, source: string, read: boolean) => {
    const notificationId = randomUUID();
    add(
      `Notification-${notificationId}`,
      event(
        'NotificationRaised',
        { notificationId, userId, kind, subject, sourceEventId: source, raisedAt: iso() },
        'system',
        'system',
      ),
      ...(read ? [event('NotificationRead', { notificationId, userId, readAt: iso() }, userId, 'tenant')] : []),
    );
  };

  // Scale the catalogue with the history: about 20 events per booking, a room per 200 events.
  const roomCount = Math.max(20, Math.round(total / 200));
  const landlordCount = Math.max(4, Math.round(roomCount / 5));
  const tenantCount = Math.max(20, Math.round(total / 100));
  const admin = randomUUID();

  const universities = CITIES.map((place) => {
    const universityId = randomUUID();
    const venues = Array.from({ length: 4 }, () => randomUUID());
    const sessions = Array.from({ length: 3 }, () => randomUUID());
    add(
      `University-${universityId}`,
      event(
        'UniversityRegistered',
        {
          universityId,
          name: `Università di ${place.city}`,
          city: place.city,
          country: 'IT',
          location: { lat: place.lat, lng: place.lng },
          registeredAt: iso(),
        },
        admin,
        'admin',
      ),
      ...venues.map((venueId, i) =>
        event(
          'ExamVenueAdded',
          {
            universityId,
            venueId,
            name: `Aula ${i + 1}`,
            address: `Via ${i + 1}, ${place.city}`,
            location: { lat: place.lat + i * 0.002, lng: place.lng },
            capacity: 200,
            addedBy: admin,
            addedAt: iso(),
          },
          admin,
          'admin',
        ),
      ),
      ...sessions.map((sessionId, i) =>
        event(
          'ExamSessionScheduled',
          {
            universityId,
            sessionId,
            name: `Sessione ${i + 1}`,
            startsOn: day(now + (30 + i * 40) * DAY_MS),
            endsOn: day(now + (35 + i * 40) * DAY_MS),
            venueIds: venues,
            scheduledBy: admin,
            scheduledAt: iso(),
          },
          admin,
          'admin',
        ),
      ),
    );
    return { universityId, place, venues, sessions };
  });
  yield flush();

  const register = (userId: string, role: 'tenant' | 'landlord', i: number) =>
    add(
      `User-${userId}`,
      event(
        'UserRegistered',
        {
          userId,
          role,
          email: `${role}${i}@example.org`,
          phone: `+39051${String(1_000_000 + i)}`,
          fullName: `${role === 'tenant' ? 'Giulia' : 'Marco'} Rossi ${i}`,
          universityName: role === 'tenant' ? 'Università di Bologna' : null,
          businessName: role === 'landlord' ? `Affitti ${i}` : null,
          profilePictureUrl: null,
          registeredAt: iso(),
        },
        userId,
        role,
      ),
      ...(i % 10 === 0
        ? [
            event(
              'ProfileUpdated',
              { userId, changes: { phone: `+39052${String(1_000_000 + i)}` }, updatedAt: iso() },
              userId,
              role,
            ),
          ]
        : []),
    );
  const landlords = Array.from({ length: landlordCount }, () => randomUUID());
  const tenants = Array.from({ length: tenantCount }, () => randomUUID());
  for (let from = 0; from < landlords.length + tenants.length; from += 2000) {
    for (let i = from; i < Math.min(from + 2000, landlords.length + tenants.length); i++) {
      if (i < landlords.length) register(landlords[i]!, 'landlord', i);
      else register(tenants[i - landlords.length]!, 'tenant', i);
    }
    yield flush();
  }

  const rooms: Room[] = [];
  for (let i = 0; i < roomCount; i++) {
    const roomId = randomUUID();
    const landlordId = landlords[i % landlords.length]!;
    const place = CITIES[i % CITIES.length]!;
    const price = 3000 + Math.floor(rnd() * 40) * 100;
    const amenities = [...new Set([pick(Amenities), pick(Amenities), 'wifi' as const])].sort();
    const photo = () => ({
      id: randomUUID(),
      key: randomUUID().replace(/-/g, ''),
      thumbnailKey: randomUUID().replace(/-/g, ''),
      contentType: 'image/jpeg',
      width: 1600,
      height: 1200,
      bytes: 240_000,
    });
    add(
      `Room-${roomId}`,
      event(
        'RoomCreated',
        {
          roomId,
          landlordId,
          title: `Room ${i} near the campus`,
          description: 'Bright single room with a desk, ten minutes from the exam hall.',
          address: `Via Roma ${i}, ${place.city}`,
          location: { lat: place.lat + (rnd() - 0.5) * 0.05, lng: place.lng + (rnd() - 0.5) * 0.05 },
          pricePerNight: price,
          currency: 'EUR',
          maxOccupants: 1 + (i % 2),
          amenities,
          cancellationPolicy: pick(['flexible', 'moderate', 'strict'] as const),
          createdAt: iso(),
        },
        landlordId,
        'landlord',
      ),
      event('RoomPhotosAdded', { roomId, photos: [photo(), photo(), photo()], addedAt: iso() }, landlordId, 'landlord'),
      event('RoomPublished', { roomId, publishedAt: iso() }, landlordId, 'landlord'),
      ...(i % 5 === 0
        ? [
            event(
              'RoomUpdated',
              { roomId, changes: { pricePerNight: price + 500 }, updatedAt: iso() },
              landlordId,
              'landlord',
            ),
          ]
        : []),
    );
    if (i % 10 === 0) {
      add(
        `RoomCalendar-${roomId}`,
        event(
          'BlockedDatesSet',
          { roomId, blocked: [{ from: day(now + 200 * DAY_MS), to: day(now + 207 * DAY_MS) }], setAt: iso() },
          landlordId,
          'landlord',
        ),
      );
    }
    rooms.push({ roomId, landlordId, price, nextFreeDay: Math.floor(now / DAY_MS) + 3 });
    if (i % 2000 === 1999) yield flush();
  }
  yield flush();

  for (const [i, tenantId] of tenants.entries()) {
    if (i % 10 === 0) {
      const searchId = randomUUID();
      const u = universities[i % universities.length]!;
      add(
        `SavedSearch-${searchId}`,
        event(
          'SavedSearchCreated',
          {
            searchId,
            tenantId,
            criteria: {
              location: { lat: u.place.lat, lng: u.place.lng },
              radiusKm: 3,
              examLocationId: null,
              checkIn: null,
              checkOut: null,
              guests: null,
              minPrice: null,
              maxPrice: 6000,
              amenities: ['wifi'],
            },
            name: 'near the exam',
            createdAt: iso(),
          },
          tenantId,
          'tenant',
        ),
      );
    }
    if (i % 3 === 0) {
      const u = universities[i % universities.length]!;
      add(
        `ExamCandidate-${tenantId}`,
        event(
          'CandidateAssigned',
          {
            tenantId,
            universityId: u.universityId,
            sessionId: pick(u.sessions),
            venueId: pick(u.venues),
            assignedBy: admin,
            assignedAt: iso(),
          },
          admin,
          'admin',
        ),
      );
    }
    if (i % 2000 === 1999) yield flush();
  }
  yield flush();

  // Bookings: each a list of steps, one step a round, so their events interleave as they would over time.
  type Step = () => void;
  let active: Step[][] = [];
  const perRound = 250;
  let bookingNumber = 0;
  const booking = (): Step[] => {
    const n = bookingNumber++;
    const room = rooms[Math.floor(rnd() * rooms.length)]!;
    const tenantId = tenants[Math.floor(rnd() * tenants.length)]!;
    const { landlordId, roomId } = room;
    const bookingId = randomUUID();
    const nightCount = 2 + (n % 4);
    const first = Math.max(room.nextFreeDay, Math.floor(now / DAY_MS) + 3);
    room.nextFreeDay = first + nightCount;
    const nights = Array.from({ length: nightCount }, (_, k) => day((first + k) * DAY_MS));
    const checkIn = nights[0]!;
    const checkOut = day((first + nightCount) * DAY_MS);
    const total = nightCount * room.price;
    const stream = `Booking-${bookingId}`;
    const calendar = `RoomCalendar-${roomId}`;
    const payment = `Payment-${bookingId}`;
    const conversationId = randomUUID();
    const conversation = `Conversation-${conversationId}`;
    const participantIds = [tenantId, landlordId].sort() as [string, string];
    const outcome = rnd();
    const steps: Step[] = [
      () => {
        add(
          calendar,
          event('NightsHeld', { bookingId, nights, heldAt: iso(), expiresAt: iso(now + DAY_MS) }, tenantId, 'tenant'),
        );
        const requested = event(
          'BookingRequested',
          {
            bookingId,
            reference: `RL-${String(n).padStart(6, '0')}`,
            roomId,
            tenantId,
            landlordId,
            checkIn,
            checkOut,
            nights: nightCount,
            guests: 1,
            pricePerNight: room.price,
            totalAmount: total,
            currency: 'EUR',
            cancellationPolicy: 'moderate',
            holdExpiresAt: iso(now + DAY_MS),
            requestedAt: iso(),
          },
          tenantId,
          'tenant',
        );
        add(stream, requested);
        notify(landlordId, 'booking_requested', { bookingId, roomId }, requested.eventId, rnd() < 0.7);
      },
      () => {
        add(
          conversation,
          event(
            'ConversationStarted',
            { conversationId, participantIds, roomId, bookingId, startedBy: tenantId, startedAt: iso() },
            tenantId,
            'tenant',
          ),
        );
        const messageIds: string[] = [];
        for (let m = 0; m < 3; m++) {
          const messageId = randomUUID();
          messageIds.push(messageId);
          const [senderId, recipientId] = m % 2 === 0 ? [tenantId, landlordId] : [landlordId, tenantId];
          add(
            conversation,
            event(
              'MessageSent',
              {
                conversationId,
                messageId,
                senderId,
                recipientId,
                body: `Hello, message ${m} about the booking ${n}.`,
                photoIds: [],
                sentAt: iso(),
              },
              senderId,
              m % 2 === 0 ? 'tenant' : 'landlord',
            ),
          );
        }
        add(
          conversation,
          event(
            'MessagesDelivered',
            {
              conversationId,
              recipientId: landlordId,
              senderId: tenantId,
              messageIds: [messageIds[0]!, messageIds[2]!],
              deliveredAt: iso(),
            },
            landlordId,
            'landlord',
          ),
        );
        add(
          conversation,
          event(
            'MessagesRead',
            { conversationId, readerId: landlordId, senderId: tenantId, upToMessageId: messageIds[2]!, readAt: iso() },
            landlordId,
            'landlord',
          ),
        );
        notify(landlordId, 'message_received', { conversationId }, messageIds[0]!, true);
      },
    ];
    if (outcome < 0.1) {
      steps.push(() => {
        add(
          stream,
          event(
            'BookingRejected',
            { bookingId, by: landlordId, reason: 'Not available after all', rejectedAt: iso() },
            landlordId,
            'landlord',
          ),
        );
        add(calendar, event('NightsReleased', { bookingId, nights, releasedAt: iso() }, landlordId, 'landlord'));
        notify(tenantId, 'booking_rejected', { bookingId }, bookingId, false);
      });
      return steps;
    }
    if (outcome < 0.18) {
      steps.push(() => {
        add(stream, event('BookingExpired', { bookingId, expiredAt: iso() }, 'system', 'system'));
        add(calendar, event('NightsReleased', { bookingId, nights, releasedAt: iso() }, 'system', 'system'));
        notify(tenantId, 'booking_expired', { bookingId }, bookingId, false);
      });
      return steps;
    }
    steps.push(() => {
      const confirmed = event(
        'BookingConfirmed',
        { bookingId, by: landlordId, confirmedAt: iso() },
        landlordId,
        'landlord',
      );
      add(stream, confirmed);
      add(calendar, event('HoldConfirmed', { bookingId, nights, confirmedAt: iso() }, landlordId, 'landlord'));
      add(
        payment,
        event(
          'PaymentRecordOpened',
          {
            bookingId,
            landlordId,
            tenantId,
            amountDue: total,
            currency: 'EUR',
            method: 'cash',
            dueAt: `${checkIn}T00:00:00.000Z`,
            openedAt: iso(),
          },
          'system',
          'system',
        ),
      );
      notify(tenantId, 'booking_confirmed', { bookingId }, confirmed.eventId, rnd() < 0.6);
    });
    if (outcome < 0.25) {
      steps.push(() => {
        add(
          stream,
          event(
            'BookingCancelled',
            { bookingId, by: tenantId, reason: 'Exam moved', feeDue: 0, currency: 'EUR', cancelledAt: iso() },
            tenantId,
            'tenant',
          ),
        );
        add(calendar, event('NightsReleased', { bookingId, nights, releasedAt: iso() }, tenantId, 'tenant'));
        add(
          payment,
          event(
            'PaymentAmountAdjusted',
            { bookingId, amountDue: 0, reason: 'booking_cancelled', balanceDue: 0, refundDue: 0, adjustedAt: iso() },
            'system',
            'system',
          ),
        );
      });
      return steps;
    }
    if (outcome < 0.28) {
      steps.push(() => {
        add(
          stream,
          event(
            'BookingNoShow',
            { bookingId, by: landlordId, reason: null, recordedAt: iso() },
            landlordId,
            'landlord',
          ),
        );
        add(
          payment,
          event(
            'PaymentOverdue',
            { bookingId, balanceDue: total, dueAt: `${checkIn}T00:00:00.000Z`, detectedAt: iso() },
            'system',
            'system',
          ),
        );
      });
      return steps;
    }
    steps.push(
      () => {
        add(stream, event('GuestCheckedIn', { bookingId, by: landlordId, checkedInAt: iso() }, landlordId, 'landlord'));
        add(
          payment,
          event(
            'CashPaymentReceived',
            {
              bookingId,
              paymentId: randomUUID(),
              amount: total,
              method: 'cash',
              recordedBy: landlordId,
              paidAt: iso(),
              balanceDue: 0,
            },
            landlordId,
            'landlord',
          ),
        );
      },
      () => add(stream, event('BookingCompleted', { bookingId, completedAt: iso() }, 'system', 'system')),
    );
    if (outcome < 0.6) return steps;
    const reviews = `BookingReviews-${bookingId}`;
    const tenantReview = randomUUID();
    const landlordReview = randomUUID();
    const windowClosesAt = iso(now + 20 * DAY_MS);
    const rating = 3 + Math.floor(rnd() * 3);
    steps.push(
      () => {
        add(
          reviews,
          event(
            'ReviewSubmitted',
            {
              bookingId,
              reviewId: tenantReview,
              roomId,
              side: 'tenant',
              authorId: tenantId,
              subjectId: landlordId,
              tenantId,
              landlordId,
              rating,
              comment: 'Quiet and close to the hall.',
              submittedAt: iso(),
              windowClosesAt,
            },
            tenantId,
            'tenant',
          ),
        );
      },
      () => {
        add(
          reviews,
          event(
            'ReviewSubmitted',
            {
              bookingId,
              reviewId: landlordReview,
              roomId,
              side: 'landlord',
              authorId: landlordId,
              subjectId: tenantId,
              tenantId,
              landlordId,
              rating: 5,
              comment: 'A perfect guest.',
              submittedAt: iso(),
              windowClosesAt,
            },
            landlordId,
            'landlord',
          ),
          event(
            'ReviewPublished',
            {
              bookingId,
              roomId,
              reviewId: tenantReview,
              side: 'tenant',
              authorId: tenantId,
              subjectId: landlordId,
              rating,
              hidden: false,
              reason: 'both_submitted',
              publishedAt: iso(),
            },
            'system',
            'system',
          ),
          event(
            'ReviewPublished',
            {
              bookingId,
              roomId,
              reviewId: landlordReview,
              side: 'landlord',
              authorId: landlordId,
              subjectId: tenantId,
              rating: 5,
              hidden: false,
              reason: 'both_submitted',
              publishedAt: iso(),
            },
            'system',
            'system',
          ),
        );
        notify(landlordId, 'review_received', { bookingId, roomId }, tenantReview, false);
      },
    );
    if (outcome > 0.85) {
      steps.push(() =>
        add(
          reviews,
          event(
            'ReviewResponded',
            {
              bookingId,
              roomId,
              reviewId: tenantReview,
              responseId: randomUUID(),
              authorId: landlordId,
              body: 'Thank you, come back!',
              respondedAt: iso(),
            },
            landlordId,
            'landlord',
          ),
        ),
      );
    }
    return steps;
  };

  const erasures = Math.max(1, Math.round(tenants.length / 500));
  while (active.length > 0 || count < total - erasures) {
    // About 4 events a step still to come for the bookings under way.
    const coming = active.reduce((sum, steps) => sum + steps.length * 4, 0);
    if (count + coming < total - erasures) for (let i = 0; i < perRound; i++) active.push(booking());
    const next: Step[][] = [];
    for (const steps of active) {
      steps.shift()!();
      if (steps.length > 0) next.push(steps);
    }
    active = next;
    yield flush();
  }
  for (const tenantId of tenants.slice(0, erasures)) {
    add(
      `User-${tenantId}`,
      event('PersonalDataErased', { userId: tenantId, erasedBy: admin, erasedAt: iso() }, admin, 'admin'),
    );
  }
  yield flush();
}

/**
 * Appends about `total` events of the history through `store` (the application's, so personal data is sealed as
 * the commands seal it), up to 2,000 appends at once, then destroys the erased subjects' keys as the erasure
 * command does. Returns how many events of each type it appended.
 */
export async function appendPlatformHistory(
  store: Pick<EventStore, 'append'>,
  eraseKeys: (userId: string) => Promise<unknown>,
  total: number,
  startMs: number,
  options: { seed?: number; onProgress?: (appended: number) => void } = {},
): Promise<Map<string, number>> {
  const mix = new Map<string, number>();
  const erased: string[] = [];
  let appended = 0;
  for (const round of eventRounds(total, startMs, undefined, options.seed)) {
    for (let i = 0; i < round.length; i += 2000) {
      await Promise.all(
        round.slice(i, i + 2000).map((a) => store.append(a.streamId, a.events, { expectedRevision: 'any' })),
      );
    }
    for (const a of round) {
      for (const e of a.events) {
        mix.set(e.type, (mix.get(e.type) ?? 0) + 1);
        if (e.type === 'PersonalDataErased') erased.push((e.data as { userId: string }).userId);
      }
      appended += a.events.length;
    }
    options.onProgress?.(appended);
  }
  for (const userId of erased) await eraseKeys(userId);
  return mix;
}
