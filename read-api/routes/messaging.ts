import type { Readable } from 'node:stream';
import multipart from '@fastify/multipart';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { type Static, Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { markRead, sendMessage, startConversation, uploadMessagePhoto } from '../../commands/messaging.js';
import { maskContactDetails } from '../../domain/messaging/masking.js';
import { fileKeyOf } from '../../infra/fileStore/fileStore.js';
import { messagingProjectionName } from '../../projections/messaging/messagingProjection.js';
import {
  type ConversationRow,
  createMessagingQueries,
  type MessageRow,
  type MessagingQueries,
} from '../../projections/messaging/messagingQueries.js';
import { positionOf } from '../answers.js';
import { commandFrom, newAggregateId } from '../commandContext.js';
import { cursorCodec, decodeKeyset, encodeKeyset, invalidCursor } from '../cursor.js';
import type { AppDeps } from '../deps.js';
import { ApiError } from '../errors.js';
import { honourMinPosition } from '../readModels.js';
import { errors, IdempotencyHeaders, IdParams, IsoInstant, MinPositionHeaders, Position, Uuid } from '../schemas.js';
import { imageMultipartLimits, readUploads, refuseWhenImageQueueFull } from './photos.js';

const tags = ['messaging'];
const MINUTE_MS = 60_000;

const Nullable = <T extends ReturnType<typeof Type.String>>(schema: T) => Type.Union([schema, Type.Null()]);

const PhotoLinks = Type.Object({ id: Uuid, url: Type.String(), thumbnailUrl: Type.String() });
const Message = Type.Object({
  id: Uuid,
  conversationId: Uuid,
  senderId: Uuid,
  recipientId: Uuid,
  body: Type.Union([Type.String(), Type.Null()], {
    description: 'null once the sender is erased; masked for the recipient until the pair has a confirmed booking',
  }),
  masked: Type.Boolean({ description: 'true when contact details in the body were masked for you' }),
  erased: Type.Boolean({ description: "true when the sender was erased: the body is gone with the sender's key" }),
  photos: Type.Array(PhotoLinks),
  sentAt: IsoInstant,
  deliveredAt: Type.Optional(IsoInstant),
  readAt: Type.Optional(IsoInstant),
  position: Position,
});
const Conversation = Type.Object({
  id: Uuid,
  participantIds: Type.Array(Uuid, { minItems: 2, maxItems: 2 }),
  participantId: Type.String({ format: 'uuid', description: 'the other person' }),
  roomId: Nullable(Uuid),
  bookingId: Nullable(Uuid),
  contactUnlocked: Type.Boolean({ description: 'the pair has a confirmed booking: contact details are not masked' }),
  unreadCount: Type.Integer({ minimum: 0 }),
  lastMessage: Type.Union([Message, Type.Null()]),
  startedAt: IsoInstant,
  updatedAt: IsoInstant,
});
const List = <T extends typeof Message | typeof Conversation>(item: T) =>
  Type.Object({ items: Type.Array(item), nextCursor: Type.Union([Type.String(), Type.Null()]) });
const ListQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
    cursor: Type.Optional(Type.String({ maxLength: 2100 })),
  },
  { additionalProperties: false },
);

const StartBody = Type.Object(
  {
    participantId: Uuid,
    roomId: Type.Optional(Nullable(Uuid)),
    bookingId: Type.Optional(Nullable(Uuid)),
  },
  { additionalProperties: false },
);
const SendBody = Type.Object(
  {
    body: Type.String({
      minLength: 1,
      maxLength: 4000,
      pattern: '\\S',
      description: 'the text, 1 to 4,000 characters (trimmed, NFC)',
    }),
    photoIds: Type.Optional(Type.Array(Uuid, { maxItems: 10, uniqueItems: true })),
  },
  { additionalProperties: false },
);
const ReadBody = Type.Object({ upToMessageId: Uuid }, { additionalProperties: false });

/** A blob streamed from the file store as it is (OpenAPI: binary). */
const StoredBytes = Type.Unsafe<Readable>({ type: 'string', format: 'binary' });

export const messagePhotoPath = (photoId: string) => `/api/messages/photos/${photoId}`;
const linksOf = (photoId: string) => ({
  id: photoId,
  url: messagePhotoPath(photoId),
  thumbnailUrl: `${messagePhotoPath(photoId)}/thumbnail`,
});

/** A message as `viewerId` sees it: the recipient sees contact details masked until the pair's booking is confirmed. */
function messageOut(message: MessageRow, viewerId: string, contactUnlocked: boolean): Static<typeof Message> {
  const shown =
    message.body === null || contactUnlocked || message.senderId === viewerId
      ? message.body
      : maskContactDetails(message.body);
  return {
    id: message.id,
    conversationId: message.conversationId,
    senderId: message.senderId,
    recipientId: message.recipientId,
    body: shown,
    masked: shown !== message.body,
    erased: message.erased,
    photos: message.photoIds.map(linksOf),
    sentAt: message.sentAt,
    ...(message.deliveredAt ? { deliveredAt: message.deliveredAt } : {}),
    ...(message.readAt ? { readAt: message.readAt } : {}),
    position: message.position,
  };
}

function conversationOut(row: ConversationRow, viewerId: string): Static<typeof Conversation> {
  return {
    id: row.id,
    participantIds: row.participantIds,
    participantId: row.participantIds[0] === viewerId ? row.participantIds[1] : row.participantIds[0],
    roomId: row.roomId,
    bookingId: row.bookingId,
    contactUnlocked: row.contactUnlocked,
    unreadCount: row.unreadCount,
    lastMessage: row.lastMessage && messageOut(row.lastMessage, viewerId, row.contactUnlocked),
    startedAt: row.startedAt,
    updatedAt: row.activityAt,
  };
}

const conversationNotFound = () => new ApiError(404, 'CONVERSATION_NOT_FOUND', 'conversation not found');

/** The conversation as the caller sees it; 404 for one that does not exist or is not theirs (existence does not leak). */
async function ownConversation(queries: MessagingQueries, id: string, userId: string): Promise<ConversationRow> {
  const row = await queries.conversation(id, userId);
  if (!row?.participantIds.includes(userId)) throw conversationNotFound();
  return row;
}

/**
 * A fixed window per person and minute of the app's clock, counted in Redis: the MESSAGE_RATE_LIMIT_PER_MINUTE-th
 * message passes, the next is 429 until the minute ends. With Redis down, messages are not limited (as the global
 * limit, which skips on error) rather than refused.
 */
async function takeMessageSlot(deps: AppDeps, request: FastifyRequest, userId: string): Promise<void> {
  const limit = deps.config.MESSAGE_RATE_LIMIT_PER_MINUTE;
  const nowMs = deps.clock.now().getTime();
  const window = Math.floor(nowMs / MINUTE_MS);
  const key = `roomline:message-rate:${userId}:${window}`;
  let count: number;
  try {
    const replies = await deps.redis.multi().incr(key).expire(key, 120).exec();
    count = Number(replies?.[0]?.[1] ?? 0);
  } catch (error) {
    request.log.warn({ err: (error as Error).message }, 'message rate limit not counted: Redis unavailable');
    return;
  }
  if (count <= limit) return;
  const retryAfterSeconds = Math.max(1, Math.ceil(((window + 1) * MINUTE_MS - nowMs) / 1000));
  throw new ApiError(
    429,
    'RATE_LIMITED',
    `at most ${limit} messages per minute; try again in ${retryAfterSeconds} s`,
    { limit, retryAfterSeconds },
    { 'retry-after': String(retryAfterSeconds) },
  );
}

/** Multipart is parsed only for the upload: every other route keeps answering 415 to anything but JSON. */
const messagePhotoUploadRoutes: FastifyPluginAsyncTypebox<AppDeps> = async (app, deps) => {
  await app.register(multipart, { limits: imageMultipartLimits(1) });

  app.post(
    '/api/messages/upload-photo',
    {
      config: { access: 'authenticated' },
      schema: {
        tags,
        summary:
          'Upload a photo to attach to a message (multipart, one JPEG or PNG by content, 5 MB; EXIF removed); ' +
          'seen by you, and by the participants of a conversation once a message of yours attaches it',
        consumes: ['multipart/form-data'],
        headers: IdempotencyHeaders,
        response: {
          201: Type.Object({
            photoId: Uuid,
            url: Type.String(),
            thumbnailUrl: Type.String(),
            position: Type.Union([Position, Type.Null()]),
          }),
          ...errors(400, 401, 409, 413, 415, 422, 429, 503, 507),
        },
      },
    },
    async (request, reply) => {
      if (!request.isMultipart()) {
        throw new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', 'send the photo as multipart/form-data');
      }
      const { context, envelope } = commandFrom(request, deps.clock);
      refuseWhenImageQueueFull(deps.imageLimiter);
      const [upload] = await readUploads(request, deps.imageLimiter, 1);
      const key = fileKeyOf(upload!.bytes);
      const thumbnailKey = fileKeyOf(upload!.thumbnail);
      await deps.fileStore.put(upload!.bytes, upload!.contentType);
      await deps.fileStore.put(upload!.thumbnail, 'image/webp');
      const photoId = newAggregateId(request, `message-photo:${key}`);
      const result = await uploadMessagePhoto(
        { store: deps.eventStore, maxRetries: deps.config.COMMAND_MAX_RETRIES },
        {
          photoId,
          key,
          thumbnailKey,
          contentType: upload!.contentType,
          width: upload!.width,
          height: upload!.height,
          bytes: upload!.bytes.length,
        },
        context,
        envelope,
      );
      const links = linksOf(photoId);
      return reply
        .code(201)
        .send({ photoId, url: links.url, thumbnailUrl: links.thumbnailUrl, position: positionOf(result) });
    },
  );
};

export const messagingRoutes: FastifyPluginAsyncTypebox<AppDeps> = async (app, deps) => {
  const queries = createMessagingQueries(deps.pool);
  const commandDeps = { store: deps.eventStore, maxRetries: deps.config.COMMAND_MAX_RETRIES };
  const codec = cursorCodec(deps.config);
  await app.register(messagePhotoUploadRoutes, deps);

  app.post(
    '/api/conversations',
    {
      config: { access: ['tenant', 'landlord'] },
      schema: {
        tags,
        summary:
          'Start a conversation with a landlord (as a tenant) or a tenant (as a landlord), optionally about a room ' +
          'of the landlord or a booking of the pair; the same pair and room give the same conversation',
        headers: IdempotencyHeaders,
        body: StartBody,
        response: {
          201: Type.Object({ id: Uuid, position: Type.Union([Position, Type.Null()]) }),
          ...errors(400, 401, 403, 404, 409, 422, 429),
        },
      },
    },
    async (request, reply) => {
      const { context, envelope } = commandFrom(request, deps.clock);
      const result = await startConversation(commandDeps, request.body, context, envelope);
      return reply.code(201).send({ id: result.conversationId, position: positionOf(result) });
    },
  );

  app.get(
    '/api/conversations',
    {
      config: { access: 'authenticated' },
      schema: {
        tags,
        summary: 'Your conversations, latest activity first, each with your unread count and its last message',
        headers: MinPositionHeaders,
        querystring: ListQuery,
        response: { 200: List(Conversation), ...errors(400, 401, 503) },
      },
    },
    async (request) => {
      await honourMinPosition(deps, request, messagingProjectionName);
      const userId = request.user!.sub;
      const { limit, cursor } = request.query;
      const after = decodeKeyset(codec, 'conversations', cursor);
      if (after && Number.isNaN(Date.parse(after[0]))) throw invalidCursor();
      const rows = await queries.conversationsOf(userId, {
        limit: limit + 1,
        after: after && { activityAt: after[0], id: after[1] },
      });
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return {
        items: page.map((row) => conversationOut(row, userId)),
        nextCursor: rows.length > limit && last ? encodeKeyset(codec, 'conversations', last.activityAt, last.id) : null,
      };
    },
  );

  app.post(
    '/api/conversations/:id/messages',
    {
      config: { access: 'authenticated' },
      schema: {
        tags,
        summary:
          'Send a message (participants; at most MESSAGE_RATE_LIMIT_PER_MINUTE a minute, then 429 with Retry-After)',
        params: IdParams,
        headers: IdempotencyHeaders,
        body: SendBody,
        response: {
          201: Type.Object({ id: Uuid, sentAt: IsoInstant, position: Position }),
          ...errors(400, 401, 404, 409, 422, 429),
        },
      },
    },
    async (request, reply) => {
      const { context, envelope } = commandFrom(request, deps.clock);
      await takeMessageSlot(deps, request, context.actorId);
      const result = await sendMessage(
        commandDeps,
        {
          conversationId: request.params.id,
          messageId: newAggregateId(request, 'message'),
          body: request.body.body,
          photoIds: request.body.photoIds,
        },
        context,
        envelope,
      );
      return reply.code(201).send({
        id: result.message.messageId,
        sentAt: result.message.sentAt,
        position: positionOf(result) ?? '0',
      });
    },
  );

  app.get(
    '/api/conversations/:id/messages',
    {
      config: { access: 'authenticated' },
      schema: {
        tags,
        summary:
          'The messages of a conversation, newest first, with delivery and read receipts (participants only); ' +
          'contact details in the other person’s messages are masked until the pair has a confirmed booking',
        params: IdParams,
        headers: MinPositionHeaders,
        querystring: ListQuery,
        response: { 200: List(Message), ...errors(400, 401, 404, 503) },
      },
    },
    async (request) => {
      await honourMinPosition(deps, request, messagingProjectionName);
      const userId = request.user!.sub;
      const conversation = await ownConversation(queries, request.params.id, userId);
      const { limit, cursor } = request.query;
      const scope = `messages:${conversation.id}`;
      const before = decodeKeyset(codec, scope, cursor);
      const beforeSeq = before ? Number(before[0]) : null;
      if (beforeSeq !== null && !(Number.isInteger(beforeSeq) && beforeSeq >= 0)) throw invalidCursor();
      const rows = await queries.messagesOf(conversation.id, { limit: limit + 1, beforeSeq });
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return {
        items: page.map((message) => messageOut(message, userId, conversation.contactUnlocked)),
        nextCursor: rows.length > limit && last ? encodeKeyset(codec, scope, String(last.seq), last.id) : null,
      };
    },
  );

  app.post(
    '/api/conversations/:id/read',
    {
      config: { access: 'authenticated' },
      schema: {
        tags,
        summary:
          'You have read every message to you up to and including this one (participants); receipts only move ' +
          'forward: an older message changes nothing',
        params: IdParams,
        headers: IdempotencyHeaders,
        body: ReadBody,
        response: { 204: Type.Null(), ...errors(400, 401, 404, 409, 422, 429) },
      },
    },
    async (request, reply) => {
      const { context, envelope } = commandFrom(request, deps.clock);
      const result = await markRead(
        commandDeps,
        { conversationId: request.params.id, upToMessageId: request.body.upToMessageId },
        context,
        envelope,
      );
      // No body (API.md): the position for X-Min-Position comes as a header.
      const position = positionOf(result);
      if (position) void reply.header('x-position', position);
      return reply.code(204).send(null);
    },
  );

  const servePhoto =
    (variant: 'original' | 'thumbnail') =>
    async (request: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply) => {
      await honourMinPosition(deps, request, messagingProjectionName);
      const notFound = () =>
        new ApiError(404, 'PHOTO_NOT_FOUND', 'no photo with this id', undefined, { 'cache-control': 'no-store' });
      const photo = await queries.messagePhoto(request.params.id);
      if (!photo || !(await queries.photoVisibleTo(photo, request.user!.sub))) throw notFound();
      const content = await deps.fileStore.get(variant === 'original' ? photo.key : photo.thumbnailKey);
      if (!content) throw notFound();
      return reply
        .header('cache-control', 'private, max-age=31536000, immutable')
        .header('vary', 'Authorization')
        .header('content-type', content.contentType)
        .header('content-length', String(content.size))
        .send(content.body);
    };
  const photoSchema = (summary: string) => ({
    tags,
    summary,
    params: IdParams,
    headers: MinPositionHeaders,
    response: {
      200: {
        description: 'the image, byte for byte as stored',
        content: {
          'image/jpeg': { schema: StoredBytes },
          'image/png': { schema: StoredBytes },
          'image/webp': { schema: StoredBytes },
        },
      },
      ...errors(400, 401, 404, 503),
    },
  });
  app.get(
    '/api/messages/photos/:id',
    {
      config: { access: 'authenticated' },
      schema: photoSchema(
        'A message photo: for its uploader, and for the participants of a conversation a message attaches it in; ' +
          '404 to everyone else',
      ),
    },
    servePhoto('original'),
  );
  app.get(
    '/api/messages/photos/:id/thumbnail',
    { config: { access: 'authenticated' }, schema: photoSchema('A message photo’s thumbnail (WebP, 400 px wide)') },
    servePhoto('thumbnail'),
  );
};
