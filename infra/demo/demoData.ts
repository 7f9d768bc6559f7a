/**
 * The demo data set behind `npm run demo`: loads a reproducible demo data set through the real command path (so every row of
 * every read model comes from events). Same seed, same data; running it twice changes nothing.
 *
 * What exists so far: a university per town with its exam venues and an exam session, rooms (drafts,
 * published, some with blocked dates) around those venues, and bookings on them (pending and confirmed).
 */
import { randomInt } from 'node:crypto';
import { v5 as uuidv5 } from 'uuid';
import { changeBookingStatus, requestBooking } from '../../commands/bookings.js';
import { holderOf, type IdentityDeps, registerUser } from '../../commands/identity.js';
import { runRoomCommand } from '../../commands/rooms.js';
import { runUniversityCommand } from '../../commands/universities.js';
import { bookingReference } from '../../domain/bookings/reference.js';
import type { Amenity } from '../../domain/rooms/amenities.js';
import { CancellationPolicies } from '../../domain/rooms/events.js';
import type { CommandContext } from '../../domain/shared/decider.js';
import { DomainError } from '../../domain/shared/errors.js';
import { dateOfDay, dayNumber } from '../../domain/shared/values.js';
import { hashPassword } from '../auth/passwords.js';
import { loadConfig } from '../config/config.js';
import { prepareDatabase } from '../db/prepare.js';
import { createLogger, createRuntime } from '../runtime.js';

const NAMESPACE = '3c0d3b1e-7d59-4f1b-a5b4-1f0a6a2d9c70';

/** mulberry32: a small seeded generator, so the demo (and the benchmarks' data) is the same everywhere. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const demoTowns = [
  {
    city: 'Bologna',
    country: 'IT',
    currency: 'EUR',
    venues: [
      { name: 'Aula Magna Santa Lucia', lat: 44.4906, lng: 11.3502 },
      { name: 'Fiera District Hall', lat: 44.5204, lng: 11.3669 },
    ],
  },
  {
    city: 'Padova',
    country: 'IT',
    currency: 'EUR',
    venues: [
      { name: 'Palazzo del Bo', lat: 45.4064, lng: 11.8768 },
      { name: 'Padova Fiere', lat: 45.4172, lng: 11.8911 },
    ],
  },
  {
    city: 'Coimbra',
    country: 'PT',
    currency: 'EUR',
    venues: [{ name: 'Paço das Escolas', lat: 40.2077, lng: -8.4264 }],
  },
  {
    city: 'Leuven',
    country: 'BE',
    currency: 'EUR',
    venues: [
      { name: 'Ladeuzeplein Auditorium', lat: 50.8785, lng: 4.7069 },
      { name: 'Campus Arenberg', lat: 50.8636, lng: 4.6789 },
    ],
  },
  {
    city: 'Kraków',
    country: 'PL',
    currency: 'PLN',
    venues: [
      { name: 'Collegium Novum', lat: 50.0614, lng: 19.9335 },
      { name: 'AGH Main Building', lat: 50.0656, lng: 19.9189 },
    ],
  },
  {
    city: 'Heidelberg',
    country: 'DE',
    currency: 'EUR',
    venues: [{ name: 'Neue Universität', lat: 49.4106, lng: 8.7065 }],
  },
] as const;

const streets = [
  'Via Zamboni',
  'Rua da Sofia',
  'Naamsestraat',
  'ulica Floriańska',
  'Hauptstraße',
  'Via San Francesco',
  'Bondgenotenlaan',
];
const adjectives = ['Quiet', 'Bright', 'Cosy', 'Spacious', 'Modern', 'Sunny', 'Calm', 'Tidy'];
const kinds = ['single room', 'studio', 'double room', 'room with desk', 'attic room'];
const amenityPool: Amenity[] = [
  'wifi',
  'desk',
  'quiet_hours',
  'kitchen',
  'private_bathroom',
  'washing_machine',
  'heating',
  'linens',
  'desk_lamp',
  'blackout_curtains',
  'near_public_transport',
  'coffee_machine',
];

export interface DemoOptions {
  rooms: number;
  bookings: number;
  seed: number;
  today: string;
}

/** A university per town, its venues, and an exam session a month from today at all of them. */
async function seedUniversities(
  runtime: Awaited<ReturnType<typeof createRuntime>>,
  options: DemoOptions,
  today: number,
): Promise<void> {
  const adminId = uuidv5('demo-admin', NAMESPACE);
  const now = new Date().toISOString();
  const context = { actorId: adminId, actorRole: 'admin' as const, now, actorUniversityId: null };
  for (const town of demoTowns) {
    const universityId = uuidv5(`university-${town.city}`, NAMESPACE);
    const envelope = (step: string) => ({
      now,
      idSeed: `demo|${universityId}|${step}`,
      newId: () => uuidv5(`${universityId}-${step}`, NAMESPACE),
      metadata: {
        correlationId: `demo-${options.seed}`,
        causationId: null,
        actorId: adminId,
        actorRole: 'admin',
        requestId: null,
      },
    });
    const [first] = town.venues;
    await runUniversityCommand(
      runtime.eventStore,
      {
        type: 'RegisterUniversity',
        data: {
          universityId,
          name: `University of ${town.city}`,
          city: town.city,
          country: town.country,
          location: { lat: first.lat, lng: first.lng },
        },
        context,
      },
      envelope('register'),
    );
    const venueIds = town.venues.map((venue) => demoVenueId(town.city, venue.name));
    for (const [i, venue] of town.venues.entries()) {
      await runUniversityCommand(
        runtime.eventStore,
        {
          type: 'AddExamVenue',
          data: {
            universityId,
            venueId: venueIds[i]!,
            name: venue.name,
            address: `${venue.name}, ${town.city}`,
            location: { lat: venue.lat, lng: venue.lng },
            capacity: 400,
          },
          context,
        },
        envelope(`venue-${i}`),
      );
    }
    await runUniversityCommand(
      runtime.eventStore,
      {
        type: 'ScheduleExamSession',
        data: {
          universityId,
          sessionId: uuidv5(`session-${town.city}`, NAMESPACE),
          name: 'Admission exams',
          startsOn: dateOfDay(today + 30),
          endsOn: dateOfDay(today + 33),
          venueIds,
        },
        context,
      },
      envelope('session'),
    );
  }
}

/** The demo tenants sign in as `tenant-<n>@demo.roomline.test` (n from 0) with this password. */
export const DEMO_TENANT_PASSWORD = 'exam week near the venue';

/** Accounts for the demo tenants (so their confirmation mails have an address): registered once. */
async function seedTenantAccounts(
  runtime: Awaited<ReturnType<typeof createRuntime>>,
  tenants: readonly string[],
  now: string,
): Promise<void> {
  const identity: IdentityDeps = { store: runtime.eventStore, reservationKey: runtime.identity.reservationKey };
  for (const [i, userId] of tenants.entries()) {
    const email = `tenant-${i}@demo.roomline.test`;
    if (await holderOf(identity, 'UserEmail', email)) continue;
    await registerUser(
      identity,
      {
        type: 'RegisterUser',
        data: {
          userId,
          role: 'tenant',
          email,
          phone: `+3930000${String(i).padStart(5, '0')}`,
          fullName: `Demo Tenant ${i}`,
        },
        context: { actorId: userId, actorRole: 'tenant', now },
      },
      {
        now,
        idSeed: `demo|${userId}|register`,
        newId: () => uuidv5(`${userId}-register-${Math.random()}`, NAMESPACE),
        metadata: { correlationId: 'demo', causationId: null, actorId: userId, actorRole: 'tenant', requestId: null },
      },
      async () => runtime.identity.credentials.set(userId, await hashPassword(DEMO_TENANT_PASSWORD)),
    );
  }
}

/** The id of a demo venue: the same on every run and machine. */
export const demoVenueId = (city: string, venue: string) => uuidv5(`venue-${city}-${venue}`, NAMESPACE);

export async function seedDemo(options: DemoOptions): Promise<{ rooms: number; bookings: number }> {
  const config = loadConfig();
  await prepareDatabase(config.DATABASE_URL);
  const runtime = await createRuntime(config, createLogger({ LOG_LEVEL: 'warn' }));
  const next = seededRandom(options.seed);
  const landlords = Array.from({ length: Math.max(10, Math.floor(options.rooms / 12)) }, (_, i) =>
    uuidv5(`landlord-${i}`, NAMESPACE),
  );
  const today = dayNumber(options.today);
  await seedUniversities(runtime, options, today);

  const plans = Array.from({ length: options.rooms }, (_, i) => {
    const town = demoTowns[i % demoTowns.length]!;
    const venue = town.venues[Math.floor(next() * town.venues.length)]!;
    const distanceKm = 0.2 + next() ** 1.5 * 8;
    const bearing = next() * 2 * Math.PI;
    const lat = venue.lat + (distanceKm / 111.32) * Math.cos(bearing);
    const lng = venue.lng + (distanceKm / (111.32 * Math.cos((venue.lat * Math.PI) / 180))) * Math.sin(bearing);
    const amenities = amenityPool.filter(() => next() < 0.45);
    if (amenities.length === 0) amenities.push('wifi');
    const blockedStart = today + 7 + Math.floor(next() * 60);
    return {
      roomId: uuidv5(`room-${options.seed}-${i}`, NAMESPACE),
      landlordId: landlords[Math.floor(next() * landlords.length)]!,
      title: `${adjectives[Math.floor(next() * adjectives.length)]} ${kinds[Math.floor(next() * kinds.length)]} near ${venue.name}`,
      description: `A ${Math.round(distanceKm * 10) / 10} km walk or ride from ${venue.name} in ${town.city}. Good light, a proper desk and a calm house during exam weeks.`,
      address: `${streets[Math.floor(next() * streets.length)]} ${1 + Math.floor(next() * 180)}, ${town.city}`,
      location: { lat: Math.round(lat * 1e6) / 1e6, lng: Math.round(lng * 1e6) / 1e6 },
      pricePerNight: (town.currency === 'PLN' ? 9000 : 2500) + Math.floor(next() * 60) * 100,
      currency: town.currency,
      maxOccupants: next() < 0.8 ? 1 : 2,
      amenities,
      cancellationPolicy: CancellationPolicies[Math.floor(next() * CancellationPolicies.length)]!,
      publish: next() < 0.85,
      blocked:
        next() < 0.3
          ? [{ from: dateOfDay(blockedStart), to: dateOfDay(blockedStart + 2 + Math.floor(next() * 5)) }]
          : [],
    };
  });

  const now = new Date().toISOString();
  let index = 0;
  const worker = async () => {
    while (index < plans.length) {
      const plan = plans[index++]!;
      const context: CommandContext = { actorId: plan.landlordId, actorRole: 'landlord', now };
      const envelope = (step: string) => ({
        now,
        idSeed: `demo|${plan.roomId}|${step}`,
        newId: () => uuidv5(`${plan.roomId}-${step}`, NAMESPACE),
        metadata: {
          correlationId: `demo-${options.seed}`,
          causationId: null,
          actorId: plan.landlordId,
          actorRole: 'landlord',
          requestId: null,
        },
      });
      // Seeded event ids: a second run finds each command already applied and appends nothing.
      const { roomId, landlordId: _landlord, publish, blocked, ...details } = plan;
      await runRoomCommand(
        runtime.eventStore,
        { type: 'CreateRoom', data: { roomId, ...details }, context },
        envelope('create'),
      );
      if (blocked.length > 0) {
        await runRoomCommand(
          runtime.eventStore,
          { type: 'SetBlockedDates', data: { roomId, blocked }, context },
          envelope('block'),
        );
      }
      if (publish)
        await runRoomCommand(
          runtime.eventStore,
          { type: 'PublishRoom', data: { roomId }, context },
          envelope('publish'),
        );
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));

  // Some bookings on published rooms: requested, a part confirmed by their landlords.
  const published = plans.filter((plan) => plan.publish);
  const tenants = Array.from({ length: 60 }, (_, i) => uuidv5(`tenant-${i}`, NAMESPACE));
  await seedTenantAccounts(runtime, tenants, now);
  const bookingPlans = Array.from({ length: Math.min(options.bookings, published.length) }, (_, i) => {
    const plan = published[Math.floor(next() * published.length)]!;
    const start = today + 14 + Math.floor(next() * 90);
    return {
      bookingId: uuidv5(`booking-${options.seed}-${i}`, NAMESPACE),
      plan,
      tenantId: tenants[i % tenants.length]!,
      checkIn: dateOfDay(start),
      checkOut: dateOfDay(start + 1 + Math.floor(next() * 4)),
      confirm: next() < 0.6,
    };
  });
  const bookingDeps = {
    store: runtime.eventStore,
    snapshots: runtime.snapshots,
    // References need not be reproducible: they come from the system random source, as in the API.
    newReference: () => bookingReference(Array.from({ length: 6 }, () => randomInt(0, 1_000_000) / 1_000_000)),
  };
  let bookings = 0;
  for (const booking of bookingPlans) {
    const envelope = (step: string) => ({
      now,
      idSeed: `demo|${booking.bookingId}|${step}`,
      newId: () => uuidv5(`${booking.bookingId}-${step}-${Math.random()}`, NAMESPACE),
      metadata: {
        correlationId: `demo-${options.seed}`,
        causationId: null,
        actorId: booking.tenantId,
        actorRole: 'tenant',
        requestId: null,
      },
    });
    try {
      const tenant: CommandContext = { actorId: booking.tenantId, actorRole: 'tenant', now };
      const result = await requestBooking(
        bookingDeps,
        {
          bookingId: booking.bookingId,
          roomId: booking.plan.roomId,
          checkIn: booking.checkIn,
          checkOut: booking.checkOut,
          guests: 1,
          holdMinutes: 7 * 24 * 60,
        },
        tenant,
        envelope('request'),
      );
      if (booking.confirm && result.state.status === 'pending') {
        const landlord: CommandContext = { actorId: booking.plan.landlordId, actorRole: 'landlord', now };
        await changeBookingStatus(
          bookingDeps,
          { type: 'ConfirmBooking', data: { bookingId: booking.bookingId }, context: landlord },
          envelope('confirm'),
        );
      }
      bookings++;
    } catch (error) {
      // Two demo stays that overlap on one room: the second is refused, as it would be for real.
      if (!(error instanceof DomainError && error.code === 'ROOM_UNAVAILABLE')) throw error;
    }
  }
  await runtime.close();
  return { rooms: plans.length, bookings };
}
