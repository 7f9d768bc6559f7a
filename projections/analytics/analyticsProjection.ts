import { type BookingRequested, BookingStatusAfter } from '../../domain/bookings/events.js';
import type { PersonalDataErased } from '../../domain/identity/events.js';
import type { MessageSent } from '../../domain/messaging/events.js';
import type { CashPaymentReceived } from '../../domain/payments/events.js';
import type { ReviewHidden, ReviewPublished, ReviewResponded } from '../../domain/reviews/events.js';
import { LruCache } from '../../domain/shared/lruCache.js';
import type {
  CandidateAssigned,
  ExamSessionScheduled,
  UniversityRegistered,
} from '../../domain/universities/events.js';
import { type AnalyticsStore, dateTimeText } from '../../infra/analytics/analyticsStore.js';
import { erasePerson } from '../../infra/analytics/erasure.js';
import {
  type AnalyticsRows,
  type AnalyticsTable,
  type BookingRow,
  copyOf,
  type EventRow,
  type MessageRow,
  type PaymentRow,
  type ReviewRow,
} from '../../infra/analytics/schema.js';
import type { EventStore, RecordedEvent } from '../../infra/eventStore/eventStore.js';
import type { PgProjection } from '../projection.js';

export const analyticsProjectionName = 'analytics';

/**
 * Events per batch while catching up. Every insert makes a part per table, which the engine sorts, indexes and later
 * merges whatever its size: applied one after another, bench:analytics (200,000 events into the loaded warehouse)
 * ingested 42,679 events/s in batches of 20,000 against 33,536 in batches of 5,000. Since two batches overlap (one is
 * built while the engine writes the other, `overlapBatches`), the two sizes come close (55,191 against 58,787 in one
 * run, 52,254 against 61,570 in another): 20,000 is kept, for four times fewer parts to merge. A batch of 20,000
 * events is some tens of MB while it is built; a live batch is a few events.
 */
export const ANALYTICS_BATCH_SIZE = 20_000;
/** How long a live batch waits for more events before it is written (see PgProjection.lingerMs). */
export const ANALYTICS_LINGER_MS = 1000;

/** The tables this projection writes; `searches` is written by the search log and survives a rebuild. */
export const PROJECTED_TABLES = [
  'events',
  'bookings',
  'payments',
  'messages',
  'reviews',
] as const satisfies readonly AnalyticsTable[];

/**
 * What this process keeps of the rows it wrote, so that a later event of the same booking, review or room needs no
 * warehouse read: the booking's terms and parties (a status change copies them), a review, a room's landlord. Only
 * what never changes afterwards is used from them; their people go through the erased set like every other id.
 */
const KNOWN_BOOKINGS = 200_000;
const KNOWN_REVIEWS = 50_000;
const KNOWN_ROOMS = 100_000;
const KNOWN_CONVERSATIONS = 100_000;

interface Known {
  bookings: LruCache<string, BookingRow>;
  reviews: LruCache<string, ReviewRow>;
  roomLandlords: LruCache<string, string>;
  conversationRooms: LruCache<string, string>;
}

export interface AnalyticsProjectionDeps {
  store: AnalyticsStore;
  /** Read for what an event does not carry: a tenant's exam assignments, a university's sessions and city. */
  eventStore: EventStore;
  /** Writes (and reads back) the copies of its tables a blue/green rebuild builds (`copyOf`), not the live ones. */
  intoCopies?: boolean;
}

/** The warehouse table a projection instance writes for one of its tables: the live one, or its rebuild's copy. */
const tableFor = (deps: AnalyticsProjectionDeps) => (table: AnalyticsTable) =>
  deps.intoCopies && (PROJECTED_TABLES as readonly string[]).includes(table) ? copyOf(table) : table;

const DAY_MS = 86_400_000;
const dayOf = (iso: string) => Math.floor(Date.parse(iso) / DAY_MS);
const dateDays = (date: string) => Math.floor(Date.parse(`${date}T00:00:00Z`) / DAY_MS);

type Data = Record<string, unknown>;
const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const ISO_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
/**
 * An ISO time as the warehouse's UTC text (`YYYY-MM-DD hh:mm:ss.sss`): the app writes `toISOString()`, which only
 * needs its `T` and `Z` cut; anything else goes through a Date. Text rather than a Date, so the insert writes the
 * row as it is instead of copying it to convert its times.
 */
const timeText = (iso: string): string =>
  ISO_UTC.test(iso) ? `${iso.slice(0, 10)} ${iso.slice(11, 23)}` : dateTimeText(new Date(iso));
/** A position as a plain number while it is one exactly (every position for a long while). */
const positionValue = (position: bigint): number | bigint =>
  position <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(position) : position;

interface Venue {
  venueId: string;
  city: string;
}

/**
 * The warehouse projection (ARCHITECTURE.md §4): every event into `events` (type, stream, when it happened, the
 * actor's role and its key dimensions), and bookings, cash payments, messages and room reviews into their tables,
 * counted and measured, never their text. One insert per table per batch, each with a deduplication token made of
 * the projection's version, the table and the batch's first and last positions; the tables' ReplacingMergeTree
 * keys make any other replay count once. A row's version is its stream revision, so the latest state wins.
 *
 * State the events do not carry (a booking's terms when its status changes, a room's landlord when it is
 * published) is read back from the warehouse, where earlier batches put it before the checkpoint moved. A
 * booking's exam venue is the venue of the tenant's exam assignment whose session overlaps the stay, read from the
 * event store as it stood at the booking's position.
 *
 * Erasure: the ids of everyone the identity context erased (PersonalDataErased, read from the event store at the
 * first batch and followed after) are never written; a batch that contains an erasure erases that person's ids
 * from every table once its rows are in, so a rebuild, which writes the person's earlier rows first, ends without
 * them as well.
 */
const ANALYTICS_VERSION = 1;

/**
 * The analytics projection as a process without the warehouse knows it (an API process on chDB, whose files one
 * process owns): by name, version and filter, for its status; it applies nothing.
 */
export function analyticsProjectionElsewhere(reason: string): PgProjection {
  const refuse = async () => {
    throw new Error(`the analytics projection does not run in this process: ${reason}`);
  };
  return {
    name: analyticsProjectionName,
    version: ANALYTICS_VERSION,
    sideEffectsOnly: true,
    filter: {},
    elsewhere: reason,
    apply: refuse,
    reset: refuse,
    // It rebuilds blue/green where it runs: support may ask for that from any process.
    copies: { create: refuse, swapIn: refuse, drop: refuse },
  };
}

export function analyticsProjection(deps: AnalyticsProjectionDeps): PgProjection {
  const tableOf = tableFor(deps);
  let erased: Set<string> | undefined;
  const version = ANALYTICS_VERSION;
  const known: Known = {
    bookings: new LruCache(KNOWN_BOOKINGS),
    reviews: new LruCache(KNOWN_REVIEWS),
    roomLandlords: new LruCache(KNOWN_ROOMS),
    conversationRooms: new LruCache(KNOWN_CONVERSATIONS),
  };
  /** The batch applied last: built and kept (the next one builds after it), and its rows in or not. */
  let built: Promise<void> = Promise.resolve();
  let written: Promise<boolean> = Promise.resolve(true);
  const forget = () => {
    known.bookings.clear();
    known.reviews.clear();
    known.roomLandlords.clear();
    known.conversationRooms.clear();
  };

  async function loadErased(): Promise<Set<string>> {
    const ids = new Set<string>();
    for await (const event of deps.eventStore.readAll({
      filter: { eventTypes: ['PersonalDataErased'], streamPrefixes: ['User-'] },
    })) {
      const userId = text((event.data as Data).userId);
      if (userId) ids.add(userId);
    }
    return ids;
  }

  return {
    name: analyticsProjectionName,
    version,
    sideEffectsOnly: true,
    batchSize: ANALYTICS_BATCH_SIZE,
    // Live, about one insert per table a second (as the search log), not one per append: ClickHouse wants few parts.
    lingerMs: ANALYTICS_LINGER_MS,
    overlapBatches: true,
    filter: {},

    async apply(_em, events) {
      // The runner overlaps two batches (overlapBatches): this one is built once the one before it is built and
      // kept, so it finds that batch's rows here, and its inserts go to the engine while the next one is built.
      const builtBefore = built;
      const writtenBefore = written;
      let builtNow!: () => void;
      let writtenNow!: (ok: boolean) => void;
      built = new Promise((resolve) => {
        builtNow = resolve;
      });
      written = new Promise((resolve) => {
        writtenNow = resolve;
      });
      let ok = false;
      try {
        let rows: ReturnType<Batch['rows']>;
        const newlyErased: string[] = [];
        try {
          await builtBefore;
          erased ??= await loadErased();
          const erasedIds = erased;
          const batch = new Batch(deps, erasedIds, known, writtenBefore);
          await batch.prefetch(events);
          for (const event of events) {
            if (event.type === 'PersonalDataErased') {
              const userId = (event.data as PersonalDataErased['data']).userId;
              erasedIds.add(userId);
              newlyErased.push(userId);
            }
            batch.add(event);
          }
          rows = batch.rows();
          // Kept before its inserts are in, for the batch built next: these rows follow from the events alone. A
          // batch whose inserts fail forgets everything kept, and the runner applies it again.
          batch.keep();
        } finally {
          builtNow();
        }
        const first = events[0]!.position;
        const last = events.at(-1)!.position;
        const token = (table: AnalyticsTable) => `analytics:v${version}:${table}:${first}-${last}`;
        // All sent at once: the engine takes them one after another while this process encodes the next. Every one
        // has settled before apply returns, so the checkpoint moves only once all are in, and a batch that failed
        // half way is applied again after its inserts are over: the tokens drop what went in the first time.
        const inserts = await Promise.allSettled(
          PROJECTED_TABLES.map((table) => {
            const tableRows = rows[table] as AnalyticsRows[typeof table][];
            return tableRows.length > 0
              ? deps.store.insert(table, tableRows, { dedupToken: token(table), into: tableOf(table) })
              : Promise.resolve();
          }),
        );
        const failed = inserts.find((insert) => insert.status === 'rejected');
        if (failed) {
          forget();
          throw failed.reason;
        }
        if (newlyErased.length > 0) {
          // The batch before this one was built before the erasure was known: its rows go in first.
          await writtenBefore;
          for (const userId of newlyErased) await erasePerson(deps.store, userId, tableOf);
          // What was kept may name them: start again from the warehouse, which no longer does.
          forget();
        }
        ok = true;
      } finally {
        writtenNow(ok);
      }
    },

    // Blue/green: a new version builds in copies of the tables while these serve, then each pair is exchanged.
    ...(deps.intoCopies
      ? {}
      : {
          copies: {
            async create() {
              for (const table of PROJECTED_TABLES) {
                await deps.store.command(`DROP TABLE IF EXISTS ${copyOf(table)}`);
                await deps.store.command(`CREATE TABLE ${copyOf(table)} AS ${table}`);
              }
              return analyticsProjection({ ...deps, intoCopies: true });
            },
            async swapIn() {
              await deps.store.exchangeTables(PROJECTED_TABLES.map((table) => [table, copyOf(table)] as const));
              // What this instance kept describes the retired build's rows: read the new ones from the warehouse.
              forget();
              erased = undefined;
            },
            async drop() {
              for (const table of PROJECTED_TABLES) await deps.store.command(`DROP TABLE IF EXISTS ${copyOf(table)}`);
            },
          },
        }),

    async reset() {
      for (const table of PROJECTED_TABLES) await deps.store.command(`TRUNCATE TABLE IF EXISTS ${tableOf(table)}`);
      erased = undefined;
      forget();
    },
  };
}

/** The rows of one batch, and the state it reads to build them. */
class Batch {
  private readonly bookings = new Map<string, BookingRow>();
  private readonly reviews = new Map<string, ReviewRow>();
  private readonly roomLandlords = new Map<string, string>();
  private readonly conversationRooms = new Map<string, string>();
  private readonly universities = new Map<string, Promise<University>>();
  /** The exam venue of each booking request of the batch, by its event id (read in `prefetch`). */
  private readonly venues = new Map<string, Venue | undefined>();
  private readonly out = {
    events: [] as EventRow[],
    bookings: [] as BookingRow[],
    payments: [] as PaymentRow[],
    messages: [] as MessageRow[],
    reviews: [] as ReviewRow[],
  };

  private readonly tableOf: (table: AnalyticsTable) => string;

  constructor(
    private readonly deps: AnalyticsProjectionDeps,
    private readonly erased: ReadonlySet<string>,
    private readonly known: Known,
    /** Whether the batch before this one got its rows in; a read of the warehouse waits for it. */
    private readonly writtenBefore: Promise<boolean> = Promise.resolve(true),
  ) {
    this.tableOf = tableFor(deps);
  }

  /** What this batch wrote, kept for the batches after it. */
  keep(): void {
    for (const [id, row] of this.bookings) this.known.bookings.set(id, row);
    for (const [id, row] of this.reviews) this.known.reviews.set(id, row);
    for (const [id, landlordId] of this.roomLandlords) this.known.roomLandlords.set(id, landlordId);
    for (const [id, room] of this.conversationRooms) this.known.conversationRooms.set(id, room);
  }

  /** The ids not kept from an earlier batch, after taking those that are into `into`. */
  private unknown<V>(ids: Iterable<string>, kept: LruCache<string, V>, into: Map<string, V>): string[] {
    const missing: string[] = [];
    for (const id of ids) {
      const value = kept.get(id);
      if (value === undefined) missing.push(id);
      else into.set(id, value);
    }
    return missing;
  }

  private person(id: string | undefined): string {
    return id === undefined || this.erased.has(id) ? '' : id;
  }

  /**
   * The warehouse, once the batch before this one is in (it may hold what this one reads); when that batch failed,
   * this one fails too: what it would read is not there, and the runner applies both again.
   */
  private async warehouse<T extends object>(sql: string, ids: string[]): Promise<T[]> {
    if (!(await this.writtenBefore))
      throw new Error('the batch before this one was not written: applied again after it');
    return this.deps.store.query<T>(sql, { ids });
  }

  /** Reads the bookings, reviews and rooms this batch changes but did not create, from the warehouse. */
  async prefetch(events: readonly RecordedEvent[]): Promise<void> {
    const bookingIds = new Set<string>();
    const created = new Set<string>();
    const reviewIds = new Set<string>();
    const published = new Set<string>();
    const roomIds = new Set<string>();
    const createdRooms = new Set<string>();
    const conversationIds = new Set<string>();
    const startedConversations = new Set<string>();
    for (const event of events) {
      const data = dataOf(event);
      if (event.streamId.startsWith('Conversation-')) {
        const conversationId = text(data.conversationId);
        if (event.type === 'ConversationStarted' && conversationId) startedConversations.add(conversationId);
        else if (event.type === 'MessageSent' && conversationId) conversationIds.add(conversationId);
      }
      const bookingId = text(data.bookingId);
      if (event.type === 'BookingRequested' && bookingId) created.add(bookingId);
      else if (bookingId && (event.streamId.startsWith('Booking-') || event.streamId.startsWith('Payment-'))) {
        bookingIds.add(bookingId);
      }
      const reviewId = text(data.reviewId);
      if (event.type === 'ReviewPublished' && reviewId) published.add(reviewId);
      else if (reviewId && (event.type === 'ReviewResponded' || event.type === 'ReviewHidden')) reviewIds.add(reviewId);
      if (event.streamId.startsWith('Room-')) {
        const roomId = text(data.roomId);
        if (event.type === 'RoomCreated' && roomId) {
          createdRooms.add(roomId);
          this.roomLandlords.set(roomId, this.person(text(data.landlordId)));
        } else if (roomId) roomIds.add(roomId);
      }
    }
    // Every booking request's venue at once: the event store reads the streams asked for together in few queries.
    const venues = Promise.all(
      events
        .filter((event) => event.type === 'BookingRequested' && event.streamId.startsWith('Booking-'))
        .map(async (event) => void this.venues.set(event.eventId, await this.venueOf(event))),
    );
    const missingBookings = this.unknown(
      [...bookingIds].filter((id) => !created.has(id)),
      this.known.bookings,
      this.bookings,
    );
    if (missingBookings.length > 0) {
      const rows = await this.warehouse<BookingRow>(
        `SELECT * FROM ${this.tableOf('bookings')} FINAL WHERE booking_id IN {ids:Array(String)}`,
        missingBookings,
      );
      for (const row of rows) this.bookings.set(row.booking_id, row);
    }
    const missingReviews = this.unknown(
      [...reviewIds].filter((id) => !published.has(id)),
      this.known.reviews,
      this.reviews,
    );
    if (missingReviews.length > 0) {
      const rows = await this.warehouse<ReviewRow>(
        `SELECT * FROM ${this.tableOf('reviews')} FINAL WHERE review_id IN {ids:Array(String)}`,
        missingReviews,
      );
      for (const row of rows) this.reviews.set(row.review_id, row);
    }
    const missingRooms = this.unknown(
      [...roomIds].filter((id) => !createdRooms.has(id)),
      this.known.roomLandlords,
      this.roomLandlords,
    );
    if (missingRooms.length > 0) {
      const rows = await this.warehouse<{ room_id: string; landlord_id: string }>(
        `SELECT room_id, any(landlord_id) AS landlord_id FROM ${this.tableOf('events')}
          WHERE type = 'RoomCreated' AND room_id IN {ids:Array(String)} GROUP BY room_id`,
        missingRooms,
      );
      for (const row of rows) this.roomLandlords.set(row.room_id, this.person(row.landlord_id));
    }
    // A message's room is its conversation's, which an earlier batch may have started.
    const missingConversations = this.unknown(
      [...conversationIds].filter((id) => !startedConversations.has(id)),
      this.known.conversationRooms,
      this.conversationRooms,
    );
    if (missingConversations.length > 0) {
      const rows = await this.warehouse<{ stream_id: string; room_id: string }>(
        `SELECT stream_id, any(room_id) AS room_id FROM ${this.tableOf('events')}
          WHERE type = 'ConversationStarted' AND stream_id IN {ids:Array(String)} GROUP BY stream_id`,
        missingConversations.map((id) => `Conversation-${id}`),
      );
      for (const row of rows) this.conversationRooms.set(row.stream_id.slice('Conversation-'.length), row.room_id);
    }
    await venues;
  }

  rows() {
    return this.out;
  }

  add(event: RecordedEvent): void {
    const data = dataOf(event);
    const occurredAt = event.metadata.occurredAt || event.recordedAt;
    const row: EventRow = {
      event_id: event.eventId,
      type: event.type,
      stream_id: this.streamOf(event.streamId),
      position: positionValue(event.position),
      recorded_at: timeText(occurredAt),
      actor_role: event.metadata.actorRole ?? '',
      room_id: text(data.roomId) ?? '',
      landlord_id: this.person(text(data.landlordId)),
      tenant_id: this.person(text(data.tenantId)),
      booking_id: text(data.bookingId) ?? '',
      venue_id: text(data.venueId) ?? '',
      city: text(data.city) ?? '',
    };
    if (event.streamId.startsWith('Booking-')) this.booking(event, row);
    else if (event.streamId.startsWith('Payment-')) this.payment(event, row);
    else if (event.streamId.startsWith('Room-')) {
      row.landlord_id ||= this.roomLandlords.get(row.room_id ?? '') ?? '';
    } else if (event.streamId.startsWith('User-') && event.type === 'UserRegistered') {
      const role = text(data.role);
      const userId = this.person(text(data.userId));
      if (role === 'tenant') row.tenant_id = userId;
      if (role === 'landlord') row.landlord_id = userId;
    } else if (event.streamId.startsWith('Conversation-')) this.message(event, row);
    else if (event.type === 'ReviewPublished' || event.type === 'ReviewResponded' || event.type === 'ReviewHidden') {
      this.review(event, row);
    }
    this.out.events.push(row);
    if (event.type === 'BookingRequested') this.placeAtVenue(event, row);
  }

  /** An event of a booking takes the booking's dimensions it does not carry (its people as far as not erased). */
  private fillFromBooking(row: EventRow, booking: BookingRow): void {
    row.room_id ||= booking.room_id;
    row.landlord_id ||= this.person(booking.landlord_id);
    row.tenant_id ||= this.person(booking.tenant_id);
    row.venue_id ||= booking.venue_id ?? '';
    row.city ||= booking.city ?? '';
  }

  private streamOf(streamId: string): string {
    if (streamId.startsWith('User-') && this.erased.has(streamId.slice('User-'.length))) return 'User-';
    return streamId;
  }

  private booking(event: RecordedEvent, row: EventRow): void {
    const status = (BookingStatusAfter as Record<string, string | undefined>)[event.type];
    if (event.type === 'BookingRequested') {
      const data = event.data as BookingRequested['data'];
      const booking: BookingRow = {
        booking_id: data.bookingId,
        room_id: data.roomId,
        landlord_id: this.person(data.landlordId),
        tenant_id: this.person(data.tenantId),
        venue_id: '',
        city: '',
        check_in: data.checkIn,
        check_out: data.checkOut,
        nights: data.nights,
        amount: data.totalAmount,
        currency: data.currency,
        lead_time_days: dateDays(data.checkIn) - dayOf(data.requestedAt),
        status: 'pending',
        status_at: timeText(data.requestedAt),
        version: Number(event.revision),
      };
      this.bookings.set(booking.booking_id, booking);
      this.out.bookings.push(booking);
      return;
    }
    const previous = this.bookings.get(text((event.data as Data).bookingId) ?? '');
    if (!previous) return;
    this.fillFromBooking(row, previous);
    if (!status) return;
    const next: BookingRow = {
      ...previous,
      landlord_id: this.person(previous.landlord_id),
      tenant_id: this.person(previous.tenant_id),
      status,
      status_at: timeText(event.metadata.occurredAt || event.recordedAt),
      version: Number(event.revision),
    };
    this.bookings.set(next.booking_id, next);
    this.out.bookings.push(next);
  }

  private payment(event: RecordedEvent, row: EventRow): void {
    const booking = this.bookings.get(text((event.data as Data).bookingId) ?? '');
    if (booking) this.fillFromBooking(row, booking);
    if (event.type !== 'CashPaymentReceived') return;
    const data = event.data as CashPaymentReceived['data'];
    this.out.payments.push({
      payment_id: data.paymentId,
      booking_id: data.bookingId,
      room_id: booking?.room_id ?? '',
      landlord_id: this.person(booking?.landlord_id),
      tenant_id: this.person(booking?.tenant_id),
      amount: data.amount,
      currency: booking?.currency ?? '',
      status: 'received',
      created_at: timeText(data.paidAt),
      status_at: timeText(data.paidAt),
      version: Number(event.revision),
    });
  }

  private message(event: RecordedEvent, row: EventRow): void {
    const data = event.data as Data;
    const conversationId = text(data.conversationId) ?? '';
    if (event.type === 'ConversationStarted') {
      this.conversationRooms.set(conversationId, text(data.roomId) ?? '');
      row.room_id = text(data.roomId) ?? '';
      return;
    }
    if (event.type !== 'MessageSent') return;
    const sent = data as unknown as MessageSent['data'];
    const role = event.metadata.actorRole ?? '';
    const landlord = role === 'landlord' ? sent.senderId : role === 'tenant' ? sent.recipientId : undefined;
    const tenant = role === 'tenant' ? sent.senderId : role === 'landlord' ? sent.recipientId : undefined;
    row.landlord_id = this.person(landlord);
    row.tenant_id = this.person(tenant);
    row.room_id = this.conversationRooms.get(conversationId) ?? '';
    this.out.messages.push({
      message_id: sent.messageId,
      conversation_id: conversationId,
      sent_at: timeText(sent.sentAt),
      sender_role: role,
      room_id: row.room_id,
      landlord_id: row.landlord_id,
      tenant_id: row.tenant_id,
    });
  }

  /**
   * Room reviews only (the tenant's side), from their publication: a submitted review is blind and never reaches
   * a dashboard before it. A hidden review is written with rating 0, which counts in no distribution.
   */
  private review(event: RecordedEvent, row: EventRow): void {
    if (event.type === 'ReviewPublished') {
      const data = event.data as ReviewPublished['data'];
      if (data.side !== 'tenant') return;
      row.tenant_id = this.person(data.authorId);
      row.landlord_id = this.person(data.subjectId);
      const review: ReviewRow = {
        review_id: data.reviewId,
        room_id: data.roomId,
        landlord_id: row.landlord_id,
        tenant_id: row.tenant_id,
        rating: data.hidden ? 0 : data.rating,
        has_response: false,
        created_at: timeText(data.publishedAt),
        version: Number(event.revision),
      };
      this.reviews.set(review.review_id, review);
      this.out.reviews.push(review);
      return;
    }
    const data = event.data as ReviewResponded['data'] | ReviewHidden['data'];
    const previous = this.reviews.get(data.reviewId);
    if (!previous) return;
    row.tenant_id = this.person(previous.tenant_id);
    row.landlord_id = this.person(previous.landlord_id);
    const next: ReviewRow = {
      ...previous,
      landlord_id: row.landlord_id,
      tenant_id: row.tenant_id,
      version: Number(event.revision),
    };
    if (event.type === 'ReviewResponded') next.has_response = true;
    else next.rating = 0;
    this.reviews.set(next.review_id, next);
    this.out.reviews.push(next);
  }

  /** The venue found for a booking request (prefetch), on its booking and event rows. */
  private placeAtVenue(event: RecordedEvent, row: EventRow): void {
    const found = this.venues.get(event.eventId);
    const booking = this.bookings.get((event.data as BookingRequested['data']).bookingId);
    if (!found || !booking) return;
    booking.venue_id = found.venueId;
    booking.city = found.city;
    row.venue_id = found.venueId;
    row.city = found.city;
  }

  /** The venue of the tenant's exam assignment whose session overlaps the stay, as of the booking's position. */
  private async venueOf(event: RecordedEvent): Promise<Venue | undefined> {
    const data = event.data as BookingRequested['data'];
    const assignments: CandidateAssigned['data'][] = [];
    for await (const recorded of this.deps.eventStore.readStream(`ExamCandidate-${data.tenantId}`)) {
      if (recorded.position > event.position) break;
      if (recorded.type === 'CandidateAssigned') assignments.push(recorded.data as CandidateAssigned['data']);
    }
    let found: Venue | undefined;
    for (const assignment of assignments.reverse()) {
      const university = await this.university(assignment.universityId, event.position);
      const session = university.sessions.get(assignment.sessionId);
      if (session && session.startsOn <= data.checkOut && session.endsOn >= data.checkIn) {
        found = { venueId: assignment.venueId, city: university.city };
        break;
      }
    }
    return found;
  }

  private university(universityId: string, upTo: bigint): Promise<University> {
    const key = `${universityId}@${upTo}`;
    let loading = this.universities.get(key);
    if (!loading) {
      loading = (async () => {
        const university: University = { city: '', sessions: new Map() };
        for await (const recorded of this.deps.eventStore.readStream(`University-${universityId}`)) {
          if (recorded.position > upTo) break;
          if (recorded.type === 'UniversityRegistered') {
            university.city = (recorded.data as UniversityRegistered['data']).city;
          } else if (recorded.type === 'ExamSessionScheduled') {
            const session = recorded.data as ExamSessionScheduled['data'];
            university.sessions.set(session.sessionId, { startsOn: session.startsOn, endsOn: session.endsOn });
          }
        }
        return university;
      })();
      this.universities.set(key, loading);
    }
    return loading;
  }
}

interface University {
  city: string;
  sessions: Map<string, { startsOn: string; endsOn: string }>;
}

function dataOf(event: RecordedEvent): Data {
  return typeof event.data === 'object' && event.data !== null ? (event.data as Data) : {};
}
