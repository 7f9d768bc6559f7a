import type { AnalyticsParams, AnalyticsStore } from '../../infra/analytics/analyticsStore.js';

/** The statuses whose nights were sold: they count as booked nights and as revenue. */
export const BOOKED_STATUSES = ['confirmed', 'checked_in', 'completed', 'no_show'] as const;

/** A period of whole days, both ends included (`YYYY-MM-DD`), and optionally one landlord's rooms. */
export interface AnalyticsScope {
  from: string;
  to: string;
  landlordId?: string;
}

export interface Money {
  currency: string;
  amount: number;
}

export interface DashboardFigures {
  /** Bookings requested on each day of the period (whatever became of them), every day listed. */
  bookingsPerDay: Array<{ date: string; bookings: number }>;
  /** Nights of the period sold (BOOKED_STATUSES), over the rooms in scope. */
  nightsBooked: number;
  /** Nights booked ÷ nights available (published room-nights of the period); null with none available. */
  occupancyRate: number | null;
  availableNights: number;
  /** The booked nights' share of each booking's amount (amount × nights in the period ÷ nights), per currency. */
  revenue: Money[];
  /** Revenue ÷ nights booked, per currency (minor units, rounded). */
  averageDailyRate: Money[];
  /** Bookings requested in the period ÷ room searches in the period (all searches: they name no landlord). */
  searchToBookingRate: number | null;
  searches: number;
  /** Exam venues by booked nights in the period (bookings attributed through the tenant's exam assignment). */
  topVenues: Array<{ venueId: string; bookings: number; nights: number }>;
  /** Published, visible room reviews of the period by rating (1-5, every rating listed). */
  ratingDistribution: Array<{ rating: number; count: number }>;
}

const BOOKED = `status IN ('${BOOKED_STATUSES.join("', '")}')`;
/** Nights of a booking inside [from, to]: the night of date d is d → d+1. */
const NIGHTS_IN_PERIOD =
  "greatest(0, dateDiff('day', greatest(check_in, {from:Date}), least(check_out, addDays({to:Date}, 1))))";
/** The day a booking was requested: its lead time before check-in. */
const REQUESTED_ON = 'subtractDays(check_in, lead_time_days)';

const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;

/** The dashboard's queries over the warehouse (its tables are documented in README, "Analytics"). */
export function analyticsQueries(store: AnalyticsStore) {
  async function figures(scope: AnalyticsScope): Promise<DashboardFigures> {
    const params: AnalyticsParams = { from: scope.from, to: scope.to, landlord: scope.landlordId ?? '' };
    const landlordOnly = scope.landlordId === undefined ? '' : 'AND landlord_id = {landlord:String}';
    // PREWHERE drops rows before FINAL picks each booking's latest version, so it tests only what every version of
    // a booking shares (its dates, lead time, venue and landlord, set when it is requested; erasure blanks the
    // landlord in all of them at once). The status, which changes, is tested in WHERE, on the latest version: the
    // merge then handles the period's bookings only, not the whole table.
    const perDay = await store.query<{ date: string; bookings: number }>(
      `SELECT toString(${REQUESTED_ON}) AS date, count() AS bookings FROM bookings FINAL
     PREWHERE ${REQUESTED_ON} BETWEEN {from:Date} AND {to:Date} ${landlordOnly}
        GROUP BY date ORDER BY date`,
      params,
    );
    const booked = await store.query<{ currency: string; booked_nights: number; revenue: number }>(
      `SELECT currency, sum(${NIGHTS_IN_PERIOD}) AS booked_nights, sum(amount * ${NIGHTS_IN_PERIOD} / nights) AS revenue
         FROM bookings FINAL
     PREWHERE check_in <= {to:Date} AND check_out > {from:Date} ${landlordOnly}
        WHERE ${BOOKED}
        GROUP BY currency ORDER BY currency`,
      params,
    );
    // A room's night d is available when the room was published on day d or before and not unpublished on or
    // before day d: each RoomPublished opens [its day, the day of the room's next change), clipped to the period.
    // No FINAL over the whole of `events`: a replayed event is the same row again, so one row per event_id among
    // the few room changes is the same set FINAL would leave, at the cost of reading one column of the rest.
    const [available] = await store.query<{ nights: number }>(
      `SELECT sum(greatest(0, dateDiff('day', greatest(start, {from:Date}), least(finish, addDays({to:Date}, 1))))) AS nights
         FROM (
           SELECT type, toDate(recorded_at) AS start,
                  leadInFrame(toDate(recorded_at), 1, toDate('2149-06-06')) OVER (
                    PARTITION BY room_id ORDER BY recorded_at, position
                    ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING) AS finish
             FROM (
               SELECT type, recorded_at, position, room_id FROM events
             PREWHERE type IN ('RoomPublished', 'RoomUnpublished') ${landlordOnly}
                LIMIT 1 BY event_id
             )
         )
        WHERE type = 'RoomPublished'`,
      params,
    );
    const [searches] = await store.query<{ searches: number }>(
      `SELECT count() AS searches FROM searches FINAL
        WHERE toDate(searched_at) BETWEEN {from:Date} AND {to:Date}`,
      params,
    );
    const venues = await store.query<{ venueId: string; bookings: number; booked_nights: number }>(
      `SELECT venue_id AS venueId, count() AS bookings, sum(${NIGHTS_IN_PERIOD}) AS booked_nights FROM bookings FINAL
     PREWHERE venue_id != '' AND check_in <= {to:Date} AND check_out > {from:Date} ${landlordOnly}
        WHERE ${BOOKED}
        GROUP BY venue_id ORDER BY booked_nights DESC, bookings DESC, venue_id LIMIT 10`,
      params,
    );
    const ratings = await store.query<{ rating: number; count: number }>(
      `SELECT rating, count() AS count FROM reviews FINAL
     PREWHERE toDate(created_at) BETWEEN {from:Date} AND {to:Date} ${landlordOnly}
        WHERE rating BETWEEN 1 AND 5
        GROUP BY rating`,
      params,
    );

    const byDay = new Map(perDay.map((row) => [row.date, Number(row.bookings)]));
    const bookingsPerDay: DashboardFigures['bookingsPerDay'] = [];
    for (
      let day = Date.parse(`${scope.from}T00:00:00Z`);
      day <= Date.parse(`${scope.to}T00:00:00Z`);
      day += 86_400_000
    ) {
      const date = new Date(day).toISOString().slice(0, 10);
      bookingsPerDay.push({ date, bookings: byDay.get(date) ?? 0 });
    }
    const nightsBooked = booked.reduce((sum, row) => sum + Number(row.booked_nights), 0);
    const availableNights = Number(available?.nights ?? 0);
    const requested = bookingsPerDay.reduce((sum, day) => sum + day.bookings, 0);
    const searchCount = Number(searches?.searches ?? 0);
    const byRating = new Map(ratings.map((row) => [Number(row.rating), Number(row.count)]));
    return {
      bookingsPerDay,
      nightsBooked,
      occupancyRate: availableNights > 0 ? round(nightsBooked / availableNights, 4) : null,
      availableNights,
      revenue: booked.map((row) => ({ currency: row.currency, amount: Math.round(Number(row.revenue)) })),
      averageDailyRate: booked
        .filter((row) => Number(row.booked_nights) > 0)
        .map((row) => ({
          currency: row.currency,
          amount: Math.round(Number(row.revenue) / Number(row.booked_nights)),
        })),
      searchToBookingRate: searchCount > 0 ? round(requested / searchCount, 4) : null,
      searches: searchCount,
      topVenues: venues.map((row) => ({
        venueId: row.venueId,
        bookings: Number(row.bookings),
        nights: Number(row.booked_nights),
      })),
      ratingDistribution: [1, 2, 3, 4, 5].map((rating) => ({ rating, count: byRating.get(rating) ?? 0 })),
    };
  }

  /** The rows of one dataset whose day falls in the period, as CSV with a header line (the engine writes it). */
  function exportCsv(dataset: ExportDataset, scope: AnalyticsScope): AsyncIterable<string> {
    const params: AnalyticsParams = { from: scope.from, to: scope.to };
    return store.queryStream(EXPORTS[dataset], params, { format: 'CSVWithNames' });
  }

  return { figures, exportCsv };
}

export const EXPORT_DATASETS = ['bookings', 'searches', 'payments'] as const;
export type ExportDataset = (typeof EXPORT_DATASETS)[number];

/**
 * Bookings whose stay overlaps the period (its dates, which every version shares, in PREWHERE); searches and
 * payments made in it.
 */
const EXPORTS: Record<ExportDataset, string> = {
  bookings: `SELECT booking_id, room_id, landlord_id, tenant_id, venue_id, city, check_in, check_out, nights, amount,
                    currency, lead_time_days, ${REQUESTED_ON} AS requested_on, status, status_at, version
               FROM bookings FINAL
           PREWHERE check_in <= {to:Date} AND check_out > {from:Date}
              ORDER BY check_in, booking_id`,
  searches: `SELECT search_id, searched_at, venue_id, city, radius_m, guests, check_in, check_out, parameters,
                    result_count, latency_ms
               FROM searches FINAL
              WHERE toDate(searched_at) BETWEEN {from:Date} AND {to:Date}
              ORDER BY searched_at, search_id`,
  payments: `SELECT payment_id, booking_id, room_id, landlord_id, tenant_id, amount, currency, status, created_at,
                    status_at, version
               FROM payments FINAL
              WHERE toDate(created_at) BETWEEN {from:Date} AND {to:Date}
              ORDER BY created_at, payment_id`,
};
