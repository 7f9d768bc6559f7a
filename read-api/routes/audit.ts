import { Readable } from 'node:stream';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { auditReadsBetween, bookingStateAt, recordAuditRead } from '../../commands/audit.js';
import type { AuditRead, AuditReadKind } from '../../domain/audit/events.js';
import { bookingStreamId } from '../../domain/bookings/events.js';
import { paymentStreamId } from '../../domain/payments/events.js';
import { REVIEW_STREAM_PREFIX } from '../../domain/reviews/events.js';
import { toArray } from '../../infra/eventStore/eventStore.js';
import { verifyChain } from '../../infra/eventStore/hashChain.js';
import { ledgerExport, toExported, verifyLedger } from '../../projections/audit/ledger.js';
import { commandFrom } from '../commandContext.js';
import type { AppDeps } from '../deps.js';
import { ApiError } from '../errors.js';
import { errors, IdParams, IsoDate, IsoInstant, Position, StreamIdParams } from '../schemas.js';

const tags = ['audit'];
const AUDITORS = ['auditor', 'admin'] as const;

const StoredEvent = Type.Object({
  revision: Position,
  position: Position,
  streamId: Type.String(),
  eventId: Type.String(),
  type: Type.String(),
  schemaVersion: Type.Integer(),
  data: Type.Unknown({ description: 'as stored: personal data stays sealed' }),
  metadata: Type.Unknown(),
  recordedAt: IsoInstant,
  hash: Type.String(),
  previousHash: Type.String(),
});

const StreamQuery = Type.Object(
  {
    fromRevision: Type.Optional(Type.String({ pattern: '^\\d{1,18}$', description: 'first revision to return' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 200 })),
  },
  { additionalProperties: false },
);

const TimelineEntry = Type.Object({
  at: IsoInstant,
  streamId: Type.String(),
  revision: Position,
  position: Position,
  type: Type.String(),
  actorId: Type.Union([Type.String(), Type.Null()]),
  actorRole: Type.Union([Type.String(), Type.Null()]),
  reason: Type.Union([Type.String(), Type.Null()], { description: 'the reason the event gives, if any' }),
  correlationId: Type.String(),
  causationId: Type.Union([Type.String(), Type.Null()]),
  requestId: Type.Union([Type.String(), Type.Null()]),
});

const ReadsQuery = Type.Object(
  { from: Type.Optional(IsoDate), to: Type.Optional(IsoDate) },
  { additionalProperties: false },
);

/** A digest as handed out and taken back: version, position, digest, signing time (ms), signature. */
const DIGEST_TOKEN = /^v1\.(\d{1,20})\.([0-9a-f]{64})\.(\d{1,15})\.([A-Za-z0-9_-]{86})$/;
/** What is signed: every field of the digest, one a line, under a fixed heading (no other text can collide). */
const signedText = (position: string, digest: string, signedAt: string) =>
  `roomline ledger digest v1\n${position}\n${digest}\n${signedAt}`;

const DAY_MS = 86_400_000;
const MAX_READ_DAYS = 31;

const notFound = (what: string) => new ApiError(404, 'STREAM_NOT_FOUND', `${what} has no events`);

/**
 * The audit API (auditors and admins, read-only): streams as stored with their hashes, a stream's hash chain
 * checked, a booking's timeline and its state at an instant. Every read is recorded first (AuditRead, in the day's
 * AuditTrail stream) and admins list them at /api/audit/reads; a read that cannot be recorded is not served.
 */
export const auditRoutes: FastifyPluginAsyncTypebox<AppDeps> = async (app, deps) => {
  const record = async (request: FastifyRequest, kind: AuditReadKind, subject: string) => {
    const { context, envelope } = commandFrom(request, deps.clock);
    const read: AuditRead['data'] = {
      readerId: context.actorId,
      readerRole: context.actorRole,
      kind,
      subject,
      readAt: context.now,
    };
    await recordAuditRead(deps.eventStore, read, envelope);
  };

  app.get(
    '/api/audit/streams/:streamId',
    {
      config: { access: AUDITORS },
      schema: {
        tags,
        summary: 'A stream’s events as stored, with metadata, hash and previous hash, by revision (recorded as read)',
        params: StreamIdParams,
        querystring: StreamQuery,
        response: {
          200: Type.Object({
            streamId: Type.String(),
            events: Type.Array(StoredEvent),
            nextRevision: Type.Union([Position, Type.Null()], { description: 'where the next page starts' }),
          }),
          ...errors(400, 401, 403, 404),
        },
      },
    },
    async (request) => {
      const { streamId } = request.params;
      const limit = request.query.limit ?? 200;
      const from = BigInt(request.query.fromRevision ?? '0');
      await record(request, 'stream', streamId);
      const events = await toArray(deps.rawEventStore.readStream(streamId, { from, maxCount: limit + 1 }));
      if (events.length === 0 && from === 0n) throw notFound(streamId);
      const page = events.slice(0, limit);
      return {
        streamId,
        events: page.map(toExported),
        nextRevision: events.length > limit ? events[limit]!.revision.toString() : null,
      };
    },
  );

  app.get(
    '/api/audit/streams/:streamId/verify',
    {
      config: { access: AUDITORS },
      schema: {
        tags,
        summary: 'Checks the stream’s hash chain as stored: the first revision whose content or link does not match',
        params: StreamIdParams,
        response: {
          200: Type.Object({
            valid: Type.Boolean(),
            events: Type.Integer({ description: 'events checked' }),
            brokenAt: Type.Optional(Position),
            reason: Type.Optional(Type.String()),
          }),
          ...errors(400, 401, 403, 404),
        },
      },
    },
    async (request) => {
      const { streamId } = request.params;
      await record(request, 'stream_verification', streamId);
      const events = await toArray(deps.rawEventStore.readStream(streamId));
      if (events.length === 0) throw notFound(streamId);
      const result = verifyChain(events);
      return {
        valid: result.valid,
        events: result.events,
        ...(result.brokenAt !== undefined ? { brokenAt: result.brokenAt.toString() } : {}),
        ...(result.reason !== undefined ? { reason: result.reason } : {}),
      };
    },
  );

  app.get(
    '/api/audit/bookings/:id/history',
    {
      config: { access: AUDITORS },
      schema: {
        tags,
        summary:
          'The booking’s timeline: its events, its payments’ and its reviews’, in order, with who, why and the ' +
          'correlation and causation ids that link them',
        params: IdParams,
        response: {
          200: Type.Object({ bookingId: Type.String(), events: Type.Array(TimelineEntry) }),
          ...errors(400, 401, 403, 404),
        },
      },
    },
    async (request) => {
      const bookingId = request.params.id;
      await record(request, 'booking_history', bookingId);
      const streams = [bookingStreamId(bookingId), paymentStreamId(bookingId), `${REVIEW_STREAM_PREFIX}${bookingId}`];
      const events = (
        await Promise.all(streams.map((streamId) => toArray(deps.eventStore.readStream(streamId))))
      ).flat();
      if (!events.some((event) => event.streamId === streams[0])) {
        throw new ApiError(404, 'BOOKING_NOT_FOUND', 'booking not found');
      }
      events.sort((a, b) => (a.position < b.position ? -1 : a.position > b.position ? 1 : 0));
      return {
        bookingId,
        events: events.map((event) => {
          const reason = (event.data as { reason?: unknown } | null)?.reason;
          return {
            at: event.recordedAt,
            streamId: event.streamId,
            revision: event.revision.toString(),
            position: event.position.toString(),
            type: event.type,
            actorId: event.metadata.actorId,
            actorRole: event.metadata.actorRole,
            reason: typeof reason === 'string' ? reason : null,
            correlationId: event.metadata.correlationId,
            causationId: event.metadata.causationId,
            requestId: event.metadata.requestId,
          };
        }),
      };
    },
  );

  app.get(
    '/api/audit/bookings/:id/state',
    {
      config: { access: AUDITORS },
      schema: {
        tags,
        summary: 'The booking as it stood at an instant (default now): the fold of the events recorded up to then',
        params: IdParams,
        querystring: Type.Object({ at: Type.Optional(IsoInstant) }, { additionalProperties: false }),
        response: {
          200: Type.Object({
            state: Type.Record(Type.String(), Type.Unknown()),
            asOfRevision: Position,
            at: IsoInstant,
          }),
          ...errors(400, 401, 403, 404),
        },
      },
    },
    async (request) => {
      const at = request.query.at === undefined ? deps.clock.now() : new Date(request.query.at);
      if (Number.isNaN(at.getTime())) throw new ApiError(400, 'INVALID_AT', 'at must be an ISO instant');
      await record(request, 'booking_state', request.params.id);
      const found = await bookingStateAt(deps.eventStore, request.params.id, at);
      if (!found) throw new ApiError(404, 'BOOKING_NOT_FOUND', 'the booking had no event by then');
      return { state: { ...found.state }, asOfRevision: found.asOfRevision.toString(), at: at.toISOString() };
    },
  );

  app.get(
    '/api/audit/reads',
    {
      config: { access: ['admin'] },
      schema: {
        tags,
        summary: `Who read what through the audit API, oldest first, over at most ${MAX_READ_DAYS} UTC days (default today)`,
        querystring: ReadsQuery,
        response: {
          200: Type.Object({
            items: Type.Array(
              Type.Object({
                readerId: Type.String(),
                readerRole: Type.String(),
                kind: Type.String(),
                subject: Type.String(),
                readAt: IsoInstant,
              }),
            ),
          }),
          ...errors(400, 401, 403),
        },
      },
    },
    async (request) => {
      const today = deps.clock.now().toISOString().slice(0, 10);
      const from = request.query.from ?? request.query.to ?? today;
      const to = request.query.to ?? (request.query.from ? from : today);
      const [fromMs, toMs] = [Date.parse(`${from}T00:00:00Z`), Date.parse(`${to}T00:00:00Z`)];
      if (
        Number.isNaN(fromMs) ||
        Number.isNaN(toMs) ||
        new Date(fromMs).toISOString().slice(0, 10) !== from ||
        new Date(toMs).toISOString().slice(0, 10) !== to
      ) {
        throw new ApiError(400, 'INVALID_DATE', 'from and to must be calendar dates');
      }
      if (toMs < fromMs) throw new ApiError(400, 'INVALID_RANGE', 'to is before from');
      if ((toMs - fromMs) / DAY_MS + 1 > MAX_READ_DAYS) {
        throw new ApiError(400, 'RANGE_TOO_LONG', `at most ${MAX_READ_DAYS} days at a time`);
      }
      const reads = await auditReadsBetween(deps.eventStore, from, to);
      return {
        items: reads.filter((event) => event.type === 'AuditRead').map((event) => event.data as AuditRead['data']),
      };
    },
  );

  app.get(
    '/api/audit/digest',
    {
      config: { access: AUDITORS },
      schema: {
        tags,
        summary:
          'A digest of the whole log up to a position, signed (Ed25519): keep it, and /api/audit/verify proves later ' +
          'that nothing up to it changed. `token` is the form verify takes.',
        response: {
          200: Type.Object({
            position: Position,
            digest: Type.String({ description: 'sha-256 hex: the ledger chain at position' }),
            events: Type.Integer(),
            signedAt: IsoInstant,
            signature: Type.String({ description: 'Ed25519 over the digest’s fields, base64url' }),
            publicKey: Type.String({ description: 'Ed25519 public key, raw 32 bytes, base64url' }),
            token: Type.String(),
          }),
          ...errors(401, 403, 503),
        },
      },
    },
    async (request) => {
      await record(request, 'ledger_digest', 'log');
      const { rows } = await deps.pool.query<{ position: string; digest: string; events: string }>(
        'SELECT position, digest, events FROM audit_ledger ORDER BY position DESC LIMIT 1',
      );
      const last = rows[0];
      if (!last) throw new ApiError(503, 'DIGEST_NOT_READY', 'the ledger has not been computed yet: try again');
      const signedAt = deps.clock.now().toISOString();
      const signature = deps.ledgerSigner.sign(signedText(last.position, last.digest, signedAt));
      return {
        position: last.position,
        digest: last.digest,
        events: Number(last.events),
        signedAt,
        signature,
        publicKey: deps.ledgerSigner.publicKey,
        token: `v1.${last.position}.${last.digest}.${Date.parse(signedAt)}.${signature}`,
      };
    },
  );

  app.get(
    '/api/audit/verify',
    {
      config: { access: AUDITORS },
      schema: {
        tags,
        summary:
          'Given a digest token kept from /api/audit/digest, recomputes the log up to its position from the events ' +
          'as stored: valid when nothing changed, else the first position that differs',
        querystring: Type.Object(
          { digest: Type.String({ maxLength: 200, description: 'the `token` of a digest' }) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            valid: Type.Boolean(),
            position: Position,
            events: Type.Integer({ description: 'events recomputed' }),
            firstDifference: Type.Optional(Position),
          }),
          ...errors(400, 401, 403),
        },
      },
    },
    async (request) => {
      const match = DIGEST_TOKEN.exec(request.query.digest);
      if (!match) throw new ApiError(400, 'INVALID_DIGEST', 'digest must be the token /api/audit/digest gave');
      const [, position, digest, signedMs, signature] = match as unknown as [string, string, string, string, string];
      const signedAt = new Date(Number(signedMs));
      if (
        Number.isNaN(signedAt.getTime()) ||
        !deps.ledgerSigner.verify(signedText(position, digest, signedAt.toISOString()), signature)
      ) {
        throw new ApiError(400, 'DIGEST_NOT_SIGNED', 'this digest was not signed by this deployment');
      }
      await record(request, 'ledger_verification', position);
      const result = await verifyLedger({ store: deps.rawEventStore, pool: deps.pool }, BigInt(position), digest);
      return { ...result, position };
    },
  );

  app.get(
    '/api/audit/export',
    {
      config: { access: AUDITORS },
      schema: {
        tags,
        summary:
          'The events from position `from` to `to` (both included; default the whole log) as NDJSON: a header with ' +
          'the ledger link before them, the events as stored, and a manifest line { count, sha256, digest } to ' +
          'check a copy offline (npm run cli -- audit verify-export FILE)',
        querystring: Type.Object(
          { from: Type.Optional(Position), to: Type.Optional(Position) },
          { additionalProperties: false },
        ),
        response: {
          200: { description: 'NDJSON', content: { 'application/x-ndjson': { schema: Type.String() } } },
          ...errors(400, 401, 403),
        },
      },
    },
    async (request, reply) => {
      const from = BigInt(request.query.from ?? '0');
      const to = request.query.to === undefined ? await deps.rawEventStore.headPosition() : BigInt(request.query.to);
      if (from > 0xffff_ffff_ffff_ffffn || to > 0xffff_ffff_ffff_ffffn) {
        throw new ApiError(400, 'INVALID_POSITION', 'a position is a 64-bit number');
      }
      if (to < from) throw new ApiError(400, 'INVALID_RANGE', 'to is before from');
      await record(request, 'ledger_export', `${from}-${to}`);
      // The schema documents the body as text; the reply streams it (as the CSV export does).
      return (reply as FastifyReply)
        .type('application/x-ndjson; charset=utf-8')
        .header('content-disposition', `attachment; filename="roomline-events-${from}-${to}.ndjson"`)
        .header('cache-control', 'no-store')
        .send(
          Readable.from(ledgerExport({ store: deps.rawEventStore, pool: deps.pool }, from, to), { objectMode: false }),
        );
    },
  );
};
