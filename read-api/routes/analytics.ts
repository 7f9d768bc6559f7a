import { Readable } from 'node:stream';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyReply } from 'fastify';
import { dayNumber } from '../../domain/shared/values.js';
import { type AnalyticsStore, AnalyticsStoreError } from '../../infra/analytics/analyticsStore.js';
import {
  type AnalyticsScope,
  analyticsQueries,
  EXPORT_DATASETS,
  type ExportDataset,
} from '../../projections/analytics/analyticsQueries.js';
import type { AppDeps } from '../deps.js';
import { ApiError } from '../errors.js';
import { errors, IdParams, IsoDate, Uuid } from '../schemas.js';

const tags = ['analytics'];
const DAY_MS = 86_400_000;
/** The longest period one request covers; a longer one is cut to its last MAX_RANGE_DAYS days. */
export const MAX_RANGE_DAYS = 366;
/** The period when none is given: the last 30 days, today included. */
const DEFAULT_RANGE_DAYS = 30;
const LAST_DAY = dayNumber('2149-06-06');

const PeriodQuery = {
  from: Type.Optional({
    ...IsoDate,
    description: 'first day (YYYY-MM-DD, UTC), included; default 29 days before `to`',
  }),
  to: Type.Optional({ ...IsoDate, description: 'last day (YYYY-MM-DD, UTC), included; default today' }),
};

const Money = Type.Object({ currency: Type.String(), amount: Type.Integer({ description: 'minor units' }) });

const Figures = Type.Object({
  from: IsoDate,
  to: IsoDate,
  capped: Type.Boolean({ description: `the period asked for was longer than ${MAX_RANGE_DAYS} days: \`from\` moved` }),
  bookingsPerDay: Type.Array(Type.Object({ date: IsoDate, bookings: Type.Integer() }), {
    description: 'bookings requested each day of the period, whatever became of them',
  }),
  nightsBooked: Type.Integer({ description: 'nights of the period sold: confirmed, checked in, completed, no-show' }),
  availableNights: Type.Integer({ description: 'room-nights of the period the rooms in scope were published' }),
  occupancyRate: Type.Union([Type.Number(), Type.Null()], { description: 'nightsBooked / availableNights' }),
  revenue: Type.Array(Money, { description: 'the booked nights’ share of their bookings’ amounts, per currency' }),
  averageDailyRate: Type.Array(Money, { description: 'revenue / nights booked, per currency' }),
  searchToBookingRate: Type.Union([Type.Number(), Type.Null()], {
    description: 'bookings requested in the period / room searches in the period (all searches)',
  }),
  searches: Type.Integer(),
  topVenues: Type.Array(
    Type.Object({
      venueId: Uuid,
      name: Type.Union([Type.String(), Type.Null()]),
      bookings: Type.Integer(),
      nights: Type.Integer(),
    }),
    { description: 'exam venues by booked nights (the tenant’s exam assignment overlapping the stay)' },
  ),
  ratingDistribution: Type.Array(Type.Object({ rating: Type.Integer(), count: Type.Integer() }), {
    description: 'published, visible room reviews of the period, by rating',
  }),
});

function realDate(name: string, value: string): number {
  const day = dayNumber(value);
  if (Number.isNaN(day) || new Date(day * DAY_MS).toISOString().slice(0, 10) !== value) {
    throw new ApiError(400, 'INVALID_DATE', `${name} is not a calendar date`, { [name]: value });
  }
  // The warehouse's Date type spans 1970-01-01 to 2149-06-06.
  if (day < 0 || day > LAST_DAY) {
    throw new ApiError(400, 'DATE_OUT_OF_RANGE', `${name} must be between 1970-01-01 and 2149-06-06`, {
      [name]: value,
    });
  }
  return day;
}

/** The period asked for, checked and capped; defaults from the app's clock. */
export function periodOf(
  query: { from?: string; to?: string },
  now: Date,
): { from: string; to: string; capped: boolean } {
  const text = (day: number) => new Date(day * DAY_MS).toISOString().slice(0, 10);
  const to = query.to === undefined ? Math.floor(now.getTime() / DAY_MS) : realDate('to', query.to);
  let from = query.from === undefined ? to - (DEFAULT_RANGE_DAYS - 1) : realDate('from', query.from);
  if (to < from) {
    throw new ApiError(400, 'INVALID_PERIOD', 'to must not be before from', { from: query.from, to: query.to });
  }
  const capped = to - from + 1 > MAX_RANGE_DAYS;
  if (capped) from = to - (MAX_RANGE_DAYS - 1);
  return { from: text(from), to: text(to), capped };
}

/** The untyped reply: the typed one takes only the schema's string, not a stream of it. */
const streamed = (reply: FastifyReply): FastifyReply => reply;

function storeOf(deps: AppDeps): AnalyticsStore {
  const { store, unavailableReason } = deps.analytics;
  if (!store) {
    throw new ApiError(503, 'ANALYTICS_UNAVAILABLE', unavailableReason ?? 'this process has no analytics store');
  }
  return store;
}

/** The warehouse away or overloaded answers 503; a statement it refused is a bug (500). */
function unavailable(error: unknown): never {
  if (error instanceof AnalyticsStoreError && error.code !== 'query' && error.code !== 'invalid') {
    throw new ApiError(503, 'ANALYTICS_UNAVAILABLE', `the analytics store is not answering (${error.code})`);
  }
  throw error;
}

export const analyticsRoutes: FastifyPluginAsyncTypebox<AppDeps> = async (app, deps) => {
  async function figures(scope: AnalyticsScope & { capped: boolean }) {
    const result = await analyticsQueries(storeOf(deps)).figures(scope).catch(unavailable);
    const ids = result.topVenues.map((venue) => venue.venueId);
    const names = new Map<string, string>();
    if (ids.length > 0) {
      const { rows } = await deps.pool.query<{ id: string; name: string }>(
        'SELECT id, name FROM exam_venues WHERE id = ANY($1::uuid[])',
        [ids],
      );
      for (const row of rows) names.set(row.id, row.name);
    }
    return {
      from: scope.from,
      to: scope.to,
      capped: scope.capped,
      ...result,
      topVenues: result.topVenues.map((venue) => ({ ...venue, name: names.get(venue.venueId) ?? null })),
    };
  }

  app.get(
    '/api/analytics/dashboard',
    {
      config: { access: ['admin', 'analyst'] },
      schema: {
        tags,
        summary: 'The platform’s figures over a period of days (at most 366; longer ones are cut to their last 366)',
        querystring: Type.Object(PeriodQuery, { additionalProperties: false }),
        response: { 200: Figures, ...errors(400, 401, 403, 503) },
      },
    },
    async (request) => figures(periodOf(request.query, deps.clock.now())),
  );

  app.get(
    '/api/analytics/landlord/:id',
    {
      config: { access: ['landlord', 'admin', 'analyst'] },
      schema: {
        tags,
        summary: 'The same figures for one landlord’s rooms: that landlord, admins and analysts',
        params: IdParams,
        querystring: Type.Object(PeriodQuery, { additionalProperties: false }),
        response: { 200: Figures, ...errors(400, 401, 403, 404, 503) },
      },
    },
    async (request) => {
      const user = request.user!;
      const landlordId = request.params.id.toLowerCase();
      if (user.role === 'landlord' && user.sub !== landlordId) {
        throw new ApiError(403, 'OTHER_LANDLORD', 'a landlord sees the figures of their own rooms only');
      }
      return figures({ ...periodOf(request.query, deps.clock.now()), landlordId });
    },
  );

  app.get(
    '/api/analytics/export/csv',
    {
      config: { access: ['admin', 'analyst'] },
      schema: {
        tags,
        summary:
          'A dataset as CSV with a header line, streamed: bookings whose stay overlaps the period, searches and payments made in it',
        querystring: Type.Object(
          {
            dataset: Type.Union(EXPORT_DATASETS.map((name) => Type.Literal(name))),
            ...PeriodQuery,
          },
          { additionalProperties: false },
        ),
        response: {
          200: { description: 'RFC 4180 CSV, header first', content: { 'text/csv': { schema: Type.String() } } },
          ...errors(400, 401, 403, 503),
        },
      },
    },
    async (request, reply) => {
      const period = periodOf(request.query, deps.clock.now());
      const dataset: ExportDataset = request.query.dataset;
      const chunks = analyticsQueries(storeOf(deps)).exportCsv(dataset, period)[Symbol.asyncIterator]();
      // The first chunk before the headers: a warehouse that is away still answers 503 in JSON.
      const first = await chunks.next().catch(unavailable);
      async function* rest() {
        try {
          if (!first.done) yield first.value;
          while (true) {
            const next = await chunks.next();
            if (next.done) return;
            yield next.value;
          }
        } finally {
          // A reader that left early cancels the engine's statement.
          await chunks.return?.();
        }
      }
      return streamed(reply)
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="roomline-${dataset}-${period.from}-${period.to}.csv"`)
        .header('cache-control', 'no-store')
        .send(Readable.from(rest(), { objectMode: false }));
    },
  );
};
