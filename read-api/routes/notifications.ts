import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { type TObject, Type } from '@sinclair/typebox';
import { loadPreferences, markNotificationRead, setNotificationPreferences } from '../../commands/notifications.js';
import type { Preferences } from '../../domain/notifications/decider.js';
import {
  type NotificationChannel,
  NotificationChannels,
  type NotificationKind,
  NotificationKinds,
} from '../../domain/notifications/events.js';
import { notificationsProjectionName } from '../../projections/notifications/notificationsProjection.js';
import { commandFrom } from '../commandContext.js';
import { cursorCodec, decodeKeyset, encodeKeyset } from '../cursor.js';
import type { AppDeps } from '../deps.js';
import { ApiError } from '../errors.js';
import { honourMinPosition } from '../readModels.js';
import { errors, IdParams, MinPositionHeaders, Uuid } from '../schemas.js';

const tags = ['notifications'];
const LIST_SCOPE = 'notifications';

const Kind = Type.Unsafe<NotificationKind>(
  Type.String({ enum: [...NotificationKinds], description: 'what the notification is about' }),
);
const Notification = Type.Object({
  id: Uuid,
  kind: Kind,
  subject: Type.Record(Type.String(), Type.String(), {
    description: 'ids of what it is about (booking, conversation...)',
  }),
  createdAt: Type.String({ format: 'date-time' }),
  readAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});
const NotificationList = Type.Object({
  items: Type.Array(Notification),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
});

const channelsOf = (optional: boolean): TObject =>
  Type.Object(
    Object.fromEntries(
      NotificationChannels.map((channel) => [channel, optional ? Type.Optional(Type.Boolean()) : Type.Boolean()]),
    ),
    { additionalProperties: false },
  );
const kindsOf = (optional: boolean): TObject =>
  Type.Object(
    Object.fromEntries(
      NotificationKinds.map((kind) => [kind, optional ? Type.Optional(channelsOf(true)) : channelsOf(false)]),
    ),
    { additionalProperties: false, description: 'per kind, the channels it reaches you on' },
  );
type ChannelChoice = Partial<Record<NotificationChannel, boolean>>;
const PreferencesBody = Type.Object(
  { kinds: Type.Unsafe<Partial<Record<NotificationKind, ChannelChoice>>>(kindsOf(true)) },
  {
    additionalProperties: false,
    description: 'the kinds named change (only the channels given); the others keep their setting',
  },
);
const PreferencesAnswer = Type.Object({ kinds: Type.Unsafe<Preferences>(kindsOf(false)) });

const FailedJob = Type.Object({
  id: Type.String(),
  name: Type.String(),
  kind: Type.Union([Type.String(), Type.Null()]),
  userId: Type.Union([Type.String(), Type.Null()]),
  error: Type.String(),
  attemptsMade: Type.Integer(),
  failedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});
const JobIdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 200, pattern: '^[A-Za-z0-9_.:-]+$' }) });

const answerOf = (preferences: Preferences) => ({ kinds: preferences });

/**
 * A person's notifications and their preferences; the one-click unsubscribe of notification mails (RFC 8058);
 * for support, the notification jobs parked after their last retry.
 */
export const notificationRoutes: FastifyPluginAsyncTypebox<AppDeps> = async (app, deps) => {
  const { notifications } = deps;

  // Mail clients send the one-click POST as a form (`List-Unsubscribe=One-Click`): read here, on these routes only.
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: 1024 },
    (_r, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body as string)));
    },
  );

  app.get(
    '/api/notifications',
    {
      config: { access: 'authenticated' },
      schema: {
        tags,
        summary: 'Your notifications, newest first',
        headers: MinPositionHeaders,
        querystring: Type.Object(
          {
            limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
            cursor: Type.Optional(Type.String({ maxLength: 2000 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: NotificationList, ...errors(400, 503) },
      },
    },
    async (request) => {
      await honourMinPosition(deps, request, notificationsProjectionName);
      const userId = request.user!.sub;
      const { limit, cursor } = request.query;
      const after = decodeKeyset(cursorCodec(deps.config), `${LIST_SCOPE}:${userId}`, cursor);
      const rows = await notifications.queries.list(userId, after && { createdAt: after[0], id: after[1] }, limit + 1);
      const last = rows[limit - 1];
      return {
        items: rows.slice(0, limit),
        nextCursor:
          rows.length > limit && last
            ? encodeKeyset(cursorCodec(deps.config), `${LIST_SCOPE}:${userId}`, last.createdAt, last.id)
            : null,
      };
    },
  );

  app.post(
    '/api/notifications/:id/read',
    {
      config: { access: 'authenticated', idempotent: false },
      schema: {
        tags,
        summary: 'Mark one of your notifications read (again: nothing changes); anyone else’s is not found',
        params: IdParams,
        response: { 204: Type.Null(), ...errors(404) },
      },
    },
    async (request, reply) => {
      const { context, envelope } = commandFrom(request, deps.clock);
      await markNotificationRead(
        { store: deps.eventStore },
        { notificationId: request.params.id, userId: context.actorId },
        context,
        envelope,
      );
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/api/notifications/preferences',
    {
      config: { access: 'authenticated' },
      schema: {
        tags,
        summary: 'Which kinds reach you on which channels (the defaults until you choose)',
        response: { 200: PreferencesAnswer },
      },
    },
    async (request) => answerOf(await loadPreferences(deps.eventStore, request.user!.sub)),
  );

  app.put(
    '/api/notifications/preferences',
    {
      config: { access: 'authenticated', idempotent: false },
      schema: {
        tags,
        summary: 'Choose the channels of some kinds; the answer is every kind after the change',
        body: PreferencesBody,
        response: { 200: PreferencesAnswer, ...errors(422) },
      },
    },
    async (request) => {
      const { context, envelope } = commandFrom(request, deps.clock);
      const result = await setNotificationPreferences(
        { store: deps.eventStore },
        { userId: context.actorId, kinds: request.body.kinds as Partial<Record<NotificationKind, ChannelChoice>> },
        context,
        envelope,
      );
      return answerOf(result.state.preferences);
    },
  );

  app.post(
    '/api/notifications/unsubscribe',
    {
      config: { access: 'public', idempotent: false },
      schema: {
        tags,
        summary: 'One-click unsubscribe (RFC 8058): the link of a notification mail turns off that kind’s email',
        querystring: Type.Object(
          { token: Type.String({ minLength: 1, maxLength: 200 }) },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ kind: Kind, email: Type.Literal(false) }), ...errors(404) },
      },
    },
    async (request) => {
      const named = notifications.unsubscribe.verify(request.query.token);
      if (!named) throw new ApiError(404, 'UNSUBSCRIBE_LINK_UNKNOWN', 'this unsubscribe link is not one we sent');
      const now = deps.clock.now().toISOString();
      await setNotificationPreferences(
        { store: deps.eventStore },
        { userId: named.userId, kinds: { [named.kind]: { email: false } } },
        { actorId: 'system', actorRole: 'system', now },
        {
          now,
          idSeed: `unsubscribe|${request.query.token}|${now}`,
          newId: () => {
            throw new Error('seeded');
          },
          metadata: {
            correlationId: request.correlationId,
            causationId: null,
            actorId: named.userId,
            actorRole: 'system',
            requestId: request.id,
          },
        },
      );
      return { kind: named.kind, email: false as const };
    },
  );

  app.get(
    '/api/ops/notifications/failed',
    {
      config: { access: ['support', 'admin'] },
      schema: {
        tags: ['operations'],
        summary: 'Notification jobs parked after their last retry, newest first, with their error',
        querystring: Type.Object(
          { limit: Type.Integer({ minimum: 1, maximum: 500, default: 100 }) },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ items: Type.Array(FailedJob) }) },
      },
    },
    async (request) => ({ items: await notifications.failures.list(request.query.limit) }),
  );

  app.post(
    '/api/ops/notifications/failed/:id/retry',
    {
      config: { access: ['support', 'admin'], idempotent: false },
      schema: {
        tags: ['operations'],
        summary: 'Put a parked notification job back in the queue',
        params: JobIdParams,
        response: { 202: Type.Object({ id: Type.String(), status: Type.Literal('queued') }), ...errors(404) },
      },
    },
    async (request, reply) => {
      if (!(await notifications.failures.retry(request.params.id))) {
        throw new ApiError(404, 'FAILED_JOB_NOT_FOUND', 'no parked notification job has this id');
      }
      return reply.code(202).send({ id: request.params.id, status: 'queued' as const });
    },
  );
};
