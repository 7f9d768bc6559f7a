import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AnalyticsStore, AnalyticsStoreError } from '../../../infra/analytics/analyticsStore.js';
import { erasePerson } from '../../../infra/analytics/erasure.js';
import {
  ANALYTICS_TABLES,
  type BookingRow,
  copyOf,
  type EventRow,
  type MessageRow,
  type PaymentRow,
  type ReviewRow,
  type SearchRow,
} from '../../../infra/analytics/schema.js';

export interface AnalyticsStoreHarness {
  store: AnalyticsStore;
  cleanup(): Promise<void>;
}

/** Opens a store on fresh, empty storage (a data directory, a database of its own). */
export type OpenAnalyticsStore = () => Promise<AnalyticsStoreHarness>;

const id = () => randomUUID();
const day = (offset: number) => new Date(Date.UTC(2031, 0, 1 + offset)).toISOString().slice(0, 10);

function booking(overrides: Partial<BookingRow> = {}): BookingRow {
  return {
    booking_id: id(),
    room_id: id(),
    landlord_id: id(),
    tenant_id: id(),
    venue_id: id(),
    city: 'Bologna',
    check_in: day(10),
    check_out: day(13),
    nights: 3,
    amount: 25_500,
    currency: 'EUR',
    lead_time_days: 9,
    status: 'confirmed',
    status_at: new Date(Date.UTC(2031, 0, 1, 12, 30, 15, 123)),
    version: 2,
    ...overrides,
  };
}

function event(overrides: Partial<EventRow> = {}): EventRow {
  return {
    event_id: id(),
    type: 'BookingConfirmed',
    stream_id: `Booking-${id()}`,
    position: 1,
    recorded_at: new Date(Date.UTC(2031, 0, 1, 12, 0, 0, 0)),
    actor_role: 'landlord',
    ...overrides,
  };
}

/** The same DDL, the same SQL and the same answers, whichever engine runs the store. */
export function analyticsStoreContract(name: string, open: OpenAnalyticsStore): void {
  describe(`analytics store contract: ${name}`, () => {
    let harness: AnalyticsStoreHarness;
    let store: AnalyticsStore;

    beforeAll(async () => {
      harness = await open();
      store = harness.store;
      await store.migrate();
    });
    afterAll(async () => {
      await harness?.cleanup();
    });

    it('migrate is idempotent: a second run keeps the tables and their rows', async () => {
      const row = booking();
      await store.insert('bookings', [row]);
      await store.migrate();
      const tables = await store.query<{ name: string }>(
        'SELECT name FROM system.tables WHERE database = currentDatabase() ORDER BY name',
      );
      expect(tables.map((t) => t.name)).toEqual(expect.arrayContaining([...ANALYTICS_TABLES]));
      const rows = await store.query<{ n: number }>(
        'SELECT count() AS n FROM bookings WHERE booking_id = {id:String}',
        {
          id: row.booking_id,
        },
      );
      expect(rows).toEqual([{ n: 1 }]);
    });

    it('inserts rows and answers queries with typed parameters, numbers as numbers and times as UTC text', async () => {
      const landlord = id();
      const other = id();
      const rows = [
        booking({ landlord_id: landlord, amount: 10_000, nights: 2, check_in: day(1) }),
        booking({ landlord_id: landlord, amount: 30_000, nights: 4, check_in: day(5) }),
        booking({ landlord_id: landlord, amount: 99_999, nights: 1, check_in: day(40) }),
        booking({ landlord_id: other, amount: 70_000, nights: 7, check_in: day(2) }),
      ];
      await store.insert('bookings', rows);
      const figures = await store.query<{ bookings: number; nights: number; revenue: number; first: string }>(
        `SELECT count() AS bookings, sum(nights) AS nights, sum(amount) AS revenue, toString(min(check_in)) AS first
         FROM bookings FINAL
         WHERE landlord_id = {landlord:String} AND check_in >= {from:Date} AND check_in < {to:Date}`,
        { landlord, from: day(0), to: day(30) },
      );
      expect(figures).toEqual([{ bookings: 2, nights: 6, revenue: 40_000, first: day(1) }]);

      const byIds = await store.query<{ booking_id: string; status_at: string; amount: number }>(
        `SELECT booking_id, status_at, amount FROM bookings FINAL
         WHERE booking_id IN {ids:Array(String)} AND status_at >= {since:DateTime64(3, 'UTC')} AND amount > {min:Int64}
         ORDER BY amount`,
        { ids: [rows[0]!.booking_id, rows[3]!.booking_id], since: new Date(Date.UTC(2031, 0, 1)), min: 5_000n },
      );
      expect(byIds).toEqual([
        { booking_id: rows[0]!.booking_id, status_at: '2031-01-01 12:30:15.123', amount: 10_000 },
        { booking_id: rows[3]!.booking_id, status_at: '2031-01-01 12:30:15.123', amount: 70_000 },
      ]);

      const flags = await store.query<{ yes: boolean; n: number; f: number; nothing: string | null }>(
        'SELECT {yes:Bool} AS yes, {n:UInt32} + 1 AS n, {f:Float64} * 2 AS f, {nothing:Nullable(String)} AS nothing',
        { yes: true, n: 41, f: 1.25, nothing: null },
      );
      expect(flags).toEqual([{ yes: true, n: 42, f: 2.5, nothing: null }]);
    });

    const hostile: Array<[string, string]> = [
      ['a statement break', "'); DROP TABLE bookings; --"],
      ['a tautology', "' OR 1=1 --"],
      ['an escaped quote', "\\'"],
      ['a lone backslash', '\\'],
      ['backslash sequences', '\\n\\t\\0\\x41\\\\'],
      ['double quotes and backticks', '"`"; SELECT `x`'],
      ['control characters', 'tab\there\nnew line\r\nNUL\u0000bell\u0007'],
      ['a placeholder', '{v:String} {other:UInt8} $1 %s ?'],
      ['Unicode', 'Ünïcödé 日本語 עברית 🏠🎉 e\u0301 \u202Eevil'],
      ['a huge string', `${'x'.repeat(50_000)}'\\${'é'.repeat(20_000)}`],
    ];

    it.each(hostile)('a hostile value (%s) reaches the engine as data, and round-trips', async (_label, value) => {
      const echoed = await store.query<{ v: string; n: number }>('SELECT {v:String} AS v, length({v:String}) AS n', {
        v: value,
      });
      expect(echoed).toEqual([{ v: value, n: Buffer.byteLength(value, 'utf8') }]);

      const search: SearchRow = {
        search_id: id(),
        searched_at: new Date(),
        parameters: value,
        city: value.slice(0, 100),
        result_count: 3,
        latency_ms: 12.5,
      };
      await store.insert('searches', [search]);
      const found = await store.query<{ search_id: string; parameters: string }>(
        'SELECT search_id, parameters FROM searches FINAL WHERE parameters = {v:String} AND city = {c:String}',
        { v: value, c: value.slice(0, 100) },
      );
      expect(found).toEqual([{ search_id: search.search_id, parameters: value }]);
      const tables = await store.query<{ n: number }>(
        "SELECT count() AS n FROM system.tables WHERE database = currentDatabase() AND name = 'bookings'",
      );
      expect(tables).toEqual([{ n: 1 }]);
    });

    it('replay: the same rows inserted again, and an older version after a newer one, leave the same figures', async () => {
      const landlord = id();
      const bookings = Array.from({ length: 20 }, (_, i) =>
        booking({ landlord_id: landlord, amount: 1_000 * (i + 1) }),
      );
      const events = bookings.map((b, i) =>
        event({ landlord_id: landlord, booking_id: b.booking_id, position: i + 1 }),
      );
      const figures = async () => ({
        bookings: await store.query(
          `SELECT count() AS n, sum(amount) AS revenue, groupArray(status) AS statuses
           FROM (SELECT * FROM bookings FINAL WHERE landlord_id = {l:String} ORDER BY booking_id)`,
          { l: landlord },
        ),
        events: await store.query(
          'SELECT count() AS n, max(position) AS head FROM events FINAL WHERE landlord_id = {l:String}',
          {
            l: landlord,
          },
        ),
      });
      await store.insert('bookings', bookings);
      await store.insert('events', events);
      const cancelled = { ...bookings[0]!, status: 'cancelled', version: 3 };
      await store.insert('bookings', [cancelled]);
      const before = await figures();
      expect(before.events).toEqual([{ n: 20, head: 20 }]);

      await store.insert('bookings', bookings);
      await store.insert('events', events);
      await store.insert('events', events.slice(0, 5));
      expect(await figures()).toEqual(before);
      const statuses = await store.query<{ status: string }>(
        'SELECT status FROM bookings FINAL WHERE booking_id = {b:String}',
        {
          b: cancelled.booking_id,
        },
      );
      expect(statuses).toEqual([{ status: 'cancelled' }]);

      await store.command('OPTIMIZE TABLE bookings FINAL');
      expect(await figures()).toEqual(before);
    });

    it('a batch retried with the same dedupToken is stored once, even read without FINAL', async () => {
      const landlord = id();
      const batch = Array.from({ length: 5 }, () => event({ landlord_id: landlord }));
      const token = `events:${id()}`;
      await store.insert('events', batch, { dedupToken: token });
      await store.insert('events', batch, { dedupToken: token });
      const raw = await store.query<{ n: number }>('SELECT count() AS n FROM events WHERE landlord_id = {l:String}', {
        l: landlord,
      });
      expect(raw).toEqual([{ n: 5 }]);
      await expect(store.insert('events', batch, { dedupToken: "x'; DROP TABLE events" })).rejects.toMatchObject({
        code: 'invalid',
      });
    });

    it("erasure blanks a person's ids in every table and keeps the figures", async () => {
      const tenant = id();
      const landlord = id();
      const bystander = id();
      const room = id();
      const b1 = booking({ tenant_id: tenant, landlord_id: landlord, room_id: room, amount: 40_000, version: 1 });
      const b1v2 = { ...b1, status: 'checked_out', version: 2 };
      const b2 = booking({ tenant_id: bystander, landlord_id: landlord, room_id: room, amount: 10_000 });
      await store.insert('bookings', [b1, b2]);
      await store.insert('bookings', [b1v2]);
      await store.insert('events', [
        event({ tenant_id: tenant, landlord_id: landlord, room_id: room }),
        event({ stream_id: `User-${tenant}`, type: 'UserRegistered', actor_role: 'tenant' }),
        event({ tenant_id: bystander, landlord_id: landlord, room_id: room }),
      ]);
      const payment: PaymentRow = {
        payment_id: id(),
        booking_id: b1.booking_id,
        room_id: room,
        landlord_id: landlord,
        tenant_id: tenant,
        amount: 40_000,
        currency: 'EUR',
        status: 'paid',
        created_at: new Date(),
        status_at: new Date(),
        version: 1,
      };
      await store.insert('payments', [payment]);
      const message: MessageRow = {
        message_id: id(),
        conversation_id: id(),
        sent_at: new Date(),
        sender_role: 'tenant',
        room_id: room,
        landlord_id: landlord,
        tenant_id: tenant,
      };
      await store.insert('messages', [message]);
      const review: ReviewRow = {
        review_id: id(),
        room_id: room,
        landlord_id: landlord,
        tenant_id: tenant,
        rating: 5,
        has_response: false,
        created_at: new Date(),
        version: 1,
      };
      await store.insert('reviews', [review]);

      const roomFigures = () =>
        store.query('SELECT count() AS n, sum(amount) AS revenue FROM bookings FINAL WHERE room_id = {r:String}', {
          r: room,
        });
      const before = await roomFigures();
      await erasePerson(store, tenant);
      await erasePerson(store, tenant);

      for (const table of ['bookings', 'events', 'payments', 'messages', 'reviews'] as const) {
        const left = await store.query<{ n: number }>(
          `SELECT count() AS n FROM ${table} WHERE tenant_id = {p:String} OR landlord_id = {p:String}`,
          { p: tenant },
        );
        expect(left, table).toEqual([{ n: 0 }]);
      }
      const streams = await store.query<{ n: number }>(
        'SELECT count() AS n FROM events WHERE position(stream_id, {p:String}) > 0',
        { p: tenant },
      );
      expect(streams).toEqual([{ n: 0 }]);
      expect(await roomFigures()).toEqual(before);
      const kept = await store.query<{ tenant_id: string; status: string }>(
        'SELECT tenant_id, status FROM bookings FINAL WHERE room_id = {r:String} ORDER BY amount',
        { r: room },
      );
      expect(kept).toEqual([
        { tenant_id: bystander, status: 'confirmed' },
        { tenant_id: '', status: 'checked_out' },
      ]);
      const landlordRows = await store.query<{ n: number }>(
        'SELECT count() AS n FROM events WHERE landlord_id = {l:String}',
        { l: landlord },
      );
      expect(landlordRows).toEqual([{ n: 2 }]);
    });

    it('writes into a copy of a table and exchanges the two at once; names outside the schema are refused', async () => {
      const landlord = id();
      const copy = copyOf('bookings');
      await store.command(`DROP TABLE IF EXISTS ${copy}`);
      await store.command(`CREATE TABLE ${copy} AS bookings`);
      await store.insert('bookings', [booking({ landlord_id: landlord, amount: 1_000 })]);
      await store.insert('bookings', [booking({ landlord_id: landlord, amount: 2_500 })], { into: copy });
      const revenue = async (table: string) =>
        (
          await store.query<{ revenue: number }>(
            `SELECT sum(amount) AS revenue FROM ${table} FINAL WHERE landlord_id = {l:String}`,
            { l: landlord },
          )
        )[0]!.revenue;
      expect([await revenue('bookings'), await revenue(copy)]).toEqual([1_000, 2_500]);
      await store.exchangeTables([['bookings', copy]]);
      expect([await revenue('bookings'), await revenue(copy)]).toEqual([2_500, 1_000]);
      await store.command(`DROP TABLE ${copy}`);
      for (const hostile of ['bookings; DROP TABLE events', 'system.tables', 'bookings__rebuild2', '', 'événements']) {
        await expect(store.insert('bookings', [booking()], { into: hostile }), hostile).rejects.toMatchObject({
          code: 'invalid',
        });
        await expect(store.exchangeTables([['bookings', hostile]]), hostile).rejects.toMatchObject({ code: 'invalid' });
      }
      expect(await revenue('bookings')).toBe(2_500);
    });

    it('a bad statement rejects with a clear AnalyticsStoreError, and the store goes on working', async () => {
      const unknownColumn = store.query('SELECT no_such_column FROM bookings');
      await expect(unknownColumn).rejects.toBeInstanceOf(AnalyticsStoreError);
      await expect(unknownColumn).rejects.toMatchObject({ code: 'query', clickhouseCode: 47 });
      await expect(unknownColumn).rejects.toThrow(/no_such_column/);
      await expect(store.query('SELEKT 1')).rejects.toMatchObject({ code: 'query', clickhouseCode: 62 });
      await expect(store.query('SELECT {n:UInt8} AS n', { n: 'not a number' })).rejects.toMatchObject({
        code: 'query',
      });
      await expect(store.query('SELECT {missing:String} AS v')).rejects.toMatchObject({ code: 'query' });
      await expect(store.query('SELECT 1', { 'bad name': 1 })).rejects.toMatchObject({ code: 'invalid' });
      // biome-ignore lint/suspicious/noExplicitAny: an unknown table, as a caller without the types would pass it
      await expect(store.insert('bookings; DROP TABLE events' as any, [booking()])).rejects.toMatchObject({
        code: 'invalid',
      });
      await expect(store.insert('bookings', [{ ...booking(), no_such_column: 1 } as BookingRow])).rejects.toMatchObject(
        {
          code: 'query',
        },
      );
      expect(await store.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
    });

    it('streams a CSV export with parameters, and an export abandoned half way leaves the store usable', async () => {
      const chunks: string[] = [];
      for await (const chunk of store.queryStream(
        'SELECT number AS n, {label:String} AS label FROM numbers({count:UInt32})',
        { label: 'a,"quoted"\nline', count: 3 },
      )) {
        chunks.push(chunk);
      }
      expect(chunks.join('')).toBe(
        '"n","label"\n0,"a,""quoted""\nline"\n1,"a,""quoted""\nline"\n2,"a,""quoted""\nline"\n',
      );

      let seen = 0;
      for await (const chunk of store.queryStream('SELECT number FROM numbers(300000)', {}, { format: 'CSV' })) {
        seen += chunk.length;
        break;
      }
      expect(seen).toBeGreaterThan(0);
      expect(await store.query('SELECT 2 AS two')).toEqual([{ two: 2 }]);
    });

    it('close waits for calls in flight, then refuses new ones; closing twice is harmless', async () => {
      const own = await open();
      await own.store.migrate();
      const inFlight = own.store.query<{ n: number }>('SELECT count() AS n FROM numbers(1000000)');
      await own.store.close();
      expect(await inFlight).toEqual([{ n: 1_000_000 }]);
      await expect(own.store.query('SELECT 1')).rejects.toMatchObject({ code: 'closed' });
      await own.store.close();
      await own.cleanup();
    });
  });
}
