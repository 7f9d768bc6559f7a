import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { type Static, Type } from '@sinclair/typebox';
import { hideReview, respondToReview, submitReview } from '../../commands/reviews.js';
import { REVIEW_LIMITS } from '../../domain/reviews/events.js';
import { createReviewQueries, type PublicReviewRow } from '../../projections/reviews/reviewQueries.js';
import { reviewsProjectionName } from '../../projections/reviews/reviewsProjection.js';
import { RoomView } from '../../projections/rooms/roomView.js';
import { positionOf } from '../answers.js';
import { commandFrom } from '../commandContext.js';
import { cursorCodec, decodeKeyset, encodeKeyset, invalidCursor } from '../cursor.js';
import type { AppDeps } from '../deps.js';
import { ApiError } from '../errors.js';
import { honourMinPosition } from '../readModels.js';
import { errors, IdempotencyHeaders, IdParams, IsoInstant, MinPositionHeaders, Position, Uuid } from '../schemas.js';

const tags = ['reviews'];

const Text = (max: number, description: string) =>
  Type.String({ minLength: 1, maxLength: max, pattern: '\\S', description });
const Rating = Type.Integer({ minimum: 1, maximum: 5, description: 'stars, 1 to 5' });

const RoomReviewBody = Type.Object(
  {
    bookingId: Uuid,
    rating: Rating,
    comment: Text(REVIEW_LIMITS.commentChars, 'the review, 1 to 2,000 characters (trimmed, NFC)'),
  },
  { additionalProperties: false },
);
const GuestReviewBody = Type.Object(
  { rating: Rating, comment: Text(REVIEW_LIMITS.commentChars, 'the review, 1 to 2,000 characters (trimmed, NFC)') },
  { additionalProperties: false },
);
const ResponseBody = Type.Object(
  { body: Text(REVIEW_LIMITS.responseChars, 'the answer, 1 to 2,000 characters (trimmed, NFC)') },
  { additionalProperties: false },
);
const HideBody = Type.Object(
  { reason: Text(REVIEW_LIMITS.reasonChars, 'why, kept for auditors (1 to 500 characters)') },
  { additionalProperties: false },
);

const Submitted = Type.Object({
  id: Uuid,
  bookingId: Uuid,
  status: Type.Union([Type.Literal('hidden_until_both'), Type.Literal('published')], {
    description: 'double-blind: hidden until both parties reviewed or the window closed',
  }),
  position: Type.Union([Position, Type.Null()]),
});

const ReviewResponse = Type.Object({
  id: Uuid,
  authorId: Uuid,
  body: Type.Union([Type.String(), Type.Null()], { description: 'null once the author is erased' }),
  erased: Type.Boolean(),
  respondedAt: IsoInstant,
});
const Review = Type.Object({
  id: Uuid,
  roomId: Uuid,
  authorId: Uuid,
  rating: Type.Integer({ minimum: 1, maximum: 5 }),
  comment: Type.Union([Type.String(), Type.Null()], { description: 'null once the author is erased' }),
  erased: Type.Boolean(),
  submittedAt: IsoInstant,
  publishedAt: IsoInstant,
  response: Type.Union([ReviewResponse, Type.Null()]),
});
const ReviewList = Type.Object({ items: Type.Array(Review), nextCursor: Type.Union([Type.String(), Type.Null()]) });
const ListQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
    cursor: Type.Optional(Type.String({ maxLength: 2100 })),
  },
  { additionalProperties: false },
);

const reviewOut = (row: PublicReviewRow): Static<typeof Review> => ({
  id: row.id,
  roomId: row.roomId,
  authorId: row.authorId,
  rating: row.rating,
  comment: row.comment,
  erased: row.erased,
  submittedAt: row.submittedAt,
  publishedAt: row.publishedAt,
  response: row.response,
});

const reviewNotFound = () => new ApiError(404, 'REVIEW_NOT_FOUND', 'review not found');

export const reviewRoutes: FastifyPluginAsyncTypebox<AppDeps> = async (app, deps) => {
  const queries = createReviewQueries(deps.pool);
  const commandDeps = {
    store: deps.eventStore,
    windowDays: deps.config.REVIEW_WINDOW_DAYS,
    maxRetries: deps.config.COMMAND_MAX_RETRIES,
  };
  const codec = cursorCodec(deps.config);
  const submittedOut = (result: Awaited<ReturnType<typeof submitReview>>, bookingId: string) => ({
    id: result.reviewId,
    bookingId,
    status: result.state.status === 'published' ? ('published' as const) : ('hidden_until_both' as const),
    position: positionOf(result),
  });

  app.post(
    '/api/rooms/:id/reviews',
    {
      config: { access: ['tenant'] },
      schema: {
        tags,
        summary:
          'Review the room of your completed stay (the booking’s tenant, after check-out, within REVIEW_WINDOW_DAYS); ' +
          'hidden until the landlord has reviewed you too or the window closes. One review per booking',
        params: IdParams,
        headers: IdempotencyHeaders,
        body: RoomReviewBody,
        response: { 201: Submitted, ...errors(400, 401, 403, 404, 409, 422, 429) },
      },
    },
    async (request, reply) => {
      const { context, envelope } = commandFrom(request, deps.clock);
      const { bookingId, rating, comment } = request.body;
      const result = await submitReview(
        commandDeps,
        { bookingId, side: 'tenant', roomId: request.params.id, rating, comment },
        context,
        envelope,
      );
      return reply.code(201).send(submittedOut(result, bookingId));
    },
  );

  app.post(
    '/api/bookings/:id/guest-review',
    {
      config: { access: ['landlord'] },
      schema: {
        tags,
        summary:
          'Review the tenant of a completed stay on your room (the booking’s landlord, after check-out, within ' +
          'REVIEW_WINDOW_DAYS); double-blind with the tenant’s review. One per booking',
        params: IdParams,
        headers: IdempotencyHeaders,
        body: GuestReviewBody,
        response: { 201: Submitted, ...errors(400, 401, 403, 404, 409, 422, 429) },
      },
    },
    async (request, reply) => {
      const { context, envelope } = commandFrom(request, deps.clock);
      const bookingId = request.params.id;
      const result = await submitReview(
        commandDeps,
        { bookingId, side: 'landlord', roomId: null, ...request.body },
        context,
        envelope,
      );
      return reply.code(201).send(submittedOut(result, bookingId));
    },
  );

  app.get(
    '/api/rooms/:id/reviews',
    {
      config: { access: 'public' },
      schema: {
        tags,
        summary:
          'The room’s published reviews, newest first, each with the landlord’s response (hidden ones left out); ' +
          '404 for a room not published, as GET /api/rooms/{id}',
        params: IdParams,
        headers: MinPositionHeaders,
        querystring: ListQuery,
        response: { 200: ReviewList, ...errors(400, 401, 404, 503) },
      },
    },
    async (request) => {
      await honourMinPosition(deps, request, [reviewsProjectionName, 'rooms']);
      const roomId = request.params.id;
      // As GET /api/rooms/{id}: a room not published is not there, except for its landlord and admins.
      const room = await deps.orm.em.fork().findOne(RoomView, { id: roomId }, { fields: ['status', 'landlordId'] });
      const user = request.user;
      const maySeeHidden =
        user && (user.role === 'admin' || (user.role === 'landlord' && user.sub === room?.landlordId));
      if (!room || (room.status !== 'published' && !maySeeHidden)) {
        throw new ApiError(404, 'ROOM_NOT_FOUND', 'room not found');
      }
      const { limit, cursor } = request.query;
      const scope = `room-reviews:${roomId}`;
      const after = decodeKeyset(codec, scope, cursor);
      if (after && Number.isNaN(Date.parse(after[0]))) throw invalidCursor();
      const rows = await queries.publicReviewsOf(roomId, {
        limit: limit + 1,
        after: after && { publishedAt: after[0], id: after[1] },
      });
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return {
        items: page.map(reviewOut),
        nextCursor: rows.length > limit && last ? encodeKeyset(codec, scope, last.publishedAt, last.id) : null,
      };
    },
  );

  app.post(
    '/api/reviews/:id/responses',
    {
      config: { access: ['landlord'] },
      schema: {
        tags,
        summary: 'Answer a published review of your room, once (the room’s landlord)',
        params: IdParams,
        headers: { ...IdempotencyHeaders, ...MinPositionHeaders },
        body: ResponseBody,
        response: {
          201: Type.Object({ id: Uuid, reviewId: Uuid, position: Type.Union([Position, Type.Null()]) }),
          ...errors(400, 401, 403, 404, 409, 422, 429, 503),
        },
      },
    },
    async (request, reply) => {
      await honourMinPosition(deps, request, reviewsProjectionName);
      const { context, envelope } = commandFrom(request, deps.clock);
      const target = await queries.targetOf(request.params.id);
      if (target?.kind !== 'review') throw reviewNotFound();
      const result = await respondToReview(
        commandDeps,
        { bookingId: target.bookingId, reviewId: target.reviewId, body: request.body.body },
        context,
        envelope,
      );
      return reply.code(201).send({ id: result.responseId, reviewId: target.reviewId, position: positionOf(result) });
    },
  );

  app.post(
    '/api/reviews/:id/hide',
    {
      config: { access: ['admin'] },
      schema: {
        tags,
        summary:
          'Hide a review or a response (admins), with the reason: it leaves the public lists and the room’s rating; ' +
          'who hid it and why stay in its events for auditors',
        params: IdParams,
        headers: { ...IdempotencyHeaders, ...MinPositionHeaders },
        body: HideBody,
        response: {
          200: Type.Object({ id: Uuid, hidden: Type.Literal(true), position: Type.Union([Position, Type.Null()]) }),
          ...errors(400, 401, 403, 404, 409, 422, 429, 503),
        },
      },
    },
    async (request) => {
      await honourMinPosition(deps, request, reviewsProjectionName);
      const { context, envelope } = commandFrom(request, deps.clock);
      const target = await queries.targetOf(request.params.id);
      if (!target) throw reviewNotFound();
      const result = await hideReview(
        commandDeps,
        { bookingId: target.bookingId, targetId: request.params.id, reason: request.body.reason },
        context,
        envelope,
      );
      return { id: request.params.id, hidden: true as const, position: positionOf(result) };
    },
  );
};
